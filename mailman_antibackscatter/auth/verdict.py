# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The result of authenticating one message, and its serializations."""

import base64
import dataclasses
import enum
import hmac
import json
import re
import zlib

import authres

__all__ = ['Status', 'ClientInfo', 'SPFResult', 'DKIMResult', 'ARCResult',
           'Verdict', 'STATE_METHOD']

# Our own result method in the Authentication-Results header; it carries the
# complete verdict (compressed JSON, base64url) so it can be reconstructed.
STATE_METHOD = 'x-antibackscatter'


class Status(str, enum.Enum):
    PASS = 'pass'
    FAIL = 'fail'
    NONE = 'none'
    TEMPERROR = 'temperror'

    def __str__(self):
        return self.value


@dataclasses.dataclass(frozen=True)
class ClientInfo:
    ip: 'str | None'
    helo: 'str | None'
    source: str = 'unknown'   # 'xforward', 'received', 'header', 'unknown'


@dataclasses.dataclass(frozen=True)
class SPFResult:
    result: str               # pass fail softfail neutral none temperror permerror
    domain: str
    identity: str = 'mailfrom'   # or 'helo'
    reason: str = ''


@dataclasses.dataclass(frozen=True)
class DKIMResult:
    result: str               # pass fail neutral temperror permerror policy
    domain: str
    selector: str
    reason: str = ''


@dataclasses.dataclass(frozen=True)
class ARCResult:
    result: str               # pass fail none
    sealer: 'str | None' = None
    trusted: bool = False
    dkim_domains: tuple = ()  # dkim=pass header.d= reported by the trusted AAR
    spf_domain: 'str | None' = None   # spf=pass domain reported by it
    dmarc_domains: tuple = ()         # dmarc=pass header.from= reported by it
    reason: str = ''
    temperror: bool = False


def _printable(text):
    return re.sub(r'[^\x20-\x7e]', '?', text or '')


def _chunks(token, size=400):
    """Split the state token so the header can be folded into short lines."""
    return [token[i:i + size] for i in range(0, len(token), size)] or ['']


def _pvalue(text):
    """A property value authres can always parse back unquoted."""
    return re.sub(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.@-]", '?', text or '') or 'unknown'


def _comment(text):
    return re.sub(r'[()\\]', '', _printable(text))


