"""Delivery reports and auto-replies sent to the list's own addresses are
backscatter of spam that forged the list: dropped quietly and counted."""

from mailman.app.lifecycle import create_list
from mailman.interfaces.requests import IListRequests
from mailman.testing.helpers import get_queue_messages
from mailman.utilities.datetime import now
from mailman_antibackscatter.app import list_policy, summary
from mailman_antibackscatter.runners.command import AuthenticatedCommandRunner
from mailman.runners.incoming import IncomingRunner

from tests.component.helpers import incoming, recipients_of
from tests.component.test_decisions import reasons, run

DSN_TYPE = ['MIME-Version: 1.0',
            'Content-Type: multipart/report; report-type=delivery-status;'
            ' boundary="b"']
DSN_BODY = ('--b\nContent-Type: text/plain\n\nUndeliverable.\n'
            '--b\nContent-Type: message/delivery-status\n\n'
            'Reporting-MTA: dns; mx.example.org\n\n'
            'Final-Recipient: rfc822; nobody@example.org\n'
            'Action: failed\nStatus: 5.1.1\n--b--\n')


def a_list():
    mlist = create_list('test@example.com')
    mlist.admin_immed_notify = True
    recipients_of('virgin')
    return mlist


def dsn(dns, to, **kws):
    msg, _ = incoming(dns, sender='MAILER-DAEMON@example.org', to=to,
                      subject='Undelivered Mail Returned to Sender',
                      headers=DSN_TYPE, body=DSN_BODY, **kws)
    return msg


def nothing_happened(mlist):
    assert get_queue_messages('pipeline') == []
    assert get_queue_messages('shunt') == []
    assert recipients_of('virgin') == []
    assert IListRequests(mlist).count == 0


def test_dsn_to_the_posting_address_is_dropped(mailman, dns):
    mlist = a_list()
    run(IncomingRunner, 'in', mlist, dsn(dns, 'test@example.com',
                                         mail_from=''), to_list=True)
    nothing_happened(mlist)
    assert reasons(mlist) == {'list-backscatter-dsn': 1}


def test_report_with_a_sender_is_a_dsn_too(mailman, dns):
    mlist = a_list()
    run(IncomingRunner, 'in', mlist, dsn(dns, 'test@example.com'),
        to_list=True)
    nothing_happened(mlist)
    assert reasons(mlist) == {'list-backscatter-dsn': 1}


def test_auto_reply_to_the_owner_address_is_not_forwarded(mailman, dns):
    mlist = a_list()
    reply, _ = incoming(dns, sender='bob@example.org',
                        to='test-owner@example.com', sign=True,
                        subject='Out of office',
                        headers=['Auto-Submitted: auto-replied'])
    run(IncomingRunner, 'in', mlist, reply, subaddress='owner',
        to_owner=True, envsender='noreply@example.com')
    nothing_happened(mlist)
    assert reasons(mlist) == {'list-backscatter-auto-reply': 1}


def test_vacation_reply_to_the_request_address_is_not_answered(mailman, dns):
    mlist = a_list()
    reply, _ = incoming(dns, sender='bob@example.org',
                        to='test-request@example.com', sign=True,
                        subject='help', body='help\n',
                        headers=['X-Autoreply: yes'])
    run(AuthenticatedCommandRunner, 'command', mlist, reply,
        subaddress='request')
    nothing_happened(mlist)
    assert reasons(mlist) == {'list-backscatter-auto-reply': 1}


def test_ordinary_mail_is_not_backscatter(mailman, dns):
    mlist = a_list()
    post, _ = incoming(dns, sender='bob@example.org', to='test@example.com',
                       sign=True, headers=['Auto-Submitted: no'])
    run(IncomingRunner, 'in', mlist, post, to_list=True)
    assert IListRequests(mlist).count == 1         # held as a nonmember
    assert 'list-backscatter-auto-reply' not in reasons(mlist)


def test_the_owner_summary_counts_it(mailman, dns):
    mlist = a_list()
    list_policy.update(mlist, dict(owner_notices='summary'))
    run(IncomingRunner, 'in', mlist, dsn(dns, 'test@example.com',
                                         mail_from=''), to_list=True)
    report = summary.compose(mlist, moment=now())
    assert report.counts['backscatter_to_list'] == 1
    assert 'the list\'s own addresses' in report.text()
