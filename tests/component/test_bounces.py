"""The bounce gate and the tagging delivery agents inside Mailman's ConfigLayer."""

import dataclasses
import email
import re
import time

from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest

from mailman.app.lifecycle import create_list
from mailman.config import config
from mailman.email.message import Message
from mailman.interfaces.bounce import (
    BounceContext, UnrecognizedBounceDisposition)
from mailman.interfaces.member import DeliveryStatus
from mailman.interfaces.usermanager import IUserManager
from mailman.model.bounce import BounceEvent
from mailman.testing.helpers import (
    get_queue_messages, make_testable_runner)
from mailman.utilities.datetime import now
from zope.component import getUtility

from mailman_antibackscatter.app import bounces

from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.mta.deliver import (
    PerRecipientDelivery, TaggedBulkDelivery, TaggedDeliver)
from mailman_antibackscatter.runners.bounce import GatedBounceRunner
from mailman_antibackscatter.app.trigger import verdict_of
from mailman_antibackscatter.runners.lmtp import ENVELOPE_RCPT
from tests.component.helpers import enqueue

ANNE = 'anne@example.org'
BOB = 'bob@example.org'


@pytest.fixture
def mlist(mailman):
    mlist = create_list('test@example.com')
    users = getUtility(IUserManager)
    for address in (ANNE, BOB):
        mlist.subscribe(users.create_address(address))
    from mailman.interfaces.member import MemberRole
    mlist.subscribe(users.create_address('owner@example.com'),
                    MemberRole.owner)
    config.db.commit()
    get_queue_messages('virgin')            # the welcome messages
    return mlist


def dsn(failed, *, status='5.1.1', quoted_id='<orig@example.com>',
        headers=''):
    action = 'failed' if status.startswith('5') else 'delayed'
    text = (
        'From: MAILER-DAEMON@mx.example.org\n'
        'To: test-bounces@example.com\n'
        'Subject: Undelivered Mail\n'
        'Message-ID: <dsn-{n}@mx.example.org>\n{headers}'
        'MIME-Version: 1.0\n'
        'Content-Type: multipart/report; report-type=delivery-status; '
        'boundary="B"\n\n'
        '--B\nContent-Type: text/plain\n\nFailed.\n\n'
        '--B\nContent-Type: message/delivery-status\n\n'
        'Reporting-MTA: dns; mx.example.org\n\n'
        'Final-Recipient: rfc822; {failed}\nAction: {action}\n'
        'Status: {status}\n\n'
        '--B\nContent-Type: text/rfc822-headers\n\n'
        'Message-ID: {quoted}\nSubject: hi\n\n--B--\n').format(
            n=abs(hash((failed, status, quoted_id))), failed=failed,
            action=action, status=status, quoted=quoted_id, headers=headers)
    return email.message_from_string(text, Message)


def sender_for(mlist, recipients, message_id='<x@example.com>', **msgdata):
    """The envelope sender our agents would use for *recipients*."""
    msg = Message()
    if message_id:
        msg['Message-ID'] = message_id
    if len(recipients) == 1 and msgdata.pop('individual', False):
        agent = TaggedDeliver()
        data = dict(msgdata, recipient=recipients[0])
        return agent._get_sender(mlist, msg, data)
    agent = TaggedBulkDelivery(10)
    seen = []
    with mock.patch.object(TaggedBulkDelivery.__mro__[2],
                           '_deliver_to_recipients',
                           lambda self, m, g, d, r: seen.append(
                               self._get_sender(m, g, d)) or {}):
        agent._deliver_to_recipients(mlist, msg, msgdata, recipients)
    return seen[0]


def run_gate(mlist, msg, rcpt):
    enqueue('bounces', mlist, msg, **({ENVELOPE_RCPT: rcpt} if rcpt else {}))
    runner = make_testable_runner(GatedBounceRunner, 'bounces')
    runner.run()
    return runner


def events():
    return [(e.email, e.context.name)
            for e in config.db.store.query(BounceEvent)]


def counted(mlist):
    return {reason: n for (lid, reason), n in
            decisions.totals(mlist.list_id).items()}


def test_sender_formats(mlist):
    bulk = sender_for(mlist, [ANNE, BOB])
    assert re.match(r'^test-bounces\+l[0-9a-z]\d{3}[0-9a-f]{16}'
                    r'\+[0-9a-f]{10}@example\.com$', bulk)
    # Bound to the message: another Message-ID, another tag.
    assert sender_for(mlist, [ANNE, BOB], '<y@example.com>') != bulk
    one = sender_for(mlist, [ANNE])
    assert re.match(r'^test-bounces\+v\w{20}\+anne=example\.org'
                    r'@example\.com$', one)
    personal = sender_for(mlist, [BOB], individual=True)
    assert personal.endswith('+bob=example.org@example.com')
    probe = sender_for(mlist, [ANNE], sender='test-bounces+{}@example.com'
                       .format('a' * 40), probe_token='a' * 40)
    assert re.match(r'^test-bounces\+p\w{20}\+a{40}@example\.com$', probe)
    # Without a Message-ID (VERPMixin needs one) the tag is list-level.
    assert '+l' in sender_for(mlist, [ANNE], message_id=None)
    assert '+l' in sender_for(mlist, [ANNE], message_id=None, individual=True)
    # Someone else's sender is not ours to tag.
    assert sender_for(mlist, [ANNE, BOB], sender='noreply@example.net') == \
        'noreply@example.net'


