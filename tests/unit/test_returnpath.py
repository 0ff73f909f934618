"""Return-path tags: generation, verification, expiry, rotation, hostile input."""

import hmac

from unittest import mock

import pytest

from mailman_antibackscatter.auth import returnpath
from mailman_antibackscatter.auth.returnpath import (
    KeyFileError, KeyRing, TagKey, add_key, check_tag, format_keyfile,
    looks_like_tag, make_tag, message_ref, parse_keyfile, split_bounces_local, tag_local)

LIST = 'test.lists.example.net'
DAY = 20400
LIFE = 10


@pytest.fixture
def ring():
    return add_key(KeyRing(), DAY - 30, LIFE)


def test_round_trip_every_kind(ring):
    for kind, binding in (('l', ''), ('v', 'anne=example.org'),
                          ('p', 'a' * 40)):
        tag = make_tag(ring.current, kind, LIST, binding, DAY)
        assert looks_like_tag(tag) and len(tag) == 21 and tag[0] == kind
        assert check_tag(ring, tag, LIST, binding, DAY, LIFE).ok


def test_bound_to_recipient_list_and_kind(ring):
    tag = make_tag(ring.current, 'v', LIST, 'anne=example.org', DAY)
    assert not check_tag(ring, tag, LIST, 'bob=example.org', DAY, LIFE).ok
    assert not check_tag(ring, tag, 'other.lists.example.net',
                         'anne=example.org', DAY, LIFE).ok
    # The same MAC under another kind letter is a different tag.
    assert not check_tag(ring, 'l' + tag[1:], LIST, 'anne=example.org', DAY,
                         LIFE).ok


def test_bulk_tag_is_bound_to_its_message(ring):
    """A shared tag names one message: another message's (or none) fails."""
    ref = message_ref(' <Post-1@Example.org> ')
    assert ref == message_ref('<post-1@example.org>')
    assert len(ref) == returnpath.MESSAGE_REF_HEX and '=' not in ref
    assert message_ref(None) == '' and message_ref('  ') == ''
    tag = make_tag(ring.current, 'l', LIST, ref, DAY)
    local = tag_local('test-bounces', tag, ref)
    envelope = split_bounces_local(local, 'test-bounces')
    assert (envelope.tag, envelope.rest) == (tag, ref)
    assert check_tag(ring, tag, LIST, envelope.rest, DAY, LIFE).ok
    for other in ('', message_ref('<post-2@example.org>'),
                  'anne=example.org'):
        assert not check_tag(ring, tag, LIST, other, DAY, LIFE).ok


def test_case_insensitive_binding(ring):
    """The LMTP runner lowercases recipients; tags survive that."""
    tag = make_tag(ring.current, 'v', 'Test.Lists.Example.Net',
                   'Anne=Example.ORG', DAY)
    assert check_tag(ring, tag, LIST, 'anne=example.org', DAY, LIFE).ok


def test_expiry_and_clock_skew(ring):
    tag = make_tag(ring.current, 'l', LIST, '', DAY)
    assert check_tag(ring, tag, LIST, '', DAY + LIFE, LIFE).ok
    result = check_tag(ring, tag, LIST, '', DAY + LIFE + 1, LIFE)
    assert not result.ok and 'expired' in result.reason
    # Made "tomorrow" by a runner whose clock is ahead: accepted.
    assert check_tag(ring, tag, LIST, '', DAY - 1, LIFE).ok
    assert not check_tag(ring, tag, LIST, '', DAY - 2, LIFE).ok
    # Day numbers wrap at 1000 days.
    late = make_tag(ring.current, 'l', LIST, '', 20999)
    assert check_tag(ring, late, LIST, '', 21003, LIFE).ok


