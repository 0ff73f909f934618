# SPDX-License-Identifier: GPL-3.0-or-later
"""The fuzz tier's properties, each a Hypothesis test taking a Context.

tests/fuzz/test_*.py run them for a fixed number of examples in the
default test run; ``python -m tests.fuzz`` (``make fuzz``) runs them for as
long as asked.  A property that fails raises, with Hypothesis' shrunk
falsifying example.
"""

import itertools
import json
import tracemalloc

from hypothesis import given
from hypothesis import strategies as st

from mailman_antibackscatter.auth import (Authenticator, ClientInfo,
                                          EngineSettings, Status, Verdict,
                                          render_verdict)
from mailman_antibackscatter.auth import authresults, returnpath
from tests.harness.dnsserver import DNSServer

from .strategies import (CLIENT_IP, DOMAIN, KEY_TXT, SEALER, SELECTOR,
                         dns_worlds, mutated_messages, tampered_messages)

AUTHSERV_ID = 'lists.example.net'

# What one message may cost at most, whatever it holds: DNS queries (SPF's
# RFC 7208 limits, 20 DKIM keys, two keys per ARC set, DMARC) and memory
# beyond a small multiple of its size.
MAX_QUERIES = 250
MEMORY_FACTOR = 24
MEMORY_SLACK = 8 * 1024 * 1024


class Context:
    """A DNS server with the signer's and the sealer's keys, and one engine
    (its caches kept across examples, as in the door)."""

    def __init__(self):
        self.dns = DNSServer().start()
        self.dns.add('%s._domainkey.%s' % (SELECTOR, DOMAIN), 'TXT', KEY_TXT)
        self.dns.add('%s._domainkey.%s' % (SELECTOR, SEALER), 'TXT', KEY_TXT)
        self.dns.add(DOMAIN, 'TXT', 'v=spf1 -all')
        self.dns.add('_dmarc.' + DOMAIN, 'TXT', 'v=DMARC1; p=reject')
        self.auth = Authenticator(EngineSettings(
            authserv_id=AUTHSERV_ID, nameservers=(self.dns.address,),
            dns_timeout=0.3, trusted_arc_sealers=frozenset({SEALER})))
        self.inputs = 0
        self._worlds = itertools.count()

    def close(self):
        self.dns.stop()

    def authenticate(self, raw, mail_from='bounce@' + DOMAIN):
        self.inputs += 1
        return self.auth.authenticate(
            raw, mail_from, ClientInfo(CLIENT_IP, 'mail.' + DOMAIN,
                                       'xforward'))

    def world(self, records, faults):
        """A fresh sender domain served as *records* and *faults* say."""
        domain = 'w%d.fuzz.example' % next(self._worlds)
        for name, values in records.items():
            for value in values:
                self.dns.add(name.replace('@D', domain), 'TXT',
                             value.replace(b'@D', domain.encode()))
        for name, fault in faults.items():
            getattr(self.dns, fault)(name.replace('@D', domain))
        return domain


def header_reads_back(verdict):
    """Our header for *verdict* parses as anybody would parse it, names our
    id and the verdict's status, and carries no private state; the verdict
    itself round-trips through to_dict()/from_dict() (msgdata)."""
    value = render_verdict(verdict, AUTHSERV_ID)
    claimed, results = authresults.parse(' '.join(value.split()))
    assert claimed == AUTHSERV_ID, value
    assert 'policy.' not in value, value
    ours = [r.result for r in results
            if r.method == authresults.VERDICT_METHOD]
    assert ours == [verdict.status.value], value
    assert Verdict.from_dict(verdict.to_dict()) == verdict


def check_sound(ctx, raw, verdict):
    """What holds for every verdict: no internal error, and our header,
    stamped onto the message, reads back."""
    assert isinstance(verdict, Verdict)
    assert not verdict.reason.startswith('internal error'), verdict.reason
    stamped = ctx.auth.stamp(raw, verdict)
    first = stamped.split(b'\n', 1)[0]
    assert first.startswith(b'Authentication-Results: ')
    header_reads_back(verdict)


@given(raw=mutated_messages())
def hostile_message(ctx, raw):
    """authenticate() never fails, keeps to its DNS bound, and our header
    for its verdict parses back."""
    before = ctx.dns.query_count
    verdict = ctx.authenticate(raw)
    assert ctx.dns.query_count - before <= MAX_QUERIES
    check_sound(ctx, raw, verdict)