def test_signing_a_chunk_reads_no_list_settings(mlist):
    """The tag lifetime is site-wide: a list of 5,000 members is signed in
    hundreds of chunks, none of which may cost a settings query."""
    from mailman_antibackscatter.app import list_policy
    sender_for(mlist, [ANNE, BOB])          # the first key is made
    with mock.patch.object(list_policy, 'stored',
                           wraps=list_policy.stored) as read:
        sender_for(mlist, [ANNE, BOB])
        sender_for(mlist, [ANNE])
    assert read.call_count == 0


def test_genuine_bulk_bounce_scores_members_only(mlist):
    rcpt = sender_for(mlist, [ANNE, BOB])
    run_gate(mlist, dsn(ANNE), rcpt)
    run_gate(mlist, dsn('stranger@example.net'), rcpt)
    assert events() == [(ANNE, 'normal')]
    assert counted(mlist) == {'bounce-genuine': 1,
                              'bounce-forged-dropped': 1}


def test_verp_tag_decides_who_failed_and_cannot_be_replayed(mlist):
    rcpt = sender_for(mlist, [ANNE])
    run_gate(mlist, dsn('whoever@example.net'), rcpt)
    run_gate(mlist, dsn(BOB), rcpt.replace('anne=example.org',
                                           'bob=example.org'))
    assert events() == [(ANNE, 'normal')]
    assert counted(mlist)['bounce-forged-dropped'] == 1


def test_temporary_and_autoreply_are_not_scored(mlist):
    rcpt = sender_for(mlist, [ANNE])
    run_gate(mlist, dsn(ANNE, status='4.2.2'), rcpt)
    vacation = email.message_from_string(
        'From: anne@example.org\nTo: x\nSubject: Out of office\n'
        'Auto-Submitted: auto-replied\nMessage-ID: <vac@example.org>\n\n'
        'Back next week.\n', Message)
    run_gate(mlist, vacation, rcpt)
    assert events() == []
    assert counted(mlist) == {'bounce-temporary': 1, 'bounce-autoreply': 1}
    assert get_queue_messages('virgin') == []


def test_unrecognized_genuine_report_summary_without_attachment(mlist):
    rcpt = sender_for(mlist, [ANNE])
    junk = email.message_from_string(
        'From: postmaster@example.org\nTo: x\nSubject: ???\n'
        'Message-ID: <junk@example.org>\n\nBUY PILLS http://spam.test/\n',
        Message)
    run_gate(mlist, junk, rcpt)
    items = get_queue_messages('virgin')
    assert len(items) == 1
    assert items[0].msgdata['recipients'] == {'owner@example.com'}
    notice = items[0].msg
    assert not notice.is_multipart()
    body = notice.get_payload(decode=True).decode()
    assert '<junk@example.org>' in body and 'spam.test' not in body
    assert counted(mlist) == {'bounce-unrecognized': 1}


def test_unrecognized_respects_discard(mlist):
    mlist.forward_unrecognized_bounces_to = (
        UnrecognizedBounceDisposition.discard)
    junk = email.message_from_string('Subject: ?\n\nnothing\n', Message)
    run_gate(mlist, junk, sender_for(mlist, [ANNE]))
    assert get_queue_messages('virgin') == []
    assert counted(mlist) == {'bounce-unrecognized': 1}


def test_unrecognized_goes_into_the_owner_summary_on_summary_lists(mlist):
    from mailman_antibackscatter.app import list_policy
    from mailman_antibackscatter.app import summary
    list_policy.update(mlist, dict(owner_notices='summary'))
    junk = email.message_from_string(
        'From: postmaster@example.org\nTo: x\nSubject: ???\n'
        'Message-ID: <junk2@example.org>\n\nBUY PILLS http://spam.test/\n',
        Message)
    run_gate(mlist, junk, sender_for(mlist, [ANNE]))
    assert get_queue_messages('virgin') == []          # nothing immediate
    assert counted(mlist) == {'bounce-unrecognized-summarized': 1}
    due = summary.compose(mlist)
    assert due is not None and not due.empty
    text = due.text()
    assert 'name no failed address' in text
    assert 'spam.test' not in text


