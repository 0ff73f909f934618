# SPDX-License-Identifier: GPL-3.0-or-later
"""Choices a forger makes in the message itself, on a real Mailman.

Each was once enough to get an answer (or a deferral that ends in one) for
a forged address: a DKIM signature whose domain's name servers never
answer, spending the DNS budget before the From domain's DMARC record was
asked (the forged command was deferred with 451, and the MTA finally
bounces to the forged sender); and an "@" in a signature's d=, which made
the door's own record of the verdict unreadable, so a forged member post
was distributed as the member's.
"""

import secrets

import pytest

from tests.harness.scenario import SPAMMER, list_address

pytestmark = pytest.mark.e2e

VICTIM = 'victim@victim.example'        # p=reject, SPF excludes SPAMMER
ANNE = 'anne@example.org'               # member; example.org has p=reject
ZOE = 'zoe@example.org'                 # member who would get the copy
CMD = list_address('atk-cmd')
POSTS = list_address('atk-posts')
# Well-formed values: the door must fetch the key to judge the signature.
BH = 'frozen' + 'A' * 38 + '='
B = 'A' * 340 + '=='


def signature(domain):
    return ('DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n'
            ' d={}; s=sel; h=from:to:subject;\r\n bh={};\r\n b={}'
            ).format(domain, BH, B)


@pytest.fixture(scope='module')
def lists(world):
    mm = world.mailman
    mm.create_list(CMD)
    mm.create_list(POSTS)
    mm.add_member(POSTS, ANNE)
    mm.add_member(POSTS, ZOE)
    return mm


def door_line(mm, message_id):
    return [line for line in mm.log('antibackscatter').splitlines()
            if message_id in line]


def test_a_signature_from_a_dead_domain_does_not_defer_a_forged_command(
        world, lists):
    raw, message_id = world.message(
        sender=VICTIM, to=CMD.replace('@', '-request@'), subject='help',
        client=SPAMMER, headers=[signature('dnsdown.example')])
    replies = world.deliver(raw, mail_from=VICTIM,
                            rcpt_to=CMD.replace('@', '-request@'),
                            client=SPAMMER)
    lists.wait_idle()
    # Decided on the aligned SPF fail: not deferred (451), not answered.
    assert [code for code, _text in replies.values()] == [250], replies
    assert world.sent_to(VICTIM) == []
    lines = door_line(lists, message_id)
    assert lines and 'verdict=fail' in lines[0], lines


def test_an_at_sign_in_a_signature_domain_keeps_the_verdict(world, lists):
    subject = 'forged member post {}'.format(secrets.token_hex(3))
    raw, message_id = world.message(
        sender=ANNE, to=POSTS, subject=subject, client=SPAMMER,
        headers=[signature('x@y.example')])
    replies = world.deliver(raw, mail_from=ANNE, rcpt_to=POSTS,
                            client=SPAMMER)
    assert [code for code, _text in replies.values()] == [250], replies
    lists.wait_idle()
    # Not distributed as Anne's post, and nobody was answered.
    assert not [d for d in world.sink.deliveries
                if subject.encode() in d.data], 'the forged post went out'
    assert world.sent_to(ANNE) == []
    lines = door_line(lists, message_id)
    assert lines and 'verdict=fail' in lines[0], lines
