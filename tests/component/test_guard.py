"""The exit check, on Mailman's own runners and queues."""

from mailman.app.lifecycle import create_list
from mailman.email.message import UserNotification
from mailman.interfaces.usermanager import IUserManager
from mailman.runners.incoming import IncomingRunner
from mailman.testing.helpers import get_queue_messages, make_testable_runner
from mailman_antibackscatter.auth import Status
from mailman_antibackscatter.app.trigger import Trigger, answering
from zope.component import getUtility

from tests.component.helpers import (
    SPAMMER, enqueue, incoming, recipients_of)


def list_with_anne():
    """test@example.com with member anne@example.org, no owner notices."""
    mlist = create_list('test@example.com')
    mlist.admin_immed_notify = False
    anne = getUtility(IUserManager).create_address('anne@example.org')
    mlist.subscribe(anne)
    recipients_of('virgin')                     # the welcome message
    return mlist


def run_incoming(mlist, msg):
    enqueue('in', mlist, msg, to_list=True)
    make_testable_runner(IncomingRunner, 'in').run()


def test_verdicts_from_the_real_engine(mailman, dns):
    _, good = incoming(dns, sender='bob@example.org', to='x@example.com',
                       sign=True)
    _, forged = incoming(dns, sender='victim@victim.example',
                         to='x@example.com', client=SPAMMER)
    _, unknown = incoming(dns, sender='someone@plain.example',
                          to='x@example.com')
    assert good.status is Status.PASS
    assert forged.status is Status.FAIL
    assert unknown.status is Status.NONE


def test_hold_notice_only_to_a_proven_sender(mailman, dns):
    mlist = create_list('test@example.com')
    mlist.admin_immed_notify = False
    forged, _ = incoming(dns, sender='victim@victim.example',
                         to='test@example.com', client=SPAMMER)
    run_incoming(mlist, forged)
    assert recipients_of('virgin') == []
    authentic, _ = incoming(dns, sender='bob@example.org',
                            to='test@example.com', sign=True)
    run_incoming(mlist, authentic)
    assert [r for r, _ in recipients_of('virgin')] == [{'bob@example.org'}]


def test_owner_notice_not_sent_for_a_forgery(mailman, dns):
    mlist = create_list('test@example.com')
    mlist.admin_immed_notify = True
    mlist.respond_to_post_requests = False
    forged, _ = incoming(dns, sender='victim@victim.example',
                         to='test@example.com', client=SPAMMER)
    run_incoming(mlist, forged)
    assert recipients_of('virgin') == []
    unknown, _ = incoming(dns, sender='someone@plain.example',
                          to='test@example.com')
    run_incoming(mlist, unknown)
    assert [r for r, _ in recipients_of('virgin')] == [
        {'test-owner@example.com'}]


def test_no_trigger_means_not_an_answer(mailman):
    mlist = create_list('test@example.com')
    UserNotification('anyone@plain.example', 'test@example.com', 'hi',
                     'text').send(mlist)
    assert [r for r, _ in recipients_of('virgin')] == [
        {'anyone@plain.example'}]


def test_message_without_verdict_is_not_answered(mailman):
    mlist = create_list('test@example.com')
    with answering(Trigger(mlist.list_id, '<x@y>', None, 'runner:in')):
        UserNotification('anyone@plain.example', 'test@example.com', 'hi',
                         'text').send(mlist)
    assert recipients_of('virgin') == []


def test_rate_limit_per_recipient_and_domain(mailman, dns):
    # The session's configuration allows 3 per recipient, 5 per domain.
    mlist = create_list('test@example.com')
    _, verdict = incoming(dns, sender='bob@example.org', to='x@example.com',
                          sign=True)
    with answering(Trigger(mlist.list_id, '<x@y>', verdict, 'runner:in')):
        for _ in range(5):
            UserNotification('bob@example.org', 'test@example.com', 'hi',
                             'text').send(mlist)
    assert len(recipients_of('virgin')) == 3
    for sender in ('carl@example.org', 'dora@example.org'):
        _, verdict = incoming(dns, sender=sender, to='x@example.com',
                              sign=True)
        with answering(Trigger(mlist.list_id, '<x@y>', verdict, 'r')):
            for _ in range(2):
                UserNotification(sender, 'test@example.com', 'hi',
                                 'text').send(mlist)
    # 3 to bob already count against example.org's 5.
    assert len(recipients_of('virgin')) == 2


def test_forged_member_post_is_held_quietly(mailman, dns):
    mlist = list_with_anne()
    forged, _ = incoming(dns, sender='anne@example.org',
                         to='test@example.com', client=SPAMMER)
    run_incoming(mlist, forged)
    assert get_queue_messages('pipeline') == []
    assert recipients_of('virgin') == []
    from mailman.interfaces.requests import IListRequests
    assert IListRequests(mlist).count == 1
    authentic, _ = incoming(dns, sender='anne@example.org',
                            to='test@example.com', sign=True)
    run_incoming(mlist, authentic)
    assert len(get_queue_messages('pipeline')) == 1


def test_reply_to_naming_a_member_does_not_make_a_member_post(mailman, dns):
    mlist = list_with_anne()
    spam, _ = incoming(dns, sender='someone@plain.example',
                       to='test@example.com',
                       headers=['Reply-To: anne@example.org',
                                'Sender: anne@example.org'])
    run_incoming(mlist, spam)
    assert get_queue_messages('pipeline') == []     # held as a nonmember
