"""Backscatter to the list's own addresses, on a real Mailman: a delivery
report or auto-reply to the posting, -owner or -request address is dropped
quietly and counted; nobody is notified, answered or forwarded to."""

import pytest

from tests.harness.scenario import SPAMMER, list_address

pytestmark = pytest.mark.e2e

OWNER = 'owner@example.org'
BOB = 'bob@example.org'
STATS = 'plugins/antibackscatter/lists/{}/stats?days=1'


@pytest.fixture(scope='module')
def scatter_list(world):
    fqdn = list_address('scatter')
    world.mailman.create_list(fqdn, admin_immed_notify=True)
    world.mailman.add_member(fqdn, OWNER, role='owner')
    return fqdn


def test_reports_and_auto_replies_to_the_list_are_dropped(world,
                                                          scatter_list):
    fqdn = scatter_list
    owner_address = list_address('scatter-owner')
    # Spam that forged the list's addresses bounced back from a real MTA.
    spam, _ = world.message(sender=fqdn, to='nobody@example.org',
                            client=SPAMMER, subject='cheap pills')
    for to in (fqdn, owner_address, list_address('scatter-request')):
        world.deliver_report(
            world.dsn(to=to, failed='nobody@example.org', original=spam),
            rcpt_to=to)
    world.send(sender=BOB, to=list_address('scatter-request'), sign=True,
               subject='Out of office', body='I am away.\n',
               headers=['Auto-Submitted: auto-replied'])
    # A genuine non-member post after them still reaches the owners.
    world.send(sender=BOB, to=fqdn, sign=True, subject='genuine question')
    world.sink.wait_for(lambda d: owner_address in d.rcpt_tos
                        and b'genuine question' in d.data)
    world.mailman.wait_idle()
    assert [h['subject'] for h in world.mailman.held(fqdn)] == [
        'genuine question']
    for address in (OWNER, owner_address, BOB,
                    'mailer-daemon@mx.example.org'):
        assert world.answers_about(address, subject='Undelivered') == []
        assert world.answers_about(address, subject='cheap pills') == []
    assert world.answers_about(BOB, subject='Out of office') == []
    stats = world.mailman.rest(
        'GET', STATS.format(world.mailman.list_id(fqdn))).json()
    assert stats['totals']['backscatter_to_list'] == 4
    assert stats['reasons'] == {'list-backscatter-dsn': 3,
                                'list-backscatter-auto-reply': 1,
                                'notice-sent-owner': 1,
                                'notice-sent-in': 1}
