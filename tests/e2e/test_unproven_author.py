"""A post whose author is not one proven address, on a real Mailman: held
quietly, never distributed as a member post, nobody answered."""

import pytest

from tests.harness.scenario import SPAMMER, list_address

pytestmark = pytest.mark.e2e

ANNE = 'anne@example.org'                 # member
CARL = 'carl@example.org'                 # member, receives list copies
OWNER = 'owner@example.org'


@pytest.fixture(scope='module')
def two_from_list(world):
    mm = world.mailman
    fqdn = list_address('twofrom')
    mm.create_list(fqdn, admin_immed_notify=True)
    mm.add_member(fqdn, OWNER, role='owner')
    for member in (ANNE, CARL):
        mm.add_member(fqdn, member)
    return fqdn


def test_two_from_headers_are_held_quietly(world, two_from_list):
    fqdn = two_from_list
    # F2: the member's From first, the spammer's own second, and an
    # envelope sender whose SPF fails.
    world.send(sender=ANNE, to=fqdn, client=SPAMMER, subject='two froms',
               headers=['From: mallory@plain.example'])
    # A genuine post from the same member, sent after it, is distributed.
    world.send(sender=ANNE, to=fqdn, sign=True, subject='genuine post')
    world.sink.wait_for(lambda d: CARL in d.rcpt_tos
                        and b'genuine post' in d.data)
    world.mailman.wait_idle()
    assert world.answers_about(CARL, subject='two froms') == []
    assert world.answers_about(ANNE, subject='two froms') == []
    assert world.answers_about('mallory@plain.example') == []
    # Held for the moderators, without an owner notice.
    assert [h['subject'] for h in world.mailman.held(fqdn)] == ['two froms']
    assert world.answers_about(list_address('twofrom-owner'),
                               subject='two froms') == []
