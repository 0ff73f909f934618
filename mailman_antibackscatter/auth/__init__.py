# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mailman-free sender authentication core: SPF, DKIM, ARC and alignment.

Nothing in this package imports mailman.

    auth = Authenticator(EngineSettings(authserv_id='lists.example.org'))
    verdict = auth.authenticate(raw_bytes, envelope_sender, client=None)
    verdict.status_for('someone@example.com')  # PASS/FAIL/NONE/TEMPERROR
    raw_bytes = auth.stamp(raw_bytes, verdict)  # adds our A-R header

Notes on behaviour not spelled out by the names:

* Trust zone.  The walk reads the topmost Received header (written by the
  site's MTA) from its TCP info, never the HELO, goes down past at most
  ``local_hops`` Received headers of ``internal_networks`` hosts, and stops
  at the first external one (the client) or at one it cannot read (no
  client).  Only Authentication-Results / Received-SPF headers above that
  boundary, whose authserv-id (for Received-SPF: ``receiver=``) is in
  ``trusted_authserv_ids``, are believed; our own ``authserv_id`` is never
  believed (stamp() removes it everywhere).
* Our Authentication-Results value holds the readable spf/dkim/arc/dmarc
  clauses plus an ``x-antibackscatter=<status>`` clause with the reason;
  it carries no verdict state and names no client (list copies keep it).
  The Verdict round-trips through to_dict()/from_dict() instead.
* Bounded work per message: at most MAX_SIGNATURES (20) DKIM signatures
  are verified (one result 'policy' stands for the rest), an ARC chain of
  more than 50 sets fails, DKIM and ARC skip a header block over 256 KB, a
  From field over 4096 bytes is not parsed, and every attacker-controlled
  value is validated in linear time.
* DNS names that cannot exist (over-long labels etc.) count as NXDOMAIN.
"""

from .authresults import render_verdict
from .engine import Authenticator, EngineSettings
from .resolver import CachingResolver, DNSTempError
from .verdict import (ARCResult, ClientInfo, DKIMResult, SPFResult, Status,
                      Verdict)

__all__ = [
    'ARCResult', 'Authenticator', 'CachingResolver', 'ClientInfo',
    'DKIMResult', 'DNSTempError', 'EngineSettings', 'SPFResult', 'Status',
    'Verdict', 'render_verdict',
]
