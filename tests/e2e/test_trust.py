"""The trust boundary and the verdict under attack, on a real Mailman.

A spammer at SPAMMER forges posts from victim.example, whose SPF allows
198.51.100.0/24 and whose DMARC policy is reject.  Whatever the spammer
writes (a HELO literal, Received and Authentication-Results headers of
its own, XFORWARD from a host that is not the site's MTA), the victim
must get nothing, while the authentic sender still gets Mailman's answer.
"""

import email.utils
import itertools

import pytest

from tests.harness.scenario import AUTHSERV_ID, SPAMMER, World, list_address
from tests.e2e.conftest import EXTRA_CONFIG, SITE_OPTIONS

pytestmark = pytest.mark.e2e

VICTIM = 'victim@victim.example'
BOB = 'bob@example.org'
OWNER = 'owner@example.org'
# A hop the spammer writes below the MTA's own: an IP the victim's SPF
# allows, and a result header claiming a trusted filter's id.
FORGED_HOP = ('Received: from mail.victim.example (mail.victim.example '
              '[198.51.100.7])\r\n\tby relay.victim.example; {}')
TRUSTED_ID = 'mx.lists.example.net'
FORGED_AR = ('Authentication-Results: {}; dkim=pass header.d=victim.example;'
             ' spf=pass smtp.mailfrom=victim.example; dmarc=pass '
             'header.from=victim.example'.format(TRUSTED_ID))
_numbers = itertools.count(1)


def new_list(world):
    fqdn = list_address('trust{}'.format(next(_numbers)))
    world.mailman.create_list(fqdn, admin_immed_notify=True)
    world.mailman.add_member(fqdn, OWNER, role='owner')
    return fqdn


def forged(world, to, *, helo, subject, headers=()):
    """The spammer's post as the site's MTA (Postfix) records it: the
    client said HELO *helo*; below the MTA's Received, what the spammer
    wrote."""
    raw, _message_id = world.message(
        sender=VICTIM, to=to, subject=subject, client=SPAMMER,
        headers=[FORGED_HOP.format(email.utils.formatdate())]
        + list(headers))
    own_received, rest = raw.split(b'\r\nFrom: ', 1)
    mta = ('Received: from {} (unknown [{}])\r\n\tby {} (Postfix) with '
           'ESMTP id 4Zx\r\n\tfor <{}>; {}').format(
               helo, SPAMMER[0], AUTHSERV_ID, to, email.utils.formatdate())
    return mta.encode('ascii') + b'\r\nFrom: ' + rest


def assert_victim_gets_nothing(world, to):
    """BOB's authentic post gets its hold notice; the victim nothing."""
    world.send(sender=BOB, to=to, sign=True, subject='authentic')
    world.sink.wait_for(lambda d: BOB in d.rcpt_tos)
    world.mailman.wait_idle()
    assert world.sent_to(VICTIM) == []


def test_helo_literal_does_not_make_the_mtas_hop_internal(world):
    """HELO [127.0.0.1] without XFORWARD: the client is the MTA's TCP
    info, not the spammer's Received below it."""
    to = new_list(world)
    raw = forged(world, to, helo='[127.0.0.1]', subject='helo literal')
    world.deliver(raw, mail_from=VICTIM, rcpt_to=to, xforward=False)
    assert_victim_gets_nothing(world, to)


@pytest.fixture(scope='module')
def strict_world(tmp_path_factory):
    """A site whose MTA and filters live on 10.99.0.0/16 and trust the
    filter id TRUSTED_ID; the LMTP peer of the tests (127.0.0.1) is not
    one of them."""
    instance = World(
        tmp_path_factory.mktemp('strict-world'),
        site_options=SITE_OPTIONS + '[door]\nxforward_peers: 10.99.0.0/16\n',
        engine_options=('internal_networks: 10.99.0.0/16\n'
                        'trusted_authserv_ids: {}\n'.format(TRUSTED_ID)),
        extra_config=EXTRA_CONFIG)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def test_xforward_from_a_peer_that_is_not_the_mta_is_ignored(strict_world):
    """Anyone reaching the LMTP port names the victim's own IP in
    XFORWARD: ignored, the MTA's Received names the client."""
    world = strict_world
    to = new_list(world)
    raw, _ = world.message(sender=VICTIM, to=to, client=SPAMMER,
                           subject='xforward forged')
    world.deliver(raw, mail_from=VICTIM, rcpt_to=to,
                  client=('198.51.100.7', 'mail.victim.example'))
    assert_victim_gets_nothing(world, to)
    log = world.mailman.log('antibackscatter')
    assert 'XFORWARD from LMTP peer 127.0.0.1 ignored' in log


def test_trusted_results_below_the_mtas_hop_are_not_believed(strict_world):
    """HELO of an internal address plus a forged A-R under a trusted id
    below the MTA's hop: not believed."""
    world = strict_world
    to = new_list(world)
    raw = forged(world, to, helo='[10.99.0.1]', subject='forged results',
                 headers=[FORGED_AR])
    world.deliver(raw, mail_from=VICTIM, rcpt_to=to, xforward=False)
    assert_victim_gets_nothing(world, to)


def own_headers(data):
    """Our Authentication-Results fields (unfolded) in a delivered copy."""
    import email
    msg = email.message_from_bytes(data)
    return [' '.join(str(value).split())
            for value in msg.get_all('Authentication-Results', [])
            if str(value).strip().lower().startswith(AUTHSERV_ID)]


def test_list_copies_carry_no_replayable_verdict(world, tmp_path):
    """The door's header on a member's copy has no policy state and no
    client; pasted onto a forgery queued past the door (`mailman
    inject`) it proves nothing, so the forged author is not answered."""
    anne, reader = 'anne@example.org', 'reader@example.org'
    public = new_list(world)
    world.mailman.add_member(public, anne)
    world.mailman.add_member(public, reader)
    world.send(sender=anne, to=public, sign=True, subject='genuine post')
    copy = world.sink.wait_for(lambda d: reader in d.rcpt_tos
                               and b'genuine post' in d.data)
    headers = own_headers(copy.data)
    assert headers, copy.data[:2000]
    # The replay: another list, where anne is not a member.
    other = new_list(world)
    raw, _ = world.message(sender=anne, to=other, subject='replayed')
    lines = raw.split(b'\r\n')
    forged = b'\r\n'.join(
        ['Authentication-Results: {}'.format(value).encode('utf-8')
         for value in headers] + lines[lines.index(b'From: ' + anne.encode()):])
    path = tmp_path / 'replay.eml'
    path.write_bytes(forged)
    world.mailman.mailman('inject', '-f', str(path), other)
    world.mailman.wait_idle()
    assert world.answers_about(anne, subject='replayed') == []
    for value in headers:
        assert 'policy.' not in value
        assert '192.0.2.10' not in value and 'mx.example.org' not in value
