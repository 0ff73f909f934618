"""Reject, -owner, commands and moderator decisions with real verdicts."""

import email.utils

from mailman.app.lifecycle import create_list
from mailman.config import config
from mailman.app import moderator
from mailman.interfaces.action import Action
from mailman.interfaces.requests import IListRequests
from mailman.interfaces.usermanager import IUserManager
from mailman.runners.command import CommandRunner
from mailman.runners.incoming import IncomingRunner
from mailman.testing.helpers import get_queue_messages, make_testable_runner
from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.runners.command import AuthenticatedCommandRunner
from zope.component import getUtility

from tests.component.helpers import SPAMMER, enqueue, incoming, recipients_of


def run(runner_class, queue, mlist, msg, **msgdata):
    enqueue(queue, mlist, msg, **msgdata)
    make_testable_runner(runner_class, queue).run()


def reasons(mlist):
    return {r: c for (l, r), c in decisions.totals(mlist.list_id).items()}


def test_reject_of_a_forgery_is_a_quiet_discard(mailman, dns):
    mlist = create_list('test@example.com')
    mlist.default_nonmember_action = Action.reject
    forged, _ = incoming(dns, sender='victim@victim.example',
                         to='test@example.com', client=SPAMMER)
    run(IncomingRunner, 'in', mlist, forged, to_list=True)
    assert recipients_of('virgin') == []
    assert IListRequests(mlist).count == 0
    assert reasons(mlist) == {'reject-unproven-discarded': 1}


def test_reject_of_a_proven_sender_still_bounces(mailman, dns):
    mlist = create_list('test@example.com')
    mlist.default_nonmember_action = Action.reject
    good, _ = incoming(dns, sender='bob@example.org', to='test@example.com',
                       sign=True)
    run(IncomingRunner, 'in', mlist, good, to_list=True)
    assert [r for r, _ in recipients_of('virgin')] == [{'bob@example.org'}]


def test_forged_mail_to_owner_is_held_quietly(mailman, dns):
    # DMARC failure is evidence, not proof (a forwarded message from a
    # p=reject domain fails too): by default it is held, never dropped.
    mlist = create_list('test@example.com')
    mlist.admin_immed_notify = True
    recipients_of('virgin')
    forged, _ = incoming(dns, sender='victim@victim.example',
                         to='test-owner@example.com', client=SPAMMER)
    run(IncomingRunner, 'in', mlist, forged, subaddress='owner',
        to_owner=True, envsender='noreply@example.com')
    assert get_queue_messages('pipeline') == []
    assert IListRequests(mlist).count == 1
    assert recipients_of('virgin') == []
    unknown, _ = incoming(dns, sender='someone@plain.example',
                          to='test-owner@example.com')
    run(IncomingRunner, 'in', mlist, unknown, subaddress='owner',
        to_owner=True, envsender='noreply@example.com')
    assert len(get_queue_messages('pipeline')) == 1
    # The hold chain's notices were stopped at the exit.
    assert reasons(mlist) == {'owner-forged-held': 1,
                              'answer-suppressed-fail': 1,
                              'owner-notice-suppressed-fail': 1}


def test_commands_of_an_unproven_sender_are_ignored(mailman, dns):
    mlist = create_list('test@example.com')
    for sender, kws in (('victim@victim.example', dict(client=SPAMMER)),
                        ('someone@plain.example', {})):
        msg, _ = incoming(dns, sender=sender, to='test-join@example.com',
                          **kws)
        run(AuthenticatedCommandRunner, 'command', mlist, msg,
            subaddress='join')
    assert recipients_of('virgin') == []
    assert getUtility(IUserManager).get_address('victim@victim.example') \
        is None or mlist.members.get_member('victim@victim.example') is None
    assert reasons(mlist) == {'command-ignored-fail': 1,
                              'command-ignored-none': 1}


def test_commands_of_a_proven_sender_are_answered(mailman, dns):
    mlist = create_list('test@example.com')
    msg, _ = incoming(dns, sender='bob@example.org', sign=True,
                      to='test-request@example.com', subject='help')
    run(AuthenticatedCommandRunner, 'command', mlist, msg,
        subaddress='request', to_request=True)
    assert [r for r, _ in recipients_of('virgin')] == [{'bob@example.org'}]


def test_stock_command_runner_would_have_answered_the_forgery(mailman, dns):
    """The backscatter the plugin's command runner exists to stop."""
    mlist = create_list('test@example.com')
    msg, _ = incoming(dns, sender='someone@plain.example',
                      to='test-request@example.com', subject='help',
                      )
    # With the stock runner only the exit guard stands in the way.
    run(CommandRunner, 'command', mlist, msg, subaddress='request',
        to_request=True)
    assert recipients_of('virgin') == []
    assert reasons(mlist) == {'answer-suppressed-none': 1}