def test_list_switched_off_gets_mailmans_own_bounce_processing(mlist):
    from mailman_antibackscatter.app import list_policy
    list_policy.update(mlist, dict(enabled=False))
    # An untagged report, which the gate would drop as backscatter, is
    # scored by Mailman's stock processing for this list.
    run_gate(mlist, dsn(ANNE), 'test-bounces@example.com')
    assert events() == [(ANNE, 'normal')]
    assert counted(mlist) == {}
    assert bounces.policy(mlist).enabled is False
    assert bounces.policy().enabled is True


def addressed(report, rcpt):
    """*report* with To: the tagged return path, as the MTA delivered it."""
    report.replace_header('To', rcpt)
    return report


@pytest.mark.parametrize('switch', ['enabled', 'bounces_enabled'])
def test_switched_off_valid_tags_still_score_and_expired_ones_do_not(
        mlist, monkeypatch, caplog, switch):
    """install.md, turning it off: with `enabled: no`, or `[bounces]
    enabled: no` alone, a report to a still-valid tag reaches Mailman as
    its own VERP address; past tag_lifetime it reaches Mailman as it
    arrived."""
    from mailman_antibackscatter.config import runtime
    from mailman_antibackscatter.runners import bounce as gate_module
    anne_rcpt = sender_for(mlist, [ANNE])       # sent while it was on
    bob_rcpt = sender_for(mlist, [BOB])
    monkeypatch.setattr(runtime, '_settings', dataclasses.replace(
        runtime.get_settings(), **{switch: False}))
    with caplog.at_level('INFO', logger='mailman.antibackscatter'):
        run_gate(mlist, addressed(dsn(ANNE), anne_rcpt), anne_rcpt)
    assert events() == [(ANNE, 'normal')]
    assert ('decoded as test-bounces+anne=example.org@example.com'
            in caplog.text)
    later = gate_module.day_number() + bounces.policy().tag_lifetime + 1
    monkeypatch.setattr(gate_module, 'day_number', lambda: later)
    report = addressed(dsn(BOB), bob_rcpt)
    runner = run_gate(mlist, report, bob_rcpt)
    assert runner.as_stock_verp(
        mlist, report, {ENVELOPE_RCPT: bob_rcpt}) is report
    # Mailman's own VERP pattern read the tagged address unchanged.
    assert [e for e, _ in events()][1:] == [
        bob_rcpt.split('+', 1)[1].replace('=example.org@example.com',
                                          '@example.org')]
    assert counted(mlist) == {}


def test_bulk_by_default_per_recipient_agent_as_an_option(mlist):
    """`deliver` picks the agent; Mailman's own VERP switch stays off."""
    from mailman_antibackscatter.app import list_policy
    from mailman_antibackscatter.mta import deliver as tagged
    msg = Message()
    msg['Message-ID'] = '<many@example.com>'
    seen = []
    # Stand in for the SMTP conversation only; the choice is what's tested.
    with mock.patch.object(tagged.stock, 'deliver',
                           lambda m, g, d: seen.append(
                               (tagged.stock.BulkDelivery, dict(d)))):
        tagged.deliver(mlist, msg, dict(recipients=[ANNE, BOB]))
        list_policy.update(mlist, dict(per_recipient_return_path=True))
        tagged.deliver(mlist, msg, dict(recipients=[ANNE, BOB]))
        # A sender chosen explicitly (a probe's token) is never VERP'd.
        tagged.deliver(mlist, msg, dict(recipients=[ANNE, BOB],
                                        sender='x@example.com'))
    assert [agent for agent, data in seen] == [
        TaggedBulkDelivery, PerRecipientDelivery, TaggedBulkDelivery]
    assert not any(data.get('verp') for agent, data in seen)


def probes_and_status(mlist, address):
    probes = [item for item in get_queue_messages('virgin')
              if item.msgdata.get('probe_token')]
    member = mlist.members.get_member(address)
    return len(probes), member.delivery_status


def test_threshold_only_probes_on_a_protected_list(mlist):
    """Mailman's verp_probes is off (its default): the plugin's lists probe,
    a list it does not protect is disabled at once, as in Mailman."""
    from mailman_antibackscatter.app import list_policy
    assert config.mta.verp_probes == 'no'
    mlist.bounce_score_threshold = 1
    get_queue_messages('virgin')
    runner = make_testable_runner(GatedBounceRunner, 'bounces')
    runner._processor.register(mlist, ANNE, dsn(ANNE), BounceContext.normal)
    config.db.commit()
    runner._process_events()
    assert probes_and_status(mlist, ANNE) == (1, DeliveryStatus.enabled)
    assert config.mta.verp_probes == 'no'
    list_policy.update(mlist, dict(enabled=False))
    runner = make_testable_runner(GatedBounceRunner, 'bounces')
    runner._processor.register(mlist, BOB, dsn(BOB), BounceContext.normal)
    config.db.commit()
    runner._process_events()
    assert probes_and_status(mlist, BOB) == (0, DeliveryStatus.by_bounces)


