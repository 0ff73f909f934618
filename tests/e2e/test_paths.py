"""Each path by which Mailman answers a sender, forged and authentic.

For every path the forged message produces zero messages to the forged
address, and the same scenario from an authentic sender still produces
Mailman's normal answer.  Everything is real: Mailman's runners, LMTP in,
SMTP out to a sink, and a DNS server serving the senders' SPF, DKIM and DMARC
records.  Forgeries come from a botnet address that the forged domain's SPF
does not allow, exactly as backscatter-causing spam does.
"""

import pytest

from tests.harness.scenario import SPAMMER, list_address

address = list_address

pytestmark = pytest.mark.e2e

VICTIM = 'victim@victim.example'          # forged by the spammer
BOB = 'bob@example.org'                   # authentic non-member
ANNE = 'anne@example.org'                 # authentic member
OWNER = 'owner@example.org'


@pytest.fixture(scope='module')
def lists(world):
    mm = world.mailman
    mm.create_list(address('hold'), admin_immed_notify=True)
    mm.create_list(address('reject'), default_nonmember_action='reject')
    mm.create_list(address('auto'),
                   autorespond_postings='respond_and_continue',
                   autoresponse_postings_text='Thanks, we got your post.',
                   autoresponse_grace_period='0d')
    mm.create_list(address('ack'))
    mm.create_list(address('cmd'), unsubscription_policy='open',
                   subscription_policy='confirm')
    for name in ('hold', 'reject', 'auto', 'ack', 'cmd'):
        mm.add_member(address(name), OWNER, role='owner')
    for name in ('ack', 'cmd', 'hold'):
        mm.add_member(address(name), ANNE)
    # Anne wants acknowledgements of her posts to the ack list.
    member = mm.rest('GET', 'lists/ack.{}/member/{}'.format(
        'lists.example.net', ANNE)).json()
    mm.rest('PATCH', member['self_link'].split('/3.1/', 1)[1]
            + '/preferences', data=dict(acknowledge_posts='true'))
    return mm


def settle(world):
    world.mailman.wait_idle()


def forged_then_authentic(world, to, *, expect, subject=None, **forged_kws):
    """The same mail from the spammer (forging VICTIM) and from BOB.

    Waits until BOB gets the answer containing *expect*, lets Mailman
    finish, and asserts the forged address got nothing at all.
    """
    kws = dict(subject=subject) if subject else {}
    world.send(sender=VICTIM, to=to, client=SPAMMER,
               **dict(kws, **forged_kws))
    world.send(sender=BOB, to=to, sign=True, **kws)
    world.sink.wait_for(lambda d: BOB in d.rcpt_tos and expect in d.data)
    settle(world)
    assert world.sent_to(VICTIM) == []


def test_hold_notice_and_owner_notice(world, lists):
    """Paths 1 and 10: 'awaits moderator approval' and the owner's notice."""
    forged = world.send(sender=VICTIM, to=address('hold'), client=SPAMMER,
                        subject='forged hold')
    world.send(sender=BOB, to=address('hold'), sign=True,
               subject='authentic hold')
    world.sink.wait_for(lambda d: BOB in d.rcpt_tos
                        and b'authentic hold' in d.data)
    world.sink.wait_for(lambda d: address('hold-owner') in d.rcpt_tos
                        and b'authentic hold' in d.data)
    settle(world)
    assert world.sent_to(VICTIM) == []
    assert world.answers_about(address('hold-owner'),
                               subject='forged hold') == []
    subjects = {h['subject'] for h in lists.held(address('hold'))}
    assert {'forged hold', 'authentic hold'} <= subjects, subjects
    assert forged


def test_moderator_reject(world, lists):
    """Path 8: a moderator rejects held posts in Postorius/REST later."""
    for subject, sender, sign, client in (
            ('forged to reject later', VICTIM, False, SPAMMER),
            ('authentic to reject later', BOB, True, None)):
        kws = dict(client=client) if client else {}
        world.send(sender=sender, to=address('hold'), sign=sign,
                   subject=subject, **kws)
    settle(world)
    world.sink.clear()
    held = {h['subject']: h['request_id']
            for h in lists.held(address('hold'))}
    lists.moderate(address('hold'), held['forged to reject later'], 'reject')
    lists.moderate(address('hold'), held['authentic to reject later'],
                   'reject')
    world.sink.wait_for(lambda d: BOB in d.rcpt_tos)
    settle(world)
    assert world.sent_to(VICTIM) == []


def test_reject_bounce(world, lists):
    """Path 2: the reject chain (default_nonmember_action=reject)."""
    forged_then_authentic(world, address('reject'), subject='reject me',
                          expect=b'reject me')
    # The forged one was discarded quietly, not held and not bounced.
    assert 'reject me' not in {
        h['subject'] for h in lists.held(address('reject'))}
    assert 'reject-unproven-discarded' in lists.log('antibackscatter')


def test_autoresponse(world, lists):
    """Path 3: replybot auto-responses, sent before any chain runs."""
    forged_then_authentic(world, address('auto'),
                          expect=b'Thanks, we got your post.')


