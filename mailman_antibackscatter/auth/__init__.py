# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mailman-free sender authentication core: SPF, DKIM, ARC and alignment.

Nothing in this package imports mailman.
"""

from .engine import Authenticator, EngineSettings
from .resolver import CachingResolver, DNSTempError
from .verdict import (ARCResult, ClientInfo, DKIMResult, SPFResult, Status,
                      Verdict)

__all__ = [
    'ARCResult', 'Authenticator', 'CachingResolver', 'ClientInfo',
    'DKIMResult', 'DNSTempError', 'EngineSettings', 'SPFResult', 'Status',
    'Verdict',
]
