# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""DKIM (RFC 6376): every DKIM-Signature of a message, verified by
:mod:`.dkimverify` with keys fetched by our resolver."""

import time

from . import dkimverify
from .psl import normalize_domain
from .verdict import DKIMResult

__all__ = ['DKIMChecker', 'MAX_SIGNATURES', 'not_verified']

# Signatures beyond this many are not verified (each one costs a DNS lookup
# and a pass over the body); they are reported together, as one result
# 'policy', so that the verdict and our header stay bounded too.
MAX_SIGNATURES = 20


class DKIMChecker:
    """Verifies the signatures of one message at a time; parsed public
    keys are cached across messages."""

    def __init__(self, resolver, min_key_bits):
        self.resolver = resolver
        self.min_key_bits = min_key_bits
        self.keys = dkimverify.KeyCache()

    def check(self, msg, problems, cpu_spent=lambda: False):
        """A DKIMResult per DKIM-Signature of *msg* (a dkimverify.Message);
        one permerror for a message whose header *problems* make it
        unparsable.  Once *cpu_spent()* says the message's CPU budget is
        spent, the remaining signatures are temperror, not verified."""
        if problems:
            # dkimpy refuses such messages as a whole; so do we.
            return [DKIMResult('permerror', '', '',
                               'unparsable message: %s' % problems[0])]
        get_txt = self.resolver.get_txt
        results = []
        now = time.time()
        skipped = 0
        for header in msg.headers:
            if header.lname != 'dkim-signature':
                continue
            if len(results) >= MAX_SIGNATURES:
                skipped += 1
                continue
            if cpu_spent():
                results.append(_unverified(msg, header))
                continue
            try:
                results.append(dkimverify.verify_signature(
                    msg, header, get_txt, self.keys, now,
                    self.min_key_bits))
            except Exception as exc:
                results.append(DKIMResult(
                    'permerror', '', '',
                    'verification error: %s' % type(exc).__name__))
        if skipped:
            results.append(not_verified(skipped))
        return results


def _unverified(msg, header):
    """The temperror of a signature left unverified for lack of CPU."""
    try:
        tags = dkimverify.parse_tags(msg.header_bytes(header).partition(
            b':')[2])
    except dkimverify.TagListError:
        tags = {}
    text = [tags.get(name, b'').decode('ascii', 'replace').strip()[:253]
            for name in (b'd', b's')]
    return DKIMResult('temperror', normalize_domain(text[0]), text[1],
                      'not verified: CPU budget spent')


def not_verified(count):
    """The one result that stands for *count* signatures not verified."""
    return DKIMResult('policy', '', '',
                      'not verified: %d more signatures (at most %d)'
                      % (count, MAX_SIGNATURES))
