"""No readable verdict, no trust: a post whose author is not one proven
address is held quietly and never becomes a member post."""

import email

from mailman.email.message import Message
from mailman.interfaces.requests import IListRequests
from mailman.testing.helpers import get_queue_messages
from mailman_antibackscatter.app.trigger import Trigger, answering
from mailman_antibackscatter.auth import Verdict
from mailman_antibackscatter.rules.moderation import author_senders

from tests.component.helpers import SPAMMER, incoming, recipients_of
from tests.component.test_guard import list_with_anne, run_incoming


def held_quietly(mlist):
    """The post is held, nobody is told, nothing is distributed or shunted."""
    assert get_queue_messages('pipeline') == []
    assert get_queue_messages('shunt') == []
    assert recipients_of('virgin') == []
    assert IListRequests(mlist).count == 1


def test_two_from_headers_are_not_a_member_post(mailman, dns):
    mlist = list_with_anne()
    mlist.admin_immed_notify = True
    msg, verdict = incoming(
        dns, sender='anne@example.org', to='test@example.com',
        client=SPAMMER, headers=['From: someone@plain.example'])
    assert verdict.from_address is None
    run_incoming(mlist, msg)
    held_quietly(mlist)


def test_no_from_header_is_held_quietly(mailman, dns):
    mlist = list_with_anne()
    mlist.admin_immed_notify = True
    msg, verdict = incoming(dns, sender='anne@example.org',
                            to='test@example.com', without_from=True)
    assert 'From' not in msg and verdict.from_address is None
    assert verdict.spf.result == 'pass'     # the envelope sender is proven
    run_incoming(mlist, msg)
    held_quietly(mlist)


def test_message_without_a_readable_verdict_is_held_quietly(mailman, dns):
    mlist = list_with_anne()
    mlist.admin_immed_notify = True
    msg = email.message_from_bytes(
        b'From: anne@example.org\r\nTo: test@example.com\r\n'
        b'Subject: no door\r\nMessage-ID: <nodoor@example.org>\r\n\r\nHi\r\n',
        Message)
    msg.set_unixfrom('anne@example.org')
    run_incoming(mlist, msg)
    held_quietly(mlist)


def test_eight_bit_from_is_not_shunted(mailman, dns):
    mlist = list_with_anne()
    msg, verdict = incoming(dns, sender='j\u00f6rg@plain.example',
                            to='test@example.com',
                            mail_from='anne@example.org', client=SPAMMER)
    assert verdict.from_address == 'j\u00f6rg@plain.example'
    run_incoming(mlist, msg)
    assert get_queue_messages('shunt') == []
    assert get_queue_messages('pipeline') == []
    assert IListRequests(mlist).count == 1


def test_membership_never_falls_back_to_the_first_sender(mailman, dns):
    mlist = list_with_anne()
    msg, _ = incoming(dns, sender='anne@example.org', to='test@example.com',
                      headers=['From: someone@plain.example'])
    for verdict in (None, Verdict(mail_from='anne@example.org')):
        with answering(Trigger(mlist.list_id, '<x@y>', verdict, 'runner:in')):
            senders = author_senders(msg, mlist)
        assert senders and 'anne@example.org' not in senders