def test_flufl_bounce_crash_on_genuine_report_is_unrecognized(mlist):
    """flufl.bounce's yale detector raises IndexError without a From:."""
    rcpt = sender_for(mlist, [ANNE])
    run_gate(mlist, email.message_from_string(
        'Subject: ?\n\nnothing\n', Message), rcpt)
    assert get_queue_messages('shunt') == []
    assert counted(mlist) == {'bounce-unrecognized': 1}
    assert len(get_queue_messages('virgin')) == 1


def test_backscatter_dropped_before_flufl_bounce(mlist):
    with mock.patch('mailman_antibackscatter.runners.bounce.all_failures'
                    ) as parse, \
            mock.patch('mailman_antibackscatter.runners.bounce.grace_active',
                       return_value=False):
        run_gate(mlist, dsn(ANNE), 'test-bounces@example.com')
        run_gate(mlist, dsn(ANNE), 'test-bounces+anne=example.org@example.com')
        run_gate(mlist, dsn(ANNE), None)
    assert not parse.called
    assert events() == []
    assert counted(mlist) == {'bounce-backscatter-dropped': 3}
    assert get_queue_messages('virgin') == []
    assert get_queue_messages('shunt') == []


def test_gate_error_shunts_and_never_scores_or_forwards(mlist):
    rcpt = sender_for(mlist, [ANNE])
    with mock.patch('mailman_antibackscatter.runners.bounce.check_tag',
                    side_effect=RuntimeError('boom')):
        run_gate(mlist, dsn(ANNE), rcpt)
    assert events() == []
    assert get_queue_messages('virgin') == []
    shunted = get_queue_messages('shunt')
    assert len(shunted) == 1
    # Replayed after the fix, it counts.
    item = shunted[0]
    run_gate(mlist, item.msg, item.msgdata[ENVELOPE_RCPT])
    assert events() == [(ANNE, 'normal')]


def test_probe_bounce_uses_mailmans_token(mlist):
    from mailman.app.bounces import send_probe
    member = mlist.members.get_member(ANNE)
    token = send_probe(member, message_id='<orig@example.com>')
    get_queue_messages('virgin')
    rcpt = sender_for(mlist, [ANNE],
                      sender='test-bounces+{}@example.com'.format(token),
                      probe_token=token)
    run_gate(mlist, dsn('whoever@example.net'), rcpt)
    # The token is used up: the same report again is a forgery.
    run_gate(mlist, dsn('whoever@example.net'), rcpt)
    assert events() == [(ANNE, 'probe')]
    assert counted(mlist) == {'bounce-probe': 1, 'bounce-forged-dropped': 1}


def test_grace_period_accepts_only_quoted_sent_message_ids(mlist):
    bounces.record_sent('<sent-1@example.com>', [ANNE], mlist.list_id)
    run_gate(mlist, dsn(ANNE, quoted_id='<sent-1@example.com>'),
             'test-bounces@example.com')
    # Quoting it for another member, or quoting an unknown id: dropped.
    run_gate(mlist, dsn(BOB, quoted_id='<sent-1@example.com>'),
             'test-bounces@example.com')
    run_gate(mlist, dsn(BOB, quoted_id='<never@example.com>'),
             'test-bounces@example.com')
    # Backscatter quoting nothing the list sent: dropped unparsed.
    with mock.patch('mailman_antibackscatter.runners.bounce.all_failures'
                    ) as parse:
        run_gate(mlist, dsn(ANNE, quoted_id='<spam@example.net>'),
                 'test-bounces@example.com')
    assert not parse.called
    assert events() == [(ANNE, 'normal')]
    assert counted(mlist) == {'bounce-grace-accepted': 1,
                              'bounce-backscatter-dropped': 3}
    # After the grace period nothing untagged counts.
    later = now() + timedelta(days=30)
    with mock.patch('mailman_antibackscatter.app.bounces.now',
                    return_value=later):
        run_gate(mlist, dsn(ANNE, quoted_id='<sent-1@example.com>'),
                 'test-bounces@example.com')
    assert counted(mlist)['bounce-backscatter-dropped'] == 4


def test_sent_record_pruned_by_age_and_cap(mlist):
    from mailman_antibackscatter.model.tables import SentMessage
    for number in range(30):
        bounces.record_sent('<m{}@example.com>'.format(number), [ANNE, BOB],
                            mlist.list_id)
    store = config.db.store
    assert store.query(SentMessage).count() == 90
    policy = dataclasses.replace(bounces.policy(), sent_record_max=25)
    bounces.prune_sent(policy)
    assert store.query(SentMessage).count() == 25
    # The newest rows are the ones kept.
    assert bounces.was_sent(['<m29@example.com>'], BOB)
    assert not bounces.was_sent(['<m0@example.com>'], ANNE)
    with mock.patch('mailman_antibackscatter.app.bounces.now',
                    return_value=now() + timedelta(days=60)):
        bounces.prune_sent(policy)
    assert store.query(SentMessage).count() == 0


