# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Authentication-Results headers (RFC 8601): the one parser, and our own.

parse() reads any A-R value: the trusted headers of our own hosts, the
ARC-Authentication-Results of a trusted sealer and our own header.  Our
header is written by render_verdict(), folded by fold() and read back by
parse_verdict(); its ``x-antibackscatter`` clause carries the whole verdict.
"""

import base64
import hmac
import json
import re
import zlib

import authres

from .dkimcheck import MAX_SIGNATURES, not_verified
from .headers import domain_of
from .psl import normalize_domain
from .verdict import Verdict

__all__ = ['STATE_METHOD', 'authserv_id_of', 'fold', 'header_field',
           'parse', 'parse_verdict', 'passes', 'render_verdict',
           'reported_client']

# Our own result method in the Authentication-Results header; it carries the
# complete verdict (compressed JSON, base64url) so it can be reconstructed.
STATE_METHOD = 'x-antibackscatter'


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


def _chunks(token, size=400):
    """Split the state token so the header can be folded into short lines."""
    return [token[i:i + size] for i in range(0, len(token), size)] or ['']


def _pvalue(text):
    """A property value authres can always parse back unquoted."""
    return (re.sub(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.@-]", '?', text or '')
            or 'unknown')


def _reason(text):
    """The verdict's reason as our reason= value: printable, at most 200
    characters, and without '@', which authres leaves unquoted so that the
    header would not parse back (the state token keeps the reason as is)."""
    return _printable(text)[:200].replace('@', '(at)') or None


def _comment(text):
    return re.sub(r'[()\\]', '', _printable(text))


def _state_token(verdict):
    data = json.dumps(verdict.to_dict(), separators=(',', ':'),
                      sort_keys=True).encode('utf-8')
    return base64.urlsafe_b64encode(zlib.compress(data, 9)).decode(
        'ascii').rstrip('=')


def _property(ptype, name, value):
    return authres.core.AuthenticationResultProperty(ptype, name, value)


def _spf_result(verdict, client_comment):
    spf = verdict.spf
    if spf is None:
        return authres.result('spf', result='none',
                              result_comment=client_comment)
    if spf.identity == 'helo':
        prop = _property('smtp', 'helo', _pvalue(spf.domain))
    else:
        prop = _property('smtp', 'mailfrom',
                         _pvalue(verdict.mail_from or spf.domain))
    return authres.result('spf', result=_pvalue(spf.result),
                          result_comment=client_comment, properties=[prop])


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


def render_verdict(verdict, authserv_id, seal=None):
    """Our RFC 8601 header value for *verdict*, built with authres.

    *seal* (token -> str), when given, adds policy.seal=seal(token) so
    the reader can tell this header from one written by anybody else.
    """
    token = _state_token(verdict)
    client = verdict.client
    client_comment = None
    if client and (client.ip or client.helo):
        client_comment = _comment('client-ip %s helo %s via %s' % (
            (client.ip or 'unknown')[:64], (client.helo or 'unknown')[:100],
            client.source[:20]))
    results = [_spf_result(verdict, client_comment)]
    results.extend(_dkim_results(verdict))
    results.append(_arc_result(verdict))
    # DMARC-style verdict for the From address
    if verdict.from_address:
        domain = verdict.from_address.rpartition('@')[2]
        props = [_property('header', 'from', _pvalue(domain))]
        if verdict.dmarc_policy:
            props.append(_property('policy', 'dmarc',
                                   _pvalue(verdict.dmarc_policy)))
        results.append(authres.result(
            'dmarc', result=verdict.from_status.value, properties=props))
    # Our state: everything needed to rebuild this verdict.
    props = [_property('policy', 'state' if i == 0 else 'state%d' % (i + 1),
                       chunk)
             for i, chunk in enumerate(_chunks(token))]
    if seal is not None:
        props.append(_property('policy', 'seal', seal(token)))
    results.append(authres.result(
        STATE_METHOD, result=verdict.status.value,
        result_comment='temperror' if verdict.temperror else None,
        reason=_reason(verdict.reason),
        properties=props))
    header = authres.AuthenticationResultsHeader(
        authserv_id=authserv_id, results=results)
    return header.header_value()


def parse_verdict(value, authserv_id, seal=None):
    """The Verdict in our own header value; None if not ours or unparsable.

    With *seal* (token -> str), the header must carry policy.seal equal
    to seal(token): a header anyone could write proves nothing.
    """
    try:
        if isinstance(value, bytes):
            value = value.decode('utf-8', 'replace')
        value = re.sub(r'\r?\n[ \t]+', ' ', value).strip()
        claimed, results = parse(value)
        if (claimed or '').lower() != (authserv_id or '').lower():
            return None
        for result in results:
            if getattr(result, 'method', None) != STATE_METHOD:
                continue
            parts = {prop.name: str(prop.value)
                     for prop in result.properties
                     if prop.type == 'policy'
                     and prop.name.startswith('state')}
            if 'state' not in parts:
                continue
            token = parts['state']
            n = 2
            while 'state%d' % n in parts:
                token += parts['state%d' % n]
                n += 1
            if seal is not None:
                found = [str(prop.value) for prop in result.properties
                         if prop.type == 'policy' and prop.name == 'seal']
                if len(found) != 1 or not hmac.compare_digest(
                        found[0], seal(token)):
                    return None
            token += '=' * (-len(token) % 4)
            data = zlib.decompress(base64.urlsafe_b64decode(token))
            return Verdict.from_dict(json.loads(data))
    except Exception:
        return None
    return None


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


def header_field(verdict, authserv_id, linesep, seal=None):
    """Our whole Authentication-Results field, folded, as bytes."""
    value = render_verdict(verdict, authserv_id, seal=seal)
    return b''.join([b'Authentication-Results: ',
                     fold(value, linesep).encode('utf-8', 'replace'),
                     linesep])
