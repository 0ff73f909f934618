# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mailman-free sender authentication core: SPF, DKIM, ARC and alignment.

Nothing in this package imports mailman.

    auth = Authenticator(EngineSettings(authserv_id='lists.example.org'))
    verdict = auth.authenticate(raw_bytes, envelope_sender, client=None)
    verdict.status_for('someone@example.com')  # PASS/FAIL/NONE/TEMPERROR
    raw_bytes = auth.stamp(raw_bytes, verdict)  # adds our A-R header

Notes on behaviour not spelled out by the names:

* Trust zone.  Headers above (and including) the first Received header whose
  client IP is outside ``internal_networks`` were added by our own hosts.
  If every Received header is internal the whole header is local; a message
  without any Received header has no local headers.  Only Authentication-
  Results / Received-SPF headers inside that zone, whose authserv-id (for
  Received-SPF: ``receiver=``) is in ``trusted_authserv_ids``, are believed;
  our own ``authserv_id`` is never believed (stamp() removes it everywhere).
* Our Authentication-Results value holds the readable spf/dkim/arc/dmarc
  clauses plus an ``x-antibackscatter=<status>`` clause whose
  ``policy.state`` property is the whole verdict (zlib-compressed JSON,
  base64url); parse_verdict() decodes that, render_verdict() writes it.
* Bounded work per message: at most MAX_SIGNATURES (20) DKIM signatures
  are verified (one result 'policy' stands for the rest), an ARC chain of
  more than 50 sets fails, DKIM and ARC skip a header block over 256 KB, a
  From field over 4096 bytes is not parsed, and every attacker-controlled
  value is validated in linear time.
* DNS names that cannot exist (over-long labels etc.) count as NXDOMAIN.
"""

from .authresults import parse_verdict, render_verdict
from .engine import Authenticator, EngineSettings
from .resolver import CachingResolver, DNSTempError
from .verdict import (ARCResult, ClientInfo, DKIMResult, SPFResult, Status,
                      Verdict)

__all__ = [
    'ARCResult', 'Authenticator', 'CachingResolver', 'ClientInfo',
    'DKIMResult', 'DNSTempError', 'EngineSettings', 'SPFResult', 'Status',
    'Verdict', 'parse_verdict', 'render_verdict',
]