def test_acknowledgement_and_forged_member(world, lists):
    """Path 4 and the forged member post: no ack, no distribution."""
    world.sink.clear()
    world.send(sender=ANNE, to=address('ack'), client=SPAMMER,
               subject='forged member post')
    world.send(sender=ANNE, to=address('ack'), sign=True,
               subject='authentic member post')
    world.sink.wait_for(lambda d: ANNE in d.rcpt_tos
                        and b'post acknowledgment' in d.data.lower())
    world.sink.wait_for(lambda d: ANNE in d.rcpt_tos
                        and b'authentic member post' in d.data)
    settle(world)
    acks = [d for d in world.sent_to(ANNE)
            if b'post acknowledgment' in d.data.lower()]
    assert len(acks) == 1, [d.summary() for d in acks]
    forged = [d for d in world.sink.deliveries
              if b'forged member post' in d.data
              and address('ack-owner') not in d.rcpt_tos]
    assert forged == []
    held = {h['subject'] for h in lists.held(address('ack'))}
    assert 'forged member post' in held
    assert 'forged-member-held' in lists.log('antibackscatter')


def test_command_reply(world, lists):
    """Path 5: results of email commands sent to -request."""
    world.send(sender=VICTIM, to=address('cmd-request'), client=SPAMMER,
               subject='help', mail_from='')        # null sender too
    forged_then_authentic(world, address('cmd-request'), subject='help',
                          expect=b'The results of your email command')


def test_subscription_confirmation(world, lists):
    """Path 6: -join, and subscribe with address= from a proven sender."""
    world.send(sender=VICTIM, to=address('cmd-join'), client=SPAMMER)
    world.send(sender=BOB, to=address('cmd-request'), sign=True,
               subject='subscribe address=carol@plain.example')
    world.send(sender=BOB, to=address('cmd-join'), sign=True)
    world.sink.wait_for(lambda d: BOB in d.rcpt_tos
                        and b'confirm' in d.data.lower())
    settle(world)
    assert world.sent_to(VICTIM) == []
    assert world.sent_to('carol@plain.example') == []
    assert VICTIM not in lists.members(address('cmd'))


def test_unsubscribe(world, lists):
    """Path 7: with unsubscription_policy=open a forged From unsubscribed."""
    world.send(sender=ANNE, to=address('cmd-leave'), client=SPAMMER)
    settle(world)
    assert ANNE in lists.members(address('cmd'))
    assert world.answers_about(ANNE, subject='cmd') == [] or all(
        b'unsubscribed' not in d.data.lower() for d in world.sent_to(ANNE))
    world.send(sender=ANNE, to=address('cmd-leave'), sign=True)
    settle(world)
    assert ANNE not in lists.members(address('cmd'))


def test_owner_forward(world, lists):
    """Path 9: mail to -owner is forwarded to the owners."""
    world.send(sender=VICTIM, to=address('cmd-owner'), client=SPAMMER,
               subject='forged to owner')
    world.send(sender=BOB, to=address('cmd-owner'), sign=True,
               subject='authentic to owner')
    world.sink.wait_for(lambda d: OWNER in d.rcpt_tos
                        and b'authentic to owner' in d.data)
    settle(world)
    assert world.answers_about(OWNER, subject='forged to owner') == []
    assert world.sent_to(VICTIM) == []


def test_dns_outage_loses_nothing(world, lists):
    """A sender domain whose DNS does not answer: held, never answered."""
    post = world.send(sender='carol@dnsdown.example', to=address('hold'),
                      subject='dns down post')
    replies = world.deliver(
        world.message(sender='carol@dnsdown.example',
                      to=address('cmd-request'), subject='help')[0],
        mail_from='carol@dnsdown.example', rcpt_to=address('cmd-request'))
    settle(world)
    assert post
    assert world.sent_to('carol@dnsdown.example') == []
    assert 'dns down post' in {
        h['subject'] for h in lists.held(address('hold'))}
    # The command was deferred at the door, so the MTA keeps and retries it.
    (code, _text), = replies.values()
    assert code == 451, replies


def test_without_xforward_the_received_chain_names_the_client(world, lists):
    """An MTA without XFORWARD: the door reads the client from Received."""
    world.send(sender=VICTIM, to=address('cmd-request'), client=SPAMMER,
               subject='help', xforward=False)
    world.send(sender=BOB, to=address('cmd-request'), sign=False,
               subject='help', xforward=False)       # SPF alone proves bob
    world.sink.wait_for(lambda d: BOB in d.rcpt_tos
                        and b'help' in d.data.lower())
    settle(world)
    assert world.sent_to(VICTIM) == []


def test_forged_authentication_results_are_not_trusted(world, lists):
    """A spammer's own A-R header under our authserv-id changes nothing."""
    forged_ar = ('Authentication-Results: mail.lists.example.net; '
                 'dmarc=pass header.from=victim.example; '
                 'x-antibackscatter=pass policy.state=AAAA')
    world.send(sender=VICTIM, to=address('cmd-request'), client=SPAMMER,
               subject='help', headers=[forged_ar])
    settle(world)
    assert world.sent_to(VICTIM) == []


def test_door_keeps_serving_while_one_message_waits_for_dns(world, lists):
    """A slow domain occupies a worker thread, not the LMTP server."""
    import threading
    slow_raw, _ = world.message(sender='kim@dnsdown.example',
                                to=address('hold'), subject='slow dns')
    finished = []
    slow = threading.Thread(target=lambda: finished.append(world.deliver(
        slow_raw, mail_from='kim@dnsdown.example', rcpt_to=address('hold'))))
    slow.start()
    try:
        # The slow message waits for its whole DNS budget (2 s here); a
        # second session is served in the meantime.
        fast_raw, _ = world.message(sender=BOB, to=address('hold'),
                                    sign=True, subject='fast dns')
        replies = world.deliver(fast_raw, mail_from=BOB,
                                rcpt_to=address('hold'))
        assert [code for code, _ in replies.values()] == [250]
        assert slow.is_alive() and not finished, \
            'the fast message had to wait for the slow one'
    finally:
        slow.join(30)
    assert [code for code, _ in finished[0].values()] == [250]
    settle(world)