def test_moderator_reject_reads_the_held_verdict(mailman, dns):
    mlist = create_list('test@example.com')
    mlist.admin_immed_notify = False
    for sender, kws in (('victim@victim.example', dict(client=SPAMMER)),
                        ('bob@example.org', dict(sign=True))):
        msg, _ = incoming(dns, sender=sender, to='test@example.com', **kws)
        run(IncomingRunner, 'in', mlist, msg, to_list=True)
    recipients_of('virgin')                 # bob's hold notice
    requests = IListRequests(mlist)
    for request in list(requests.held_requests):
        # Looked up at call time, as Mailman's REST module does after the
        # plugin rebound it.
        moderator.handle_message(mlist, request.id, Action.reject, 'No spam')
    assert [r for r, _ in recipients_of('virgin')] == [{'bob@example.org'}]


def test_dns_trouble_shunts_a_command_and_unshunt_retries_it(mailman, dns):
    from mailman.config import config
    mlist = create_list('test@example.com')
    dns.add('slow.example', 'TXT', 'v=spf1 ip4:192.0.2.0/24 -all')
    dns.blackhole('slow.example')
    try:
        msg, verdict = incoming(dns, sender='sam@slow.example',
                                to='test-request@example.com',
                                subject='help')
    finally:
        dns.clear_faults()
    assert verdict.status.value == 'temperror'
    run(AuthenticatedCommandRunner, 'command', mlist, msg,
        subaddress='request', to_request=True)
    assert recipients_of('virgin') == []
    shunted = get_queue_messages('shunt')
    assert len(shunted) == 1
    # What `mailman unshunt` does: back to the queue it came from.
    item = shunted[0]
    config.switchboards[item.msgdata['whichq']].enqueue(
        item.msg, item.msgdata)
    make_testable_runner(AuthenticatedCommandRunner, 'command').run()
    assert [r for r, _ in recipients_of('virgin')] == [{'sam@slow.example'}]


def test_content_filter_reject_bounces_only_to_a_proven_member(mailman, dns):
    """Path 2b: RejectMessage raised in the pipeline (filter_action=reject)."""
    from mailman.interfaces.action import FilterAction
    from mailman.runners.pipeline import PipelineRunner
    mlist = create_list('test@example.com')
    mlist.filter_content = True
    mlist.filter_action = FilterAction.reject
    mlist.filter_types = ['text/html']
    html = ['MIME-Version: 1.0', 'Content-Type: text/html']
    for sender, kws in (('someone@plain.example', {}),
                        ('bob@example.org', dict(sign=True))):
        msg, _ = incoming(dns, sender=sender, to='test@example.com',
                          body='<p>hi</p>\n', headers=html, **kws)
        run(PipelineRunner, 'pipeline', mlist, msg, to_list=True)
    assert [r for r, _ in recipients_of('virgin')] == [{'bob@example.org'}]
    # The bounce to bob is counted as sent, by the runner that sent it.
    assert reasons(mlist) == {'answer-suppressed-none': 1,
                              'notice-sent-pipeline': 1}


def test_a_verdict_header_written_by_anybody_else_proves_nothing(mailman, dns):
    """Without the site's seal, a perfect-looking PASS header is ignored."""
    import email as email_module
    from mailman.email.message import Message
    from mailman_antibackscatter.auth import Status, Verdict, render_verdict
    from tests.component.conftest import AUTHSERV_ID
    mlist = create_list('test@example.com')
    forged_verdict = Verdict(from_address='victim@victim.example',
                             from_status=Status.PASS, reason='trust me')
    header = render_verdict(forged_verdict, AUTHSERV_ID)
    msg = email_module.message_from_string(
        'Authentication-Results: {}\nFrom: victim@victim.example\n'
        'To: test-join@example.com\nMessage-ID: <forged-ar@x>\n'
        'Subject: join\n\n'.format(header), Message)
    msg.original_size = 100
    run(AuthenticatedCommandRunner, 'command', mlist, msg, subaddress='join')
    assert recipients_of('virgin') == []
    assert mlist.members.get_member('victim@victim.example') is None
    assert reasons(mlist) == {'command-ignored-no-verdict': 1}


def test_the_doors_own_header_without_the_doors_msgdata_proves_nothing(
        mailman, dns):
    """A message queued past the door (`mailman inject`, REST) carrying
    the header the door wrote on a genuine message: not proven."""
    mlist = create_list('test@example.com')
    msg, verdict = incoming(dns, sender='bob@example.org',
                            to='test-join@example.com', subject='join',
                            sign=True)
    assert verdict.status.value == 'pass'
    config.switchboards['command'].enqueue(
        msg, listid=mlist.list_id, subaddress='join', original_size=100)
    make_testable_runner(AuthenticatedCommandRunner, 'command').run()
    assert recipients_of('virgin') == []
    assert reasons(mlist) == {'command-ignored-no-verdict': 1}