def test_lmtp_records_the_envelope_recipient_of_each_bounce(mlist):
    """One LMTP transaction to the list and two -bounces addresses."""
    from types import SimpleNamespace
    from mailman_antibackscatter.runners.lmtp import AuthenticatingLMTPHandler
    tagged = sender_for(mlist, [ANNE])
    envelope = SimpleNamespace(
        content=b'From: x@example.org\r\nTo: y\r\nSubject: s\r\n'
                b'Message-ID: <lmtp@example.org>\r\n\r\nhi\r\n',
        mail_from='', rcpt_tos=['test@example.com', tagged.upper(),
                                'test-bounces@example.com'])
    handler = AuthenticatingLMTPHandler(workers=1)
    status = handler._handle_DATA(None, None, envelope)
    assert status.split('\r\n') == ['250 Ok'] * 3
    assert envelope.rcpt_tos[1] == tagged.upper()
    queued = get_queue_messages('bounces')
    assert sorted(item.msgdata[ENVELOPE_RCPT] for item in queued) == sorted(
        [tagged.lower(), 'test-bounces@example.com'])
    posts = get_queue_messages('in')
    assert len(posts) == 1 and ENVELOPE_RCPT not in posts[0].msgdata
    # The stock switchboard is back in place.
    assert type(config.switchboards['bounces']).__name__ == 'Switchboard'


def test_grace_period_reads_mailmans_smtp_log_for_mail_sent_before(mlist):
    """Reports of mail sent before the plugin: Mailman's smtp.log says so."""
    import os
    from mailman_antibackscatter.app.keys import update_ring
    update_ring(config.VAR_DIR,
                lambda ring: dataclasses.replace(ring, imported=None))
    path = os.path.join(config.LOG_DIR, 'smtp.log')
    with open(path, 'a') as log:
        log.write(
            'Nov 20 10:00:00 2026 (123) <old-post@example.com> smtp to '
            'test@example.com for 2 recips, completed in 0.1 seconds\n'
            'Nov 20 10:00:01 2026 (123) <other-list@example.com> smtp to '
            'other@example.com for 9 recips, completed in 0.1 seconds\n')
    assert bounces.import_smtp_log_once() == 1
    assert bounces.import_smtp_log_once() is None       # only once
    for failed, quoted in ((ANNE, '<old-post@example.com>'),
                           ('stranger@example.net', '<old-post@example.com>'),
                           (BOB, '<other-list@example.com>')):
        run_gate(mlist, dsn(failed, quoted_id=quoted),
                 'test-bounces@example.com')
    assert events() == [(ANNE, 'normal')]
    assert counted(mlist) == {'bounce-grace-accepted': 1,
                              'bounce-backscatter-dropped': 2}


def test_broken_key_file_sends_untagged_and_says_so(mlist, caplog):
    """Delivery must not stop because the key file cannot be read."""
    from mailman_antibackscatter.auth.returnpath import KeyFileError
    with mock.patch('mailman_antibackscatter.app.bounces.signing_ring',
                    side_effect=KeyFileError('line 2: unknown line')), \
            caplog.at_level('ERROR', logger='mailman.antibackscatter'):
        sender = sender_for(mlist, [ANNE, BOB])
    assert sender == 'test-bounces@example.com'
    assert 'NOT SIGNING' in caplog.text and '<x@example.com>' in caplog.text


def test_verp_report_with_a_temporary_failure_is_temporary(mlist):
    """As Mailman: a VERP'd report listing any temporary failure is ignored."""
    mixed = dsn(ANNE)
    status = next(part for part in mixed.walk()
                  if part.get_content_type() == 'message/delivery-status')
    status.get_payload().append(email.message_from_string(
        'Final-Recipient: rfc822; other@example.org\nAction: delayed\n'
        'Status: 4.4.1\n'))
    run_gate(mlist, mixed, sender_for(mlist, [ANNE]))
    assert events() == []
    assert counted(mlist) == {'bounce-temporary': 1}


def test_unparseable_dsn_is_unrecognized_not_an_autoreply(mlist):
    report = email.message_from_string(
        'From: MAILER-DAEMON@mx.example.org\nTo: x\nSubject: failed\n'
        'Auto-Submitted: auto-replied\nMessage-ID: <odd@mx.example.org>\n'
        'MIME-Version: 1.0\nContent-Type: multipart/report; '
        'report-type=delivery-status; boundary="B"\n\n--B\n'
        'Content-Type: text/plain\n\nsomething went wrong\n--B--\n',
        Message)
    run_gate(mlist, report, sender_for(mlist, [ANNE]))
    assert counted(mlist) == {'bounce-unrecognized': 1}


