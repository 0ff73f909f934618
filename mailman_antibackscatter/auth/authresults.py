# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Authentication-Results headers (RFC 8601): the one parser, and our own.

parse() reads any A-R value: the trusted headers of our own hosts, the
ARC-Authentication-Results of a trusted sealer.  Our own header, written by
render_verdict() and folded by fold(), is for people: it says what the door
found, and list copies may carry it, so it holds no verdict state, no client
address and no HELO.  The verdict itself travels in Mailman's msgdata.
"""

import re

import authres

from .dkimcheck import MAX_SIGNATURES, not_verified
from .headers import domain_of
from .psl import normalize_domain

__all__ = ['VERDICT_METHOD', 'authserv_id_of', 'fold', 'header_field',
           'parse', 'passes', 'render_verdict', 'reported_client']

# Our own result method: the status of the From address.
VERDICT_METHOD = 'x-antibackscatter'


# -- reading any A-R value ---------------------------------------------------

def authserv_id_of(value):
    """The authserv-id of an A-R value, skipping (nested) CFWS comments.

    Unlike parse() it also answers for a value that is otherwise
    unparsable, so that stamping removes every header claiming our id."""
    depth, index, length = 0, 0, len(value)
    while index < length:
        char = value[index]
        if char == '\\' and depth:
            index += 2
            continue
        if char == '(':
            depth += 1
        elif char == ')' and depth:
            depth -= 1
        elif not depth and not char.isspace():
            break
        index += 1
    match = re.match(r'[^\s;()]+', value[index:])
    return match.group(0) if match else None


class _Property:
    __slots__ = ('type', 'name', 'value')

    def __init__(self, ptype, name, value):
        self.type, self.name, self.value = ptype, name, value


class _Result:
    __slots__ = ('method', 'result', 'properties')

    def __init__(self, method, result, properties):
        self.method, self.result, self.properties = method, result, properties


# The plain A-R values that _lean_parse() reads itself: an authserv-id and
# "method=result ptype.property=value ..." clauses, lower case, with no
# comments, quoted strings, versions or reason= (all else goes to authres,
# which is much slower).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_AR_ID = re.compile(r'[ \t]*%s(?:\.%s)*[ \t]*' % (_ATOM, _ATOM))
_AR_CLAUSE = re.compile(
    r"[ \t]*([a-z0-9_-]+(?:\.[a-z0-9_-]+)*)[ \t]*=[ \t]*([a-z0-9_-]+)"
    r"((?:[ \t]+(?:smtp|header|body|policy)\.[a-z0-9_-]+(?:\.[a-z0-9_-]+)*"
    r"=[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@-]+)*)[ \t]*")
_AR_AT_DOMAIN = re.compile(r'@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*')
_AR_PROP = re.compile(r"(smtp|header|body|policy)\.([a-z0-9_.-]+)=([^ \t]+)")


def _lean_parse(value):
    """What authres would give for a plain A-R value, None otherwise."""
    if '(' in value or '"' in value or '\\' in value:
        return None
    parts = value.rstrip('\r\n\t ').split(';')
    if len(parts) < 2 or not _AR_ID.fullmatch(parts[0]):
        return None
    results = []
    for part in parts[1:]:
        m = _AR_CLAUSE.fullmatch(part)
        if m is None or m.group(1) == 'reason' or m.group(1) == 'none':
            return None
        props = []
        for ptype, name, pvalue in _AR_PROP.findall(m.group(3)):
            if pvalue[0] == '@' and not _AR_AT_DOMAIN.fullmatch(pvalue):
                return None
            props.append(_Property(ptype, name, pvalue))
        results.append(_Result(m.group(1), m.group(2), props))
    return parts[0].strip(' \t'), results


def parse(value):
    """Return (authserv_id, results) of an A-R value; raises if unparsable.

    Each result has .method, .result and .properties (each with .type,
    .name and .value), as authres gives them."""
    parsed = _lean_parse(value)
    if parsed is None:
        header = authres.AuthenticationResultsHeader.parse_value(value)
        parsed = header.authserv_id, header.results
    return parsed


def passes(results):
    """(method, domain) pairs for passing dkim/spf/dmarc clauses."""
    out = []
    for res in results:
        method = getattr(res, 'method', None)
        if getattr(res, 'result', None) != 'pass':
            continue
        props = {'%s.%s' % (p.type, p.name): str(p.value or '')
                 for p in getattr(res, 'properties', ())}
        if method == 'dkim':
            domain = (props.get('header.d')
                      or domain_of(props.get('header.i')))
        elif method == 'spf':
            domain = (domain_of(props['smtp.mailfrom'])
                      if props.get('smtp.mailfrom')
                      else normalize_domain(props.get('smtp.helo')))
        elif method == 'dmarc':
            domain = props.get('header.from')
            if domain and '@' in domain:
                domain = domain_of(domain)
        else:
            continue
        domain = normalize_domain(domain)
        if domain:
            out.append((method, domain))
    return out


def reported_client(results):
    """(ip, helo) of the SMTP client as the results record it, or Nones."""
    ip = helo = None
    for res in results:
        for prop in getattr(res, 'properties', ()):
            key = '%s.%s' % (prop.type, prop.name)
            if key in ('policy.iprev', 'smtp.remote-ip',
                       'smtp.client-ip') and not ip:
                ip = str(prop.value)
            elif key == 'smtp.helo' and not helo:
                helo = str(prop.value)
    return ip, helo


# -- our own header ----------------------------------------------------------

def _printable(text):
    return re.sub(r'[^\x20-\x7e]', '?', text or '')


_PVALUE_CHARS = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.@-]")
_ADDR_SPEC = re.compile(r"[^@]+@[^@]+")


def _pvalue(text):
    """A property value authres can always parse back unquoted: a token,
    or local@domain with one '@'."""
    value = _PVALUE_CHARS.sub('?', text or '')
    if '@' in value and not _ADDR_SPEC.fullmatch(value):
        value = value.replace('@', '?')
    return value or 'unknown'


def _comment(text):
    return re.sub(r'[()\\]', '', _printable(text))


class _Quoted(str):
    """A value authres always writes as a quoted-string (it leaves one
    with an '@' unquoted, which it then cannot parse back)."""

    def quote_if_needed(self):
        return '"%s"' % self


def _quoted(text):
    return _Quoted(re.sub(r'["\\]', "'", _printable(text)))


def _property(ptype, name, value):
    return authres.core.AuthenticationResultProperty(ptype, name, value)


def _spf_result(verdict):
    spf = verdict.spf
    if spf is None:
        return authres.result('spf', result='none')
    if spf.identity == 'helo':
        # The HELO names the client: the clause says only what was checked.
        return authres.result('spf', result=_pvalue(spf.result),
                              result_comment='helo')
    prop = _property('smtp', 'mailfrom',
                     _pvalue(verdict.mail_from or spf.domain))
    return authres.result('spf', result=_pvalue(spf.result),
                          properties=[prop])


def _dkim_results(verdict):
    """One dkim clause per signature, at most MAX_SIGNATURES of them and
    one clause that summarizes the rest."""
    if not verdict.dkim:
        return [authres.result('dkim', result='none')]
    results = []
    shown = verdict.dkim
    if len(shown) > MAX_SIGNATURES + 1:
        shown = tuple(shown[:MAX_SIGNATURES]) + (
            not_verified(len(shown) - MAX_SIGNATURES),)
    for sig in shown:
        props = [_property('header', 'd', _pvalue(sig.domain))]
        if sig.selector:
            props.append(_property('header', 's', _pvalue(sig.selector)))
        comment = (_comment(sig.reason)
                   if sig.result != 'pass' and sig.reason else None)
        results.append(authres.result(
            'dkim', result=_pvalue(sig.result), result_comment=comment,
            properties=props))
    return results


def _arc_result(verdict):
    arc = verdict.arc
    if arc is None:
        return authres.result('arc', result='none')
    props = []
    comment = None
    if arc.sealer:
        props.append(_property('header', 'as-d', _pvalue(arc.sealer)))
        comment = 'trusted sealer' if arc.trusted else 'untrusted sealer'
    return authres.result('arc', result=arc.result, result_comment=comment,
                          properties=props)


def render_verdict(verdict, authserv_id):
    """Our RFC 8601 header value for *verdict*, built with authres.

    It always parses back; it names no client address and no HELO."""
    results = [_spf_result(verdict)]
    results.extend(_dkim_results(verdict))
    results.append(_arc_result(verdict))
    # DMARC-style verdict for the From address
    if verdict.from_address:
        domain = verdict.from_address.rpartition('@')[2]
        props = [_property('header', 'from', _pvalue(domain))]
        published = ('p=' + _comment(verdict.dmarc_policy)[:20]
                     if verdict.dmarc_policy else None)
        results.append(authres.result(
            'dmarc', result=verdict.from_status.value,
            result_comment=published, properties=props))
    ours = authres.result(
        VERDICT_METHOD, result=verdict.status.value,
        result_comment='temperror' if verdict.temperror else None)
    if verdict.reason:
        ours.reason = _quoted(verdict.reason[:200])
    results.append(ours)
    header = authres.AuthenticationResultsHeader(
        authserv_id=authserv_id, results=results)
    return header.header_value()


def fold(value, linesep, limit=78):
    """Fold an A-R value: a line break after every top-level ';' and
    wherever a line would exceed ``limit``, only at top-level whitespace
    (never inside quoted strings or comments)."""
    atoms = []
    depth = 0
    quoted = escape = False
    current = []
    for ch in value:
        if escape:
            escape = False
        elif ch == '\\' and (quoted or depth):
            escape = True
        elif quoted:
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch == '(':
            depth += 1
        elif ch == ')':
            depth = max(0, depth - 1)
        elif ch in ' \t' and depth == 0:
            if current:
                atoms.append(''.join(current))
                current = []
            continue
        current.append(ch)
    if current:
        atoms.append(''.join(current))
    lines = []
    line = ''
    for atom in atoms:
        if line and (line.endswith(';')
                     or len(line) + 1 + len(atom) > limit):
            lines.append(line)
            line = atom
        else:
            line = line + ' ' + atom if line else atom
    if line:
        lines.append(line)
    return (linesep.decode('ascii') + '\t').join(lines)


def header_field(verdict, authserv_id, linesep):
    """Our whole Authentication-Results field, folded, as bytes."""
    value = render_verdict(verdict, authserv_id)
    return b''.join([b'Authentication-Results: ',
                     fold(value, linesep).encode('utf-8', 'replace'),
                     linesep])