def test_rotation_with_overlap(ring):
    old_tag = make_tag(ring.current, 'l', LIST, '', DAY)
    rotated = add_key(ring, DAY + 2, LIFE)
    assert rotated.current.kid != ring.current.kid
    new_tag = make_tag(rotated.current, 'l', LIST, '', DAY + 2)
    assert new_tag[1] == rotated.current.kid
    # The old key still verifies for the tag lifetime...
    assert check_tag(rotated, old_tag, LIST, '', DAY + 2 + LIFE - 2, LIFE).ok
    # ...and the new one from the start.
    assert check_tag(rotated, new_tag, LIST, '', DAY + 2, LIFE).ok
    # After the lifetime since retirement the old key is no use at all,
    # and the next rotation drops it from the file.
    later = add_key(rotated, DAY + 2 + LIFE + 1, LIFE)
    assert ring.current.kid not in {k.kid for k in later.keys}
    assert len(later.keys) == 2


def test_unknown_key_id_and_wrong_secret(ring):
    tag = make_tag(ring.current, 'l', LIST, '', DAY)
    other = 'z' if tag[1] != 'z' else 'y'
    result = check_tag(ring, tag[0] + other + tag[2:], LIST, '', DAY, LIFE)
    assert not result.ok and 'key id' in result.reason
    forged = make_tag(TagKey(ring.current.kid, b'x' * 32, 0), 'l', LIST, '',
                      DAY)
    assert check_tag(ring, forged, LIST, '', DAY, LIFE).reason == 'bad MAC'


@pytest.mark.parametrize('hostile', [
    '', 'l', 'x' * 5000, 'L0123' + 'A' * 16, 'l0123' + 'g' * 16,
    'l0123' + 'é' * 16, 'l0\u0661\u0662\u0663' + '0' * 16,
    'l0123' + '0' * 15 + '\n', 'q0123' + '0' * 16, 'l01230000000000000000=',
    'l-123' + '0' * 16, None, b'l0123' + b'0' * 16,
])
def test_hostile_tags_are_refused(ring, hostile):
    result = check_tag(ring, hostile, LIST, '', DAY, LIFE)
    assert not result.ok


def test_overlong_binding_refused(ring):
    binding = 'a' * 400 + '=example.org'
    tag = make_tag(ring.current, 'v', LIST, binding, DAY)
    assert not check_tag(ring, tag, LIST, binding, DAY, LIFE).ok


def test_mac_compared_in_constant_time(ring):
    tag = make_tag(ring.current, 'l', LIST, '', DAY)
    with mock.patch.object(returnpath.hmac, 'compare_digest',
                           wraps=hmac.compare_digest) as compare:
        assert check_tag(ring, tag, LIST, '', DAY, LIFE).ok
    compare.assert_called_once_with(tag[5:], tag[5:])


def test_split_and_join_local_parts(ring):
    tag = make_tag(ring.current, 'v', LIST, 'anne=example.org', DAY)
    local = tag_local('test-bounces', tag, 'anne=example.org')
    env = split_bounces_local(local.upper(), 'test-bounces')
    assert (env.tag, env.rest) == (tag, 'anne=example.org')
    assert split_bounces_local('test-bounces', 'test-bounces').tag is None
    assert split_bounces_local('other-bounces+x', 'test-bounces') is None
    untagged = split_bounces_local('test-bounces+anne=example.org',
                                   'test-bounces')
    assert untagged.tag is None and untagged.raw_sub == 'anne=example.org'


def test_mailman_verp_regexp_does_not_see_a_bulk_tag(ring):
    """Mailman's default verp_regexp needs '='; a bulk tag has none."""
    import re
    verp = re.compile(r'^(?P<bounces>[^+]+?)\+(?P<local>[^=]+)='
                      r'(?P<domain>[^@]+)@.*$')
    tag = make_tag(ring.current, 'l', LIST, '', DAY)
    assert verp.match('test-bounces+{}@lists.example.net'.format(tag)) is None