@dataclasses.dataclass(frozen=True)
class Verdict:
    from_address: 'str | None' = None
    mail_from: 'str | None' = None
    client: 'ClientInfo | None' = None
    spf: 'SPFResult | None' = None
    dkim: tuple = ()
    arc: 'ARCResult | None' = None
    dmarc_policy: 'str | None' = None
    from_status: Status = Status.NONE
    mail_from_status: Status = Status.NONE
    reason: str = ''
    mail_from_reason: str = ''
    temperror: bool = False    # some DNS lookup failed temporarily
    trusted_results: tuple = ()  # ('dkim'|'spf'|'dmarc', domain) from trusted A-R headers

    # -- the question --------------------------------------------------

    @property
    def status(self):
        if self.from_address is None:
            return Status.NONE
        return self.from_status

    def status_for(self, address):
        """Is this exact address proven to be the author of this message?"""
        if not address:
            return Status.NONE
        address = address.strip().strip('<>').strip().lower()
        if not address:
            return Status.NONE
        if self.from_address is not None and address == self.from_address:
            return self.from_status
        if self.mail_from and address == self.mail_from:
            return self.mail_from_status
        return Status.NONE

    # -- dict round trip -------------------------------------------------

    def to_dict(self):
        return {
            'version': 1,
            'from_address': self.from_address,
            'mail_from': self.mail_from,
            'client': dataclasses.asdict(self.client) if self.client else None,
            'spf': dataclasses.asdict(self.spf) if self.spf else None,
            'dkim': [dataclasses.asdict(d) for d in self.dkim],
            'arc': (dict(dataclasses.asdict(self.arc),
                         dkim_domains=list(self.arc.dkim_domains),
                         dmarc_domains=list(self.arc.dmarc_domains))
                    if self.arc else None),
            'dmarc_policy': self.dmarc_policy,
            'from_status': self.from_status.value,
            'mail_from_status': self.mail_from_status.value,
            'reason': self.reason,
            'mail_from_reason': self.mail_from_reason,
            'temperror': self.temperror,
            'trusted_results': [list(t) for t in self.trusted_results],
        }

    @classmethod
    def from_dict(cls, d):
        arc = d.get('arc')
        if arc:
            arc = dict(arc)
            arc['dkim_domains'] = tuple(arc.get('dkim_domains') or ())
            arc['dmarc_domains'] = tuple(arc.get('dmarc_domains') or ())
            arc = ARCResult(**arc)
        return cls(
            from_address=d.get('from_address'),
            mail_from=d.get('mail_from'),
            client=ClientInfo(**d['client']) if d.get('client') else None,
            spf=SPFResult(**d['spf']) if d.get('spf') else None,
            dkim=tuple(DKIMResult(**x) for x in d.get('dkim') or ()),
            arc=arc,
            dmarc_policy=d.get('dmarc_policy'),
            from_status=Status(d.get('from_status', 'none')),
            mail_from_status=Status(d.get('mail_from_status', 'none')),
            reason=d.get('reason', ''),
            mail_from_reason=d.get('mail_from_reason', ''),
            temperror=bool(d.get('temperror')),
            trusted_results=tuple(tuple(t) for t in d.get('trusted_results') or ()),
        )

    # -- Authentication-Results ------------------------------------------

    def _state_token(self):
        data = json.dumps(self.to_dict(), separators=(',', ':'),
                          sort_keys=True).encode('utf-8')
        return base64.urlsafe_b64encode(zlib.compress(data, 9)).decode(
            'ascii').rstrip('=')

    def authentication_results(self, authserv_id, seal=None):
        """RFC 8601 header value, built with authres.

        *seal* (token -> str), when given, adds policy.seal=seal(token) so
        the reader can tell this header from one written by anybody else.
        """
        results = []
        token = self._state_token()
        client = self.client
        client_comment = None
        if client and (client.ip or client.helo):
            client_comment = _comment('client-ip %s helo %s via %s' % (
                (client.ip or 'unknown')[:64], (client.helo or 'unknown')[:100],
                client.source[:20]))
        # SPF
        if self.spf is not None:
            props = []
            if self.spf.identity == 'helo':
                props.append(authres.core.AuthenticationResultProperty(
                    'smtp', 'helo', _pvalue(self.spf.domain)))
            else:
                props.append(authres.core.AuthenticationResultProperty(
                    'smtp', 'mailfrom', _pvalue(self.mail_from or self.spf.domain)))
            results.append(authres.result(
                'spf', result=_pvalue(self.spf.result), result_comment=client_comment,
                properties=props))
        else:
            results.append(authres.result(
                'spf', result='none', result_comment=client_comment))
        # DKIM, one per signature
        if self.dkim:
            for sig in self.dkim:
                props = [authres.core.AuthenticationResultProperty(
                    'header', 'd', _pvalue(sig.domain))]
                if sig.selector:
                    props.append(authres.core.AuthenticationResultProperty(
                        'header', 's', _pvalue(sig.selector)))
                results.append(authres.result(
                    'dkim', result=_pvalue(sig.result),
                    result_comment=_comment(sig.reason) if sig.result != 'pass' and sig.reason else None,
                    properties=props))
        else:
            results.append(authres.result('dkim', result='none'))
        # ARC
        if self.arc is not None:
            props = []
            comment = None
            if self.arc.sealer:
                props.append(authres.core.AuthenticationResultProperty(
                    'header', 'as-d', _pvalue(self.arc.sealer)))
                comment = 'trusted sealer' if self.arc.trusted else 'untrusted sealer'
            results.append(authres.result(
                'arc', result=self.arc.result, result_comment=comment,
                properties=props))
        else:
            results.append(authres.result('arc', result='none'))
        # DMARC-style verdict for the From address
        if self.from_address:
            domain = self.from_address.rpartition('@')[2]
            props = [authres.core.AuthenticationResultProperty(
                'header', 'from', _pvalue(domain))]
            if self.dmarc_policy:
                props.append(authres.core.AuthenticationResultProperty(
                    'policy', 'dmarc', self.dmarc_policy))
            results.append(authres.result(
                'dmarc', result=self.from_status.value, properties=props))
        # Our state: everything needed to rebuild this verdict.
        results.append(authres.result(
            STATE_METHOD, result=self.status.value,
            result_comment='temperror' if self.temperror else None,
            reason=_printable(self.reason)[:200] or None,
            properties=[
                authres.core.AuthenticationResultProperty(
                    'policy', 'state' if i == 0 else 'state%d' % (i + 1), chunk)
                for i, chunk in enumerate(_chunks(token))] + (
                    [authres.core.AuthenticationResultProperty(
                        'policy', 'seal', seal(token))]
                    if seal is not None else [])))
        header = authres.AuthenticationResultsHeader(
            authserv_id=authserv_id, results=results)
        return header.header_value()

    @classmethod
    def from_authentication_results(cls, value, authserv_id, seal=None):
        """Parse our own header value back; None if not ours or unparsable.

        With *seal* (token -> str), the header must carry policy.seal equal
        to seal(token): a header anyone could write proves nothing.
        """
        try:
            if isinstance(value, bytes):
                value = value.decode('utf-8', 'replace')
            value = re.sub(r'\r?\n[ \t]+', ' ', value).strip()
            header = authres.AuthenticationResultsHeader.parse_value(value)
            if (header.authserv_id or '').lower() != (authserv_id or '').lower():
                return None
            for result in header.results:
                if getattr(result, 'method', None) != STATE_METHOD:
                    continue
                parts = {prop.name: str(prop.value) for prop in result.properties
                         if prop.type == 'policy' and prop.name.startswith('state')}
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
                return cls.from_dict(json.loads(data))
        except Exception:
            return None
        return None