@given(raw=tampered_messages())
def tampered_never_pass(ctx, raw):
    """A message whose signed bytes were changed is never proven by its
    signature or its (trusted) ARC seal."""
    verdict = ctx.authenticate(raw)
    assert all(d.result != 'pass' for d in verdict.dkim), verdict.dkim
    assert not (verdict.arc and verdict.arc.result == 'pass'), verdict.arc
    assert verdict.status_for('alice@' + DOMAIN) != Status.PASS
    check_sound(ctx, raw, verdict)


@given(world=dns_worlds(), raw=mutated_messages())
def hostile_dns(ctx, world, raw):
    """Hostile DNS answers (garbage, huge or looping records, SERVFAIL,
    no answer) for the sender's SPF, DKIM key and DMARC names."""
    domain = ctx.world(*world).encode()
    raw = raw.replace(DOMAIN.encode(), domain)
    before = ctx.dns.query_count
    verdict = ctx.authenticate(raw, 'bounce@' + domain.decode())
    assert ctx.dns.query_count - before <= MAX_QUERIES
    check_sound(ctx, raw, verdict)


@given(raw=mutated_messages())
def bounded_memory(ctx, raw):
    """authenticate() allocates at most a small multiple of the message."""
    tracemalloc.start()
    try:
        ctx.authenticate(raw)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= MEMORY_FACTOR * len(raw) + MEMORY_SLACK, peak


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats()
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=20), inner, max_size=6),
    max_leaves=30)
_FIELDS = ['from_address', 'mail_from', 'client', 'spf', 'dkim', 'arc',
           'dmarc_policy', 'from_status', 'mail_from_status', 'reason',
           'mail_from_reason', 'temperror', 'trusted_results', 'version']


@given(data=st.one_of(
    _JSON, st.dictionaries(st.sampled_from(_FIELDS), _JSON),
    st.builds(lambda v, k, x: dict(v, **{k: x}),
              st.just(Verdict(from_address="a@b.example")
                      .to_dict()),
              st.sampled_from(_FIELDS), _JSON)))
def verdict_from_dict(ctx, data):
    """Verdict.from_dict() rejects what is not a verdict with ValueError
    only, and what it accepts renders and reads back."""
    ctx.inputs += 1
    try:
        verdict = Verdict.from_dict(data)
    except ValueError:
        return
    header_reads_back(verdict)
    json.dumps(verdict.to_dict())


_AR_TEXT = st.one_of(
    st.text(max_size=400),
    st.builds(lambda rest: AUTHSERV_ID + '; ' + rest, st.text(max_size=300)),
    st.builds(lambda a, b: render_verdict(Verdict(), AUTHSERV_ID)[:a] + b,
              st.integers(0, 1200), st.text(max_size=40)))


@given(value=_AR_TEXT)
def header_readers(ctx, value):
    """The A-R readers never raise (parse() raises authres' own parse
    errors only, by contract)."""
    ctx.inputs += 1
    authresults.authserv_id_of(value)
    try:
        authresults.parse(value)
    except Exception as exc:        # authres' own parse errors
        assert type(exc).__module__.startswith('authres'), repr(exc)


_RING = returnpath.KeyRing((returnpath.TagKey('0', b'k' * 32, 20000),))


@given(tag=st.one_of(st.text(max_size=40),
                     st.from_regex(r'\A[lvp][0-9a-z][0-9]{3}[0-9a-f]{16}\Z')),
       binding=st.text(max_size=400), list_id=st.text(max_size=60),
       local=st.text(max_size=200), today=st.integers(0, 10 ** 6),
       keyfile=st.text(max_size=300))
def return_path_readers(ctx, tag, binding, list_id, local, today, keyfile):
    """Return-path tags, envelope locals and key files: never an
    exception, except KeyFileError for a bad key file."""
    ctx.inputs += 1
    check = returnpath.check_tag(_RING, tag, list_id, binding, today, 30)
    assert not check.ok
    returnpath.looks_like_tag(tag)
    returnpath.split_bounces_local(local, 'list-bounces')
    try:
        returnpath.parse_keyfile(keyfile)
    except returnpath.KeyFileError:
        pass


PROPERTIES = [hostile_message, tampered_never_pass, hostile_dns,
              bounded_memory, verdict_from_dict, header_readers,
              return_path_readers]