def test_key_file_round_trip_and_errors(ring):
    ring = KeyRing(keys=ring.keys, grace_start=DAY)
    again = parse_keyfile(format_keyfile(ring))
    assert again == ring
    # The unused seal key line of earlier versions still reads, and is
    # dropped when the file is written again.
    old = parse_keyfile('ab' * 32 + '\n' + format_keyfile(ring))
    assert old == ring and 'ab' * 32 not in format_keyfile(old)
    secret = ring.current.secret.hex()
    for text in ('tag 0 zz 1\n', 'tag 00 {} 1\n'.format(secret),
                 'tag 0 {} 1\ntag 0 {} 2\n'.format(secret, secret),
                 'nonsense line here\n', 'tag 0 abcd 1\n'):
        with pytest.raises(KeyFileError) as info:
            parse_keyfile(text)
        assert secret not in str(info.value)


def test_key_ids_cycle_and_skip_live_ones():
    ring = KeyRing()
    for day in range(36):
        ring = add_key(ring, DAY + day, 100)
    assert len({k.kid for k in ring.keys}) == 36
    with pytest.raises(KeyFileError):
        add_key(ring, DAY + 36, 100)
    ring = add_key(ring, DAY + 200, 100)
    assert [k.retired is None for k in ring.keys].count(True) == 1


def test_no_secret_in_key_file_errors_or_reprs(ring):
    """A misplaced secret in a number column, or a ring shown in a
    traceback or debugger, must not reveal any key."""
    secret = ring.current.secret.hex()
    for text in ('tag 0 {} {}\n'.format(secret, secret),
                 'grace-start {}\n'.format(secret),
                 'smtp-log-imported {}\n'.format(secret)):
        with pytest.raises(KeyFileError) as info:
            parse_keyfile(text)
        assert secret not in str(info.value)
        assert secret[:16] not in str(info.value)
    full = KeyRing(keys=ring.keys)
    for shown in (repr(full), str(full), repr(ring.current)):
        assert secret not in shown
        assert repr(ring.current.secret) not in shown


def test_a_tag_is_not_valid_again_a_thousand_days_later(ring):
    """The day field is 3 digits (mod 1000): a tag kept for 1000 days must
    not come back to life, even if the admin never rotated the key."""
    from dataclasses import replace
    from mailman_antibackscatter.app.keys import _rotate_if_old
    tag = make_tag(ring.current, 'v', LIST, 'anne=example.org', DAY)
    assert check_tag(ring, tag, LIST, 'anne=example.org', DAY, LIFE).ok
    for later in (DAY + 1000, DAY + 1001, DAY + 2000):
        check = check_tag(ring, tag, LIST, 'anne=example.org', later, LIFE)
        assert not check.ok, later
    # Mail keeps being signed: a key is rotated before it is that old, and
    # the new key's fresh tags verify.
    old = replace(ring)
    today = ring.current.created + returnpath.MAX_KEY_AGE - LIFE
    rotated = _rotate_if_old(old, today, LIFE)
    assert rotated.current.kid != ring.current.kid
    fresh = make_tag(rotated.current, 'v', LIST, 'anne=example.org', today)
    assert check_tag(rotated, fresh, LIST, 'anne=example.org', today,
                     LIFE).ok
    # The retired key's last tags stay valid for the whole lifetime.
    last = make_tag(ring.current, 'v', LIST, 'anne=example.org', today - 1)
    assert check_tag(rotated, last, LIST, 'anne=example.org',
                     today - 1 + LIFE, LIFE).ok
    assert _rotate_if_old(rotated, today, LIFE) is rotated


def test_signing_ring_rotates_an_old_key_in_the_key_file(tmp_path):
    from mailman_antibackscatter.app import keys
    first = keys.generate(str(tmp_path), DAY, LIFE)[0].current
    assert keys.signing_ring(str(tmp_path), DAY, LIFE).current == first
    assert keys.signing_ring(str(tmp_path), DAY + 900, LIFE).current == first
    later = DAY + returnpath.MAX_KEY_AGE - LIFE
    ring = keys.signing_ring(str(tmp_path), later, LIFE)
    assert ring.current.kid != first.kid and ring.current.created == later
    assert keys.read_ring(str(tmp_path)) == ring
