# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Public Suffix List parsing and organizational-domain lookup (RFC 7489 3.2).

Mailman's shipped copy of the list is located WITHOUT importing mailman
(``importlib.util.find_spec`` does not execute a top-level package).
"""

import functools
import importlib.util
import os
import threading

__all__ = ['PublicSuffixList', 'default_psl_path', 'normalize_domain']

# Used only when neither Mailman's nor publicsuffix2's copy can be found.
_BUILTIN_RULES = """
com
net
org
edu
gov
mil
int
info
biz
io
de
fr
nl
eu
us
ca
au
com.au
net.au
org.au
uk
co.uk
org.uk
ac.uk
gov.uk
me.uk
ltd.uk
plc.uk
jp
co.jp
ne.jp
or.jp
ck
*.ck
!www.ck
nz
co.nz
br
com.br
cn
com.cn
ru
example
test
invalid
localhost
"""


def normalize_domain(domain):
    """Lowercase, strip dots and convert IDN labels to punycode (A-labels).
    Returns '' for something that is not a usable domain."""
    if not domain:
        return ''
    if isinstance(domain, bytes):
        domain = domain.decode('utf-8', 'replace')
    domain = domain.strip().strip('.').lower()
    if not domain:
        return ''
    try:
        domain.encode('ascii')
        return domain
    except UnicodeEncodeError:
        pass
    labels = []
    for label in domain.split('.'):
        try:
            label.encode('ascii')
            labels.append(label)
        except UnicodeEncodeError:
            try:
                labels.append(label.encode('idna').decode('ascii'))
            except UnicodeError:
                labels.append(
                    'xn--' + label.encode('punycode').decode('ascii'))
    return '.'.join(labels)


def default_psl_path():
    """Mailman's copy, else publicsuffix2's, else None (built-in list)."""
    for package, relpath in (
            ('mailman', ('rules', 'data', 'public_suffix_list.dat')),
            ('publicsuffix2', ('public_suffix_list.dat',))):
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            path = os.path.join(location, *relpath)
            if os.path.isfile(path):
                return path
    return None


class PublicSuffixList:
    """Parsed PSL: normal, wildcard and exception rules (punycode keys)."""

    def __init__(self, text):
        self.rules = set()
        self.exceptions = set()
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith('//'):
                continue
            rule = line.split()[0]
            exception = rule.startswith('!')
            if exception:
                rule = rule[1:]
            star = rule.startswith('*.')
            if star:
                rule = rule[2:]
            rule = normalize_domain(rule)
            if not rule:
                continue
            if star:
                rule = '*.' + rule
            (self.exceptions if exception else self.rules).add(rule)
        self._cache = {}
        self._lock = threading.Lock()

    @classmethod
    def default(cls, path=None):
        """The list in the file at *path*, else the default one (each
        parsed once per process)."""
        if path is None:
            path = default_psl_path()
        if path is None:
            return _builtin()
        return _load(path)

    def public_suffix(self, domain):
        domain = normalize_domain(domain)
        if not domain:
            return ''
        labels = domain.split('.')
        n = len(labels)
        # Exception rules win: the suffix is the rule minus its first label.
        for i in range(n):
            cand = '.'.join(labels[i:])
            if cand in self.exceptions:
                return '.'.join(labels[i + 1:])
        # Otherwise the longest matching normal or wildcard rule.
        for i in range(n):
            cand = '.'.join(labels[i:])
            if cand in self.rules:
                return cand
            if i + 1 < n and '*.' + '.'.join(labels[i + 1:]) in self.rules:
                return cand
        # Default rule "*": the TLD.
        return labels[-1]

    def org_domain(self, domain):
        """Organizational domain: public suffix plus one label.  A domain that
        is itself a public suffix is its own organizational domain."""
        domain = normalize_domain(domain)
        if not domain:
            return ''
        cached = self._cache.get(domain)
        if cached is not None:
            return cached
        suffix = self.public_suffix(domain)
        if domain == suffix:
            org = domain
        else:
            labels = domain.split('.')
            org = '.'.join(labels[-(len(suffix.split('.')) + 1):])
        with self._lock:
            if len(self._cache) > 50000:
                self._cache.clear()
            self._cache[domain] = org
        return org


@functools.lru_cache(maxsize=8)
def _load(path):
    with open(path, encoding='utf-8') as fp:
        return PublicSuffixList(fp.read())


@functools.lru_cache(maxsize=1)
def _builtin():
    return PublicSuffixList(_BUILTIN_RULES)
