# SPDX-License-Identifier: GPL-3.0-or-later
"""A temporary error on evidence that cannot change the outcome never
overrides a decisive result (the attacker must not choose temperror)."""

from mailman_antibackscatter.auth import ClientInfo, Status

from tests.unit.engine_helpers import make_message

SPAMMER = ClientInfo('203.0.113.66', 'mx.attacker.example', 'xforward')
SLOW_SIGNATURE = ('DKIM-Signature: v=1; a=rsa-sha256; d=slow.attacker.example;'
                  ' s=s; h=from; bh=AAAA; b=AAAA')


def forgery(dns_server):
    dns_server.add('victim.example', 'TXT', 'v=spf1 ip4:198.51.100.7 -all')
    dns_server.add('_dmarc.victim.example', 'TXT', 'v=DMARC1; p=reject')
    dns_server.blackhole('slow.attacker.example')
    return make_message(from_='victim@victim.example',
                        extra=[SLOW_SIGNATURE])


def test_slow_unaligned_signature_does_not_turn_spf_fail_into_temperror(
        make_auth, dns_server):
    auth = make_auth(dns_timeout=1.0)
    v = auth.authenticate(forgery(dns_server), 'victim@victim.example',
                          SPAMMER)
    assert v.spf.result == 'fail'
    assert [d.result for d in v.dkim] == ['temperror']
    assert v.status is Status.FAIL, v.reason
    assert v.status_for('victim@victim.example') is Status.FAIL


def test_dmarc_record_has_its_own_share_of_the_budget(make_auth, dns_server):
    # The envelope sender's SPF (not aligned) never answers: it must not
    # use up the time the From domain's DMARC record needs.
    auth = make_auth(dns_timeout=1.0)
    dns_server.blackhole('bulk.attacker.example')
    v = auth.authenticate(forgery(dns_server), 'x@bulk.attacker.example',
                          SPAMMER)
    assert v.spf.result == 'temperror'
    assert v.dmarc_policy == 'reject'
    assert v.status is Status.FAIL, v.reason


def test_aligned_temperror_still_keeps_the_question_open(make_auth,
                                                         dns_server):
    # An aligned signature could still pass: that temperror does count.
    auth = make_auth(dns_timeout=1.0)
    raw = forgery(dns_server)
    dns_server.blackhole('_domainkey.victim.example')
    raw = raw.replace(b'd=slow.attacker.example', b'd=victim.example')
    v = auth.authenticate(raw, 'victim@victim.example', SPAMMER)
    assert v.status is Status.TEMPERROR, v.reason
