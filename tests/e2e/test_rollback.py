"""Turning the plugin off loses no genuine bounce.

Mail sent with per-recipient return paths while the plugin was on carries
tags bound to the member (list-bounces+v...+member=domain@).  After `enabled: no` and a restart,
stock Mailman's VERP pattern would read such an address as a non-member
("v...+member@domain") and the member's real bounce would be lost.  The
bounce gate keeps decoding valid tags for their lifetime and hands Mailman
the address as stock VERP, so Mailman scores it as it always does.
"""

import re
import time

import pytest

from tests.harness.scenario import World, list_address

pytestmark = pytest.mark.e2e

LIST = list_address('rollback')
ANNE, BEA = 'anne@example.org', 'bea@example.org'


def wait_score(mm, address, score):
    mm.wait_idle()
    for _ in range(240):
        if mm.bounce_score(LIST, address) >= score:
            return
        time.sleep(0.25)
    raise AssertionError('bounce score of {} stayed {}; logs:\n{}\n{}'.format(
        address, mm.bounce_score(LIST, address),
        mm.log('antibackscatter')[-2000:], mm.log('bounce')[-2000:]))


def test_tagged_bounces_still_score_after_enabled_no(tmp_path):
    world = World(tmp_path / 'world', site_options=(
        '[bounces]\nper_recipient_return_path: yes\n'))
    world.start()
    try:
        mm = world.mailman
        mm.create_list(LIST)
        mm.add_member(LIST, ANNE)
        mm.add_member(LIST, BEA)
        world.send(sender=ANNE, to=LIST, sign=True, subject='before rollback')
        delivery = world.sink.wait_for(
            lambda d: d.sent_to(BEA) and b'before rollback' in d.data)
        assert re.match(r'^rollback-bounces\+v\w+\+bea=example\.org@',
                        delivery.mail_from), delivery.mail_from
        # The site turns the plugin off and restarts Mailman.
        mm.stop()
        config_path = world.root / 'antibackscatter.cfg'
        config_path.write_text(config_path.read_text().replace(
            '[antibackscatter]\n', '[antibackscatter]\nenabled: no\n', 1))
        mm.start(timeout=180)
        assert mm.bounce_score(LIST, BEA) == 0
        world.deliver_report(
            world.dsn(to=delivery.mail_from, failed=BEA,
                      original=delivery.data),
            rcpt_to=delivery.mail_from)
        wait_score(mm, BEA, 1)
        assert mm.bounce_score(LIST, ANNE) == 0
        assert 'decoded' in mm.log('antibackscatter')
    finally:
        world.stop()
