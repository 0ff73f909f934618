# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The result of authenticating one message: plain data classes.

A Verdict round-trips through a JSON-able dict (to_dict/from_dict); its
Authentication-Results form is in :mod:`.authresults`.
"""

import dataclasses
import enum

__all__ = ['Status', 'ClientInfo', 'SPFResult', 'DKIMResult', 'ARCResult',
           'Verdict']


class Status(str, enum.Enum):
    """Is an address proven to be the author of a message?"""
    PASS = 'pass'
    FAIL = 'fail'
    NONE = 'none'
    TEMPERROR = 'temperror'

    def __str__(self):
        return self.value


@dataclasses.dataclass(frozen=True)
class ClientInfo:
    """The SMTP client that handed the message to our hosts."""
    ip: 'str | None'
    helo: 'str | None'
    source: str = 'unknown'   # 'xforward', 'received', 'header', 'unknown'


@dataclasses.dataclass(frozen=True)
class SPFResult:
    """The SPF result for the envelope sender (or the HELO name)."""
    # pass fail softfail neutral none temperror permerror
    result: str
    domain: str
    identity: str = 'mailfrom'   # or 'helo'
    reason: str = ''


@dataclasses.dataclass(frozen=True)
class DKIMResult:
    """The result of one DKIM-Signature."""
    result: str               # pass fail neutral temperror permerror policy
    domain: str
    selector: str
    reason: str = ''


@dataclasses.dataclass(frozen=True)
class ARCResult:
    """The result of the ARC chain, and what a trusted sealer reported."""
    result: str               # pass fail none
    sealer: 'str | None' = None
    trusted: bool = False
    dkim_domains: tuple = ()  # dkim=pass header.d= reported by the trusted AAR
    spf_domain: 'str | None' = None   # spf=pass domain reported by it
    dmarc_domains: tuple = ()         # dmarc=pass header.from= reported by it
    reason: str = ''
    temperror: bool = False


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Everything we learned about one message, and the status of its
    author (From) and of its envelope sender."""
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
    # ('dkim'|'spf'|'dmarc', domain) from trusted A-R headers
    trusted_results: tuple = ()

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
            if self.from_address is None and \
                    self.mail_from_status is Status.PASS:
                # Without one From address nobody is proven to be the
                # author: SPF proves who sent the message, not who wrote it.
                return Status.NONE
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
        """The Verdict that to_dict() gave *d*.  Anything else (from a
        queue file or a header an attacker wrote) raises ValueError with
        a one-line reason, never another exception, and a value of the
        wrong type is never let through."""
        if not isinstance(d, dict):
            raise ValueError('not a verdict: %s' % type(d).__name__)
        arc = d.get('arc')
        if arc is not None:
            arc = _record(ARCResult, arc, dkim_domains=_strings,
                          dmarc_domains=_strings)
        return _record(cls, dict(
            d,
            client=(_record(ClientInfo, d['client'])
                    if d.get('client') is not None else None),
            spf=(_record(SPFResult, d['spf'])
                 if d.get('spf') is not None else None),
            dkim=tuple(_record(DKIMResult, x)
                       for x in _sequence(d.get('dkim') or ())),
            arc=arc,
            from_status=_status(d.get('from_status', 'none')),
            mail_from_status=_status(d.get('mail_from_status', 'none')),
            trusted_results=tuple(
                _strings(t, 2) for t in _sequence(
                    d.get('trusted_results') or ()))),
            client=None, spf=None, dkim=None, arc=None, from_status=None,
            mail_from_status=None, trusted_results=None)


# -- from_dict's checks ----------------------------------------------------

_TYPES = {'str': (str,), 'str | None': (str, type(None)), 'bool': (bool,)}


def _sequence(value):
    if not isinstance(value, (list, tuple)):
        raise ValueError('not a verdict: a list is %s'
                         % type(value).__name__)
    return value


def _strings(value, length=None):
    value = tuple(_sequence(value))
    if not all(isinstance(x, str) for x in value) or (
            length is not None and len(value) != length):
        raise ValueError('not a verdict: a list of strings expected')
    return value


def _status(value):
    try:
        return Status(value)
    except (ValueError, TypeError):
        raise ValueError('not a verdict: status %.20r' % (value,)) from None


def _record(cls, data, **convert):
    """An instance of the data class *cls* from the dict *data*: each field
    of its annotated type (str, str | None, bool) or converted by the
    function given for it (None: taken as it is); unknown keys ignored."""
    if not isinstance(data, dict):
        raise ValueError('not a verdict: %s is %s' % (
            cls.__name__, type(data).__name__))
    values = {}
    for field in dataclasses.fields(cls):
        if field.name not in data:
            if (field.default is dataclasses.MISSING
                    and field.name not in convert):
                raise ValueError('not a verdict: %s without %s' % (
                    cls.__name__, field.name))
            continue
        value = data[field.name]
        if field.name in convert:
            if convert[field.name] is not None:
                value = convert[field.name](value)
        elif not isinstance(value, _TYPES.get(
                getattr(field.type, '__name__', field.type), (object,))):
            raise ValueError('not a verdict: %s.%s is %s' % (
                cls.__name__, field.name, type(value).__name__))
        values[field.name] = value
    return cls(**values)
