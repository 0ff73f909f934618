# Copyright (C) 2026 the mailman-antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Smoke test of the e2e harness against a stock Mailman (no plugin).

These tests document what an unprotected Mailman does: it answers whatever
the From: header says, forged or not.  The plugin's own e2e tests turn the
first and third of these around.
"""

import uuid

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP

from tests.harness.instance import MailmanInstance, xtext
from tests.harness.smtpsink import SMTPSink, free_port

pytestmark = pytest.mark.e2e

LIST = 'harness@example.com'


@pytest.fixture(scope='module')
def stack(tmp_path_factory):
    root = tmp_path_factory.mktemp('mailman')
    sink = SMTPSink(port=0)
    mm = None
    try:
        sink.start()
        mm = MailmanInstance(root, smtp_port=sink.port)
        mm.start(timeout=90)
        mm.create_list(LIST, subscription_policy='open')
        yield mm, sink
    finally:
        if mm is not None:
            mm.stop()
        sink.stop()


def _token():
    return uuid.uuid4().hex[:12]


def _message(sender, to, subject, token, body='Hello.\n'):
    return (
        'From: {sender}\n'
        'To: {to}\n'
        'Subject: {subject}\n'
        'Message-ID: <{token}@harness.test>\n'
        'Date: Mon, 23 Nov 2026 10:00:00 +0000\n'
        'MIME-Version: 1.0\n'
        'Content-Type: text/plain; charset="us-ascii"\n'
        '\n'
        '{body}').format(sender=sender, to=to, subject=subject, token=token,
                         body=body).encode('ascii')


def _assert_nothing_shunted(mm):
    assert mm.queue_files('shunt') == [], mm.log('mailman')[-3000:]
    assert mm.queue_files('bad') == []


def test_nonmember_post_is_held_and_notice_goes_to_forged_from(stack):
    mm, sink = stack
    token = _token()
    forged = 'victim-{}@victim.example'.format(token)
    raw = _message(forged, LIST, 'nonmember post ' + token, token)
    replies = mm.inject(
        raw, mail_from='attacker-{}@spammer.example'.format(token),
        rcpt_to=[LIST, 'no-such-list@example.com'],
        xforward={'name': 'mx.spammer.example', 'addr': '192.0.2.66',
                  'helo': 'mx.spammer.example'})
    # Per-recipient LMTP replies, as Postfix would see them.
    assert replies[LIST][0] == 250
    assert replies['no-such-list@example.com'][0] == 550
    # Stock Mailman does not advertise XFORWARD, so none was sent.
    assert not any(cmd.startswith('XFORWARD')
                   for cmd, _, _ in mm.last_lmtp_session)

    # Backscatter: the hold notice goes to the (forged) From: address,
    # with the list's -bounces address as envelope sender.
    notice = sink.wait_for(lambda d: d.sent_to(forged), timeout=30)
    assert notice.mail_from == 'harness-bounces@example.com'
    assert 'awaits moderator approval' in str(notice.message['Subject'])
    # The owners hear about it too.
    sink.wait_for(lambda d: d.sent_to('harness-owner@example.com')
                  and token in d.data.decode('ascii', 'replace'), timeout=30)

    mm.wait_idle()
    held = [h for h in mm.held(LIST)
            if h.get('message_id') == '<{}@harness.test>'.format(token)]
    assert len(held) == 1, mm.held(LIST)
    assert held[0]['sender'] == forged
    # Nothing was distributed.
    assert not [d for d in sink.deliveries
                if 'nonmember post ' + token in str(d.message['Subject'])]

    # Moderation through REST works; discarding sends nothing to anyone.
    before = len(sink.deliveries)
    mm.moderate(LIST, held[0]['request_id'], 'discard')
    mm.wait_idle()
    assert not [h for h in mm.held(LIST)
                if h['request_id'] == held[0]['request_id']]
    assert len(sink.deliveries) == before, sink.describe()
    _assert_nothing_shunted(mm)


def test_member_post_is_distributed(stack):
    mm, sink = stack
    token = _token()
    anne = 'anne-{}@example.org'.format(token)
    bob = 'bob-{}@example.net'.format(token)
    mm.add_member(LIST, anne, display_name='Anne')
    mm.add_member(LIST, bob)
    assert {anne, bob} <= set(mm.members(LIST))
    subject = 'member post ' + token
    replies = mm.inject(_message(anne, LIST, subject, token),
                        mail_from=anne, rcpt_to=LIST)
    assert replies == {LIST: (250, b'Ok')}

    copy = sink.wait_for(
        lambda d: d.sent_to(bob) and subject in str(d.message['Subject']),
        timeout=30)
    assert copy.mail_from.startswith('harness-bounces')
    assert copy.message['List-Id'] is not None
    assert '<harness.example.com>' in str(copy.message['List-Id'])
    mm.wait_idle()
    # No confirmation or welcome mail for members added by add_member().
    assert not [d for d in sink.to(bob) if d is not copy
                and subject not in str(d.message['Subject'])]
    # The poster is not sent a hold notice.
    assert not [d for d in sink.to(anne)
                if 'awaits moderator' in str(d.message['Subject'])]
    _assert_nothing_shunted(mm)


def test_request_help_gets_a_reply_to_from(stack):
    mm, sink = stack
    token = _token()
    asker = 'asker-{}@elsewhere.example'.format(token)
    request = 'harness-request@example.com'
    replies = mm.inject(_message(asker, request, 'help', token, body='help\n'),
                        mail_from='', rcpt_to=request)     # null sender
    assert replies[request][0] == 250

    reply = sink.wait_for(lambda d: d.sent_to(asker), timeout=30)
    assert 'results of your email command' in str(
        reply.message['Subject']).lower()
    assert 'help' in reply.data.decode('utf-8', 'replace').lower()
    mm.wait_idle()
    assert len(sink.to(asker)) == 1, sink.describe()
    _assert_nothing_shunted(mm)


def test_cli_and_logs(stack):
    mm, sink = stack
    result = mm.mailman('lists')
    assert LIST in result.stdout
    assert 'runner started' in mm.log('mailman')
    assert mm.log('no-such-log') == ''
    assert (mm.var_dir / 'logs' / 'smtp.log').exists()


# -- inject() itself, against a fake LMTP server that speaks XFORWARD ------

class _XForwardLMTP(LMTP):
    async def smtp_XFORWARD(self, arg):
        self.event_handler.xforward.append(arg)
        await self.push('250 2.0.0 Ok')


class _RecordingHandler:
    def __init__(self):
        self.xforward, self.envelopes = [], []

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        return responses[:-1] + [
            '250-XFORWARD NAME ADDR PROTO HELO SOURCE', responses[-1]]

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.startswith('bad'):
            return '550 5.1.1 no such user'
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 Ok'

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        # LMTP: one status line per accepted recipient.
        return '\r\n'.join('250 2.0.0 Ok {}'.format(rcpt)
                            for rcpt in envelope.rcpt_tos)


class _LMTPController(Controller):
    def factory(self):
        return _XForwardLMTP(self.handler)


def test_xtext():
    assert xtext('mx.example.org') == 'mx.example.org'
    assert xtext('a b+c=d') == 'a+20b+2Bc+3Dd'
    assert xtext('caf\u00e9') == 'caf+C3+A9'


def test_inject_speaks_postfix_lmtp(tmp_path):
    handler = _RecordingHandler()
    controller = _LMTPController(handler, hostname='127.0.0.1',
                                 port=free_port())
    controller.start()
    try:
        mm = MailmanInstance(tmp_path, smtp_port=1,
                             lmtp_port=controller.port)
        raw = b'From: a@example.org\nSubject: dots\n\n.leading dot\nend\n'
        replies = mm.inject(
            raw, mail_from='', rcpt_to=['one@x.example', 'bad@x.example',
                                        'two@x.example'],
            xforward={'name': 'mx.example.org', 'addr': '192.0.2.1',
                      'helo': 'helo with space', 'port': '25'})
    finally:
        controller.stop()
    assert replies == {'one@x.example': (250, b'2.0.0 Ok one@x.example'),
                       'bad@x.example': (550, b'5.1.1 no such user'),
                       'two@x.example': (250, b'2.0.0 Ok two@x.example')}
    # PORT was not advertised, so it is not sent; PROTO/SOURCE default.
    assert handler.xforward == [
        'NAME=mx.example.org ADDR=192.0.2.1 HELO=helo+20with+20space '
        'PROTO=ESMTP SOURCE=REMOTE']
    (envelope,) = handler.envelopes
    assert envelope.mail_from == '<>' or envelope.mail_from == ''
    assert envelope.content == (b'From: a@example.org\r\nSubject: dots\r\n'
                                b'\r\n.leading dot\r\nend\r\n')
