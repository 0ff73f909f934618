"""Plain-language explanations of verdicts, for list owners."""

from mailman_antibackscatter.auth import (
    ClientInfo, DKIMResult, SPFResult, Status, Verdict)
from mailman_antibackscatter.auth.explain import explain

CLIENT = ClientInfo('203.0.113.66', 'bot.spam.test', 'xforward')


def test_spf_fail_names_the_domain_and_the_server():
    verdict = Verdict(
        from_address='alice@victim.example', client=CLIENT,
        spf=SPFResult('fail', 'victim.example'), from_status=Status.FAIL,
        reason='spf=fail for victim.example aligned with From '
               'victim.example')
    assert explain(verdict) == (
        "Forged: victim.example's SPF does not allow the sending server "
        "(203.0.113.66).")


def test_dmarc_policy_without_passing_check():
    verdict = Verdict(
        from_address='alice@victim.example', client=CLIENT,
        spf=SPFResult('softfail', 'spam.test'), dmarc_policy='reject',
        from_status=Status.FAIL,
        reason='From domain victim.example publishes DMARC p=reject and '
               'nothing aligned passes (spf=softfail, dkim=none)')
    text = explain(verdict)
    assert text.startswith('Forged: victim.example asks receivers to reject')
    assert 'aligned' not in text


def test_pass_by_spf_and_by_dkim():
    spf = Verdict(from_address='bob@example.org', client=ClientInfo(
        '192.0.2.10', 'mx.example.org', 'xforward'),
        spf=SPFResult('pass', 'example.org'), from_status=Status.PASS,
        reason='spf=pass smtp.mailfrom example.org aligned with From '
               'example.org')
    assert explain(spf) == (
        "Proven: example.org's SPF allows the sending server "
        "(192.0.2.10).")
    dkim = Verdict(from_address='bob@example.org',
                   dkim=(DKIMResult('pass', 'example.org', 'sel'),),
                   from_status=Status.PASS,
                   reason='dkim=pass header.d=example.org aligned with From '
                          'example.org')
    assert explain(dkim) == (
        'Proven: the message carries a valid signature (DKIM) of '
        'example.org.')


def test_none_and_temperror_say_the_sender_may_be_real():
    none = Verdict(from_address='ivy@plain.example', from_status=Status.NONE,
                   reason='no aligned authentication for From plain.example '
                          '(spf=none, dkim=none)')
    assert explain(none) == (
        'Not proven: plain.example publishes nothing (SPF, DKIM, DMARC) '
        'that proves or disproves the sender; the sender may be real.')
    softfail = Verdict(from_address='ivy@plain.example',
                       spf=SPFResult('softfail', 'plain.example'),
                       from_status=Status.NONE, reason='no aligned ...')
    assert explain(softfail).startswith(
        'Not proven: no check (SPF, DKIM) confirms the sender, and '
        'plain.example does not ask')
    temp = Verdict(from_address='jay@dnsdown.example',
                   from_status=Status.TEMPERROR,
                   reason='DNS temporary error during SPF check of '
                          'dnsdown.example')
    assert explain(temp) == (
        "Not proven: dnsdown.example's DNS did not answer when the message "
        'arrived; the sender may be real.')


def test_no_single_from_address():
    verdict = Verdict(from_address=None, reason='no From header')
    assert explain(verdict) == (
        'Not proven: the message has no single From address (no From '
        'header).')