def test_broken_key_file_never_stops_delivery(mlist, caplog):
    """deliver() itself (not only the agents) goes on without the keys:
    the grace-period record must not raise either."""
    import os
    from mailman_antibackscatter.app import list_policy
    # One transaction per recipient: every one goes out.
    list_policy.update(mlist, dict(per_recipient_return_path=True))
    from mailman_antibackscatter.mta.deliver import deliver
    from mailman_antibackscatter.app.keys import key_path, read_ring
    read_ring(config.VAR_DIR)
    path = key_path(config.VAR_DIR)
    with open(path) as stream:
        saved = stream.read()
    msg = Message()
    msg['Message-ID'] = '<broken-keys@example.com>'
    msg['Subject'] = 'hi'
    msg.set_payload('hello\n')
    sent = []
    try:
        for broken in ('tag zz not-hex 1\n', 'grace-start \u00e9t\u00e9\n'):
            with open(path, 'w', encoding='utf-8') as stream:
                stream.write(broken)
            with mock.patch('mailman.mta.connection.Connection.sendmail',
                            lambda self, sender, rcpts, text: sent.append(
                                sender) or {}), \
                    caplog.at_level('ERROR',
                                    logger='mailman.antibackscatter'):
                deliver(mlist, msg, dict(recipients=[ANNE, BOB]))
    finally:
        with open(path, 'w') as stream:
            stream.write(saved)
        os.utime(path)
    assert len(sent) == 4
    assert all(re.match(r'^test-bounces(\+\w+=example\.org)?@example\.com$',
                        s) for s in sent), sent
    assert 'NOT SIGNING' in caplog.text
    assert 'not-hex' not in caplog.text


def test_bounces_report_counts_summarized_unrecognized_reports(mlist):
    """`mailman antibackscatter bounces`: every bounce reason has a column."""
    from click.testing import CliRunner
    from mailman_antibackscatter.commands.cli_antibackscatter import (
        BOUNCE_COLUMNS, antibackscatter)
    reasons = decisions._GENUINE_BOUNCES | {
        'bounce-backscatter-dropped', 'bounce-forged-dropped'}
    decisions.count(mlist.list_id, 'bounce-unrecognized', 1)
    decisions.count(mlist.list_id, 'bounce-unrecognized-summarized', 2)
    config.db.commit()
    result = CliRunner().invoke(antibackscatter, ['bounces', mlist.list_id])
    assert result.exit_code == 0, result.output
    header, row = result.output.splitlines()[:2]
    column = header.split().index('unrecognized')
    assert row.split()[column] == '3'
    columned = {r for _, names in BOUNCE_COLUMNS for r in names}
    assert not set(reasons) - columned


def test_pruning_during_delivery_flushes_nothing_of_mailmans(mlist):
    """record_sent prunes inside its savepoint (model.savepoint): only Core
    statements there, so Mailman's pending ORM changes are not flushed into
    a savepoint the plugin may roll back."""
    from mailman.model.bounce import BounceEvent
    from mailman.interfaces.bounce import BounceContext
    pending = BounceEvent(mlist.list_id, ANNE, Message(),
                          BounceContext.normal)
    config.db.store.add(pending)
    with mock.patch.object(bounces, '_inserted', bounces.PRUNE_EVERY):
        bounces.record_sent('<prune@example.com>', [ANNE], mlist.list_id)
    assert pending in config.db.store.new
    assert bounces.was_sent(['<prune@example.com>'], ANNE)


def test_smtp_log_import_retried_after_a_database_failure(mlist):
    """A failed first import must not leave the key file saying "done"
    (then bounces of mail sent before the plugin are dropped for the whole
    grace period): the runner tries again at its next idle moment."""
    import os
    from mailman_antibackscatter.app.keys import read_ring, update_ring
    update_ring(config.VAR_DIR,
                lambda ring: dataclasses.replace(ring, imported=None))
    with open(os.path.join(config.LOG_DIR, 'smtp.log'), 'a') as log:
        log.write('Nov 20 10:00:00 2026 (123) <before@example.com> smtp to '
                  'test@example.com for 2 recips, completed in 0.1 '
                  'seconds\n')
    runner = make_testable_runner(GatedBounceRunner, 'bounces')
    real_commit = config.db.commit
    calls = []

    def failing_commit():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError('database is locked')
        real_commit()
    with mock.patch('mailman.core.runner.Runner._snooze'), \
            mock.patch.object(config.db, 'commit', failing_commit):
        runner._snooze(0)
        config.db.abort()
        assert read_ring(config.VAR_DIR).imported is None
        runner._snooze(0)
    assert read_ring(config.VAR_DIR).imported is not None
    run_gate(mlist, dsn(ANNE, quoted_id='<before@example.com>'),
             'test-bounces@example.com')
    assert events() == [(ANNE, 'normal')]


