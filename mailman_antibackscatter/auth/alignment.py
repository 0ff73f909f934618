# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Identifier alignment (RFC 7489 3.1): does a domain that passed SPF or
DKIM stand for the author's domain?"""

from .psl import PublicSuffixList, normalize_domain

__all__ = ['Alignment']


class Alignment:
    """Relaxed alignment (same organizational domain by the Public Suffix
    List at *public_suffix_list*, or the default one) or strict (the same
    domain)."""

    def __init__(self, mode='relaxed', public_suffix_list=None):
        self.psl = PublicSuffixList.default(public_suffix_list)
        if mode not in ('relaxed', 'strict'):
            raise ValueError('alignment must be relaxed or strict')
        self.strict = mode == 'strict'

    def org_domain(self, domain):
        """The organizational domain of *domain*."""
        return self.psl.org_domain(domain)

    def aligned(self, domain_a, domain_b, strict=False):
        """Do the two domains align?  *strict* (the From domain's adkim=s
        or aspf=s) asks for the same domain even when the site's mode is
        relaxed."""
        a, b = normalize_domain(domain_a), normalize_domain(domain_b)
        if not a or not b:
            return False
        if a == b:
            return True
        if self.strict or strict:
            return False
        return self.psl.org_domain(a) == self.psl.org_domain(b)