def test_moderator_forward_reaches_the_chosen_address(mailman, dns):
    mlist = create_list('test@example.com')
    mlist.admin_immed_notify = False
    msg, _ = incoming(dns, sender='victim@victim.example',
                      to='test@example.com', client=SPAMMER)
    run(IncomingRunner, 'in', mlist, msg, to_list=True)
    request = list(IListRequests(mlist).held_requests)[0]
    moderator.handle_message(mlist, request.id, Action.discard,
                             forward=['expert@elsewhere.example'])
    assert [r for r, _ in recipients_of('virgin')] == [
        {'expert@elsewhere.example'}]


def test_forged_post_from_an_owners_own_address_gets_no_notice(mailman, dns):
    mlist = create_list('test@example.com')
    mlist.admin_immed_notify = False
    owner = getUtility(IUserManager).create_address('boss@victim.example')
    from mailman.interfaces.member import MemberRole
    mlist.subscribe(owner, MemberRole.owner)
    recipients_of('virgin')
    msg, _ = incoming(dns, sender='boss@victim.example',
                      to='test@example.com', client=SPAMMER)
    run(IncomingRunner, 'in', mlist, msg, to_list=True)
    assert recipients_of('virgin') == []


def test_content_filter_reject_holds_on_dns_trouble(mailman, dns):
    from mailman.interfaces.action import FilterAction
    from mailman.runners.pipeline import PipelineRunner
    mlist = create_list('test@example.com')
    mlist.filter_content = True
    mlist.filter_action = FilterAction.reject
    mlist.filter_types = ['text/html']
    dns.blackhole('slow2.example')
    try:
        msg, verdict = incoming(
            dns, sender='sue@slow2.example', to='test@example.com',
            body='<p>hi</p>\n',
            headers=['MIME-Version: 1.0', 'Content-Type: text/html'])
    finally:
        dns.clear_faults()
    assert verdict.status.value == 'temperror'
    run(PipelineRunner, 'pipeline', mlist, msg, to_list=True)
    assert recipients_of('virgin') == []
    assert IListRequests(mlist).count == 1
    assert reasons(mlist) == {'pipeline-reject-held-temperror': 1}


def door_command(dns, raw_from, rcpt, tag):
    """What the door's LMTP handler queues for one signed `help` from
    *raw_from*, handed over by the MTA on loopback without XFORWARD."""
    import asyncio
    from types import SimpleNamespace
    from mailman_antibackscatter.runners.lmtp import AuthenticatingLMTPHandler
    from tests.component.helpers import AUTHENTIC
    from tests.harness.signing import dkim_sign
    raw = ('Received: from {1} ({1} [{0}])\r\n\tby lists.example.com '
           '(Postfix) with ESMTP id 1; {2}\r\nFrom: {3}\r\nTo: {4}\r\n'
           'Subject: help\r\nMessage-ID: <door-{5}@example.org>\r\n\r\n'
           'help\r\n').format(AUTHENTIC[0], AUTHENTIC[1],
                              email.utils.formatdate(), raw_from, rcpt, tag)
    raw = dkim_sign(raw.encode('ascii'), 'example.org', 'sel', dns.key_pem)
    envelope = SimpleNamespace(content=raw, original_content=None,
                               mail_from=raw_from, rcpt_tos=[rcpt])
    session = SimpleNamespace(peer=('127.0.0.1', 4711), host_name='mx')
    handler = AuthenticatingLMTPHandler(workers=1)
    reply = asyncio.run(handler.handle_DATA(None, session, envelope))
    assert reply.startswith('250'), reply
    return get_queue_messages('command')


def test_with_the_door_off_a_proven_sender_is_not_answered(
        mailman, dns, monkeypatch):
    """install.md: mail that came in while `[door] enabled: no` has no
    verdict, so its commands are ignored, however authentic it is."""
    import dataclasses
    from mailman_antibackscatter.app.trigger import MSGDATA_KEY
    from mailman_antibackscatter.config import runtime
    mlist = create_list('test@example.com')
    answered = {}
    for door in (True, False):
        monkeypatch.setattr(runtime, '_settings', dataclasses.replace(
            runtime.get_settings(), door_enabled=door))
        queued = door_command(dns, 'bob@example.org',
                              'test-request@example.com', door)
        assert len(queued) == 1
        assert (MSGDATA_KEY in queued[0].msgdata) is door
        config.switchboards['command'].enqueue(
            queued[0].msg, queued[0].msgdata)
        make_testable_runner(AuthenticatedCommandRunner, 'command').run()
        answered[door] = [r for r, _ in recipients_of('virgin')]
    assert answered[True] == [{'bob@example.org'}]
    assert answered[False] == []
    assert reasons(mlist) == {'notice-sent-command': 1,
                              'command-ignored-no-verdict': 1}