def test_no_database_write_lock_held_during_smtp_delivery(mlist):
    """On SQLite a write holds the whole database until Mailman commits:
    the grace-period record written before delivery made every other
    runner wait (and fail with "database is locked") for as long as the
    SMTP transactions of a big list took.  It is written afterwards."""
    from mailman_antibackscatter.app import list_policy
    from mailman_antibackscatter.model.tables import SentMessage
    from mailman_antibackscatter.mta.deliver import deliver
    # One transaction per recipient, so a write lock would show twice.
    list_policy.update(mlist, dict(per_recipient_return_path=True))
    store = config.db.store
    if store.get_bind().dialect.name != 'sqlite':
        pytest.skip('SQLite locking')
    locked = []

    def sendmail(self, sender, rcpts, text):
        locked.append(store.connection().connection.dbapi_connection
                      .in_transaction)
        return {}
    for number in range(2):
        # (Mailman's decorate handler adds the list's archiver rows on its
        # first delivery: that write is Mailman's own.)
        store.commit()
        del locked[:]
        msg = Message()
        msg['Message-ID'] = '<locked-{}@example.com>'.format(number)
        msg.set_payload('hello\n')
        with mock.patch('mailman.mta.connection.Connection.sendmail',
                        sendmail):
            deliver(mlist, msg, dict(recipients=[ANNE, BOB]))
    assert locked == [False, False]
    assert store.query(SentMessage).count() == 6
    assert bounces.was_sent(['<locked-1@example.com>'], BOB)


def test_grace_verp_report_with_a_temporary_failure_is_not_scored(mlist):
    """The grace path follows the same rule as a tagged VERP report (and
    Mailman): any temporary failure in it makes the report temporary."""
    bounces.record_sent('<pre-verp@example.com>', [ANNE], mlist.list_id)
    mixed = dsn(ANNE, quoted_id='<pre-verp@example.com>')
    status = next(part for part in mixed.walk()
                  if part.get_content_type() == 'message/delivery-status')
    status.get_payload().append(email.message_from_string(
        'Final-Recipient: rfc822; other@example.org\nAction: delayed\n'
        'Status: 4.4.1\n'))
    run_gate(mlist, mixed, 'test-bounces+anne=example.org@example.com')
    assert events() == []
    assert counted(mlist) == {'bounce-temporary': 1}


def test_list_policy_is_read_once_per_interval(mlist):
    from mailman_antibackscatter.app import list_policy
    from mailman_antibackscatter.runners import bounce as gate_module
    runner = make_testable_runner(GatedBounceRunner, 'bounces')
    assert runner.list_policy(mlist).enabled is True
    list_policy.update(mlist, dict(enabled=False))
    # Remembered: the switch reaches the gate within POLICY_SECONDS.
    assert runner.list_policy(mlist).enabled is True
    with mock.patch.object(gate_module.time, 'monotonic',
                           return_value=time.monotonic()
                           + gate_module.POLICY_SECONDS + 1):
        assert runner.list_policy(mlist).enabled is False


def test_a_missing_key_file_is_an_error_that_names_it(mlist, tmp_path):
    """A lost key file must not be replaced silently: a new key would
    invalidate every return-path tag still out there."""
    from mailman_antibackscatter.app.keys import KEY_FILE, read_ring
    from mailman_antibackscatter.auth.returnpath import KeyFileError
    path = tmp_path / KEY_FILE
    with pytest.raises(KeyFileError) as error:
        read_ring(str(tmp_path))
    assert str(path) in str(error.value)
    assert 'keys generate' in str(error.value)
    assert not path.exists()


def test_keys_generate_makes_a_file_only_its_owner_can_read(mlist,
                                                          tmp_path):
    """install.md: the key file is readable by Mailman's user only."""
    import os
    import stat
    from mailman_antibackscatter.app.keys import KEY_FILE, generate
    ring, created = generate(str(tmp_path), 20000, 10)
    assert created and ring.current is not None
    mode = stat.S_IMODE(os.stat(tmp_path / KEY_FILE).st_mode)
    assert mode == 0o600, oct(mode)


def test_a_missing_key_file_is_a_configuration_problem(mlist, tmp_path,
                                                      caplog):
    import os
    from mailman_antibackscatter.app import status
    from mailman_antibackscatter.app.keys import KEY_FILE
    path = os.path.join(config.VAR_DIR, KEY_FILE)
    os.rename(path, str(tmp_path / KEY_FILE))
    try:
        problems = status.status()['configuration_problems']
        # Delivery goes on, untagged, and says why.
        with caplog.at_level('ERROR', logger='mailman.antibackscatter'):
            sender = sender_for(mlist, [ANNE])
        assert not os.path.exists(path)
    finally:
        os.rename(str(tmp_path / KEY_FILE), path)
    assert any(path in problem and 'keys generate' in problem
               for problem in problems), problems
    assert sender == 'test-bounces+anne=example.org@example.com'
    assert 'NOT SIGNING' in caplog.text and path in caplog.text
    assert not any(path in p for p in status.status()[
        'configuration_problems'])


def _door_delivery(received_age, rcpt):
    """One LMTP delivery of a command from a domain whose DNS fails
    (SERVFAIL), received by our MTA *received_age* ago; the replies."""
    import asyncio
    import email.utils
    from types import SimpleNamespace
    from mailman_antibackscatter.runners.lmtp import AuthenticatingLMTPHandler
    received = email.utils.format_datetime(
        datetime.now(timezone.utc) - received_age)
    raw = ('Received: from mx.dnsfail.example (mx.dnsfail.example '
           '[198.51.100.20])\r\n\tby lists.example.com (Postfix) with ESMTP'
           ' id 1; {}\r\nFrom: carol@dnsfail.example\r\nTo: {}\r\n'
           'Subject: help\r\nMessage-ID: <defer-{}@dnsfail.example>\r\n\r\n'
           'help\r\n').format(received, rcpt, received_age.seconds)
    envelope = SimpleNamespace(
        content=raw.encode('ascii'), original_content=None,
        mail_from='carol@dnsfail.example', rcpt_tos=[rcpt])
    session = SimpleNamespace(peer=('127.0.0.1', 4711), host_name='mx')
    handler = AuthenticatingLMTPHandler(workers=1)
    return asyncio.run(handler.handle_DATA(None, session, envelope))


def test_dns_deferral_at_the_door_is_bounded(mlist, dns, caplog):
    """451 for a while, so the MTA retries; past [door] command_defer_limit
    accepted (and set aside unanswered), so the MTA never gives up and
    bounces it to a sender nobody could prove."""
    dns.servfail('dnsfail.example')
    try:
        fresh = _door_delivery(timedelta(minutes=5), 'test-request@example.com')
        with caplog.at_level('INFO', logger='mailman.antibackscatter'):
            old = _door_delivery(timedelta(hours=5),
                                 'test-request@example.com')
    finally:
        dns.clear_faults()
    assert fresh.startswith('451 4.4.3')
    assert old.startswith('250')
    assert 'accepting' in caplog.text
    queued = get_queue_messages('command')
    assert len(queued) == 1
    assert verdict_of(queued[0].msgdata).from_status.value == 'temperror'


@pytest.fixture
def no_key_file(mlist, tmp_path):
    """The site never ran `keys generate` (or lost the file)."""
    import os
    from mailman_antibackscatter.app.keys import KEY_FILE
    path = os.path.join(config.VAR_DIR, KEY_FILE)
    tagged = sender_for(mlist, [ANNE])      # made while the key existed
    os.rename(path, str(tmp_path / KEY_FILE))
    yield tagged
    os.rename(str(tmp_path / KEY_FILE), path)


def test_without_a_key_file_reports_are_checked_as_in_the_grace_period(
        mlist, no_key_file, caplog):
    """Nothing is signed without a key file, so every return path is
    untagged: reports must then count as during the roll-out (quoting a
    Message-ID the list sent to that member), not be shunted one by one."""
    sender = sender_for(mlist, [ANNE], message_id='<nokey-1@example.com>')
    assert sender == 'test-bounces+anne=example.org@example.com'
    bounces.record_sent('<nokey-1@example.com>', [ANNE], mlist.list_id)
    run_gate(mlist, dsn(ANNE, quoted_id='<nokey-1@example.com>'),
             'test-bounces@example.com')
    run_gate(mlist, dsn(BOB, quoted_id='<spam@example.net>'),
             'test-bounces@example.com')
    assert events() == [(ANNE, 'normal')]
    assert counted(mlist) == {'bounce-grace-accepted': 1,
                              'bounce-backscatter-dropped': 1}
    assert get_queue_messages('shunt') == []


def test_without_a_key_file_a_tagged_report_is_kept_for_replay(
        mlist, no_key_file, caplog):
    """A tag cannot be checked without its key: the report is kept in the
    shunt queue with a one-line reason naming the file and the way back."""
    with caplog.at_level('ERROR', logger='mailman.antibackscatter'):
        run_gate(mlist, dsn(ANNE), no_key_file)
    assert events() == []
    shunted = get_queue_messages('shunt')
    assert len(shunted) == 1
    lines = [r.getMessage() for r in caplog.records
             if 'key file' in r.getMessage()]
    assert lines and 'unshunt' in lines[0] and '\n' not in lines[0], lines
