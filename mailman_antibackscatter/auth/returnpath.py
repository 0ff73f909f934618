# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Signed return paths (BATV-style tags) for a list's -bounces address.

Pure code: no Mailman imports.  A tag is inserted right after the bounces
local part and its delimiter, in front of whatever Mailman put there:

    list-bounces+<tag>+<message ref>@domain        bulk mail (kind l)
    list-bounces+<tag>+anne=example.org@domain     one recipient (kind v)
    list-bounces+<tag>+<probe token>@domain        a VERP probe (kind p)

    <tag> = kind (1 char: l, v, p) + key id (1 char, 0-9a-z)
            + day (3 digits, days since 1970 mod 1000)
            + mac (16 lowercase hex: HMAC-SHA256, truncated to 64 bits)

The MAC covers the kind, the day, the list id and the *binding*: the part of
the address after the tag (the VERP'd recipient or the probe token), or
for bulk mail a reference to the message (MESSAGE_REF_HEX hex digits of a
hash of its Message-ID; bulk mail without one binds nothing).  So a
recipient who sees their own return path cannot
turn it into one for another recipient, and a tag is only good for the list
it was made for.  The tag contains no '=' so Mailman's own VERP regexp never
matches a bulk tag, and all letters are lowercase because the LMTP runner
lowercases recipients.  A bulk tag is shared by every recipient of a chunk:
it proves the list sent that message that day, not who failed (see
docs/bounces.md).
"""

import dataclasses
import hashlib
import hmac
import re
import secrets

from dataclasses import dataclass, field

KINDS = ('l', 'v', 'p')
TAG_LENGTH = 21
MAC_HEX = 16
DAY_MODULO = 1000
# A tag made "tomorrow" is still accepted: clocks of the runners may differ.
CLOCK_SKEW_DAYS = 1
# The day field wraps every DAY_MODULO days, so one key may only ever cover
# a shorter span: then a day field names a single day and a tag cannot come
# back to life 1000 days later.  A key older than this stops verifying;
# keys.signing_ring retires a signing key well before (see rotation_due).
MAX_KEY_AGE = DAY_MODULO - 2 * CLOCK_SKEW_DAYS - 1
MESSAGE_REF_HEX = 10    # 40 bits: tells a list's messages of one day apart
MAX_BINDING = 320       # longer VERP parts are hostile: an address is < 320
_TAG = re.compile(r'\A([lvp])([0-9a-z])([0-9]{3})([0-9a-f]{16})\Z')
KEY_IDS = '0123456789abcdefghijklmnopqrstuvwxyz'


class KeyFileError(ValueError):
    """The key file cannot be read; nothing is signed or verified with it."""


@dataclass(frozen=True)
class TagKey:
    kid: str
    secret: bytes = field(repr=False)       # never in a traceback
    created: int                 # day number (days since 1970)
    retired: int = None          # day number it stopped signing, or None


@dataclass(frozen=True)
class KeyRing:
    """The tag keys of a site; the newest unretired key signs."""

    keys: tuple = ()
    grace_start: int = None      # day the plugin first signed, for roll-out
    imported: int = None         # day Mailman's smtp.log was read (roll-out)
    _by_kid: dict = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, '_by_kid', {k.kid: k for k in self.keys})

    @property
    def current(self):
        active = [k for k in self.keys if k.retired is None]
        return active[-1] if active else None

    def usable_for_verify(self, kid, today, lifetime):
        """The key *kid* if a tag under it may still be valid today."""
        key = self._by_kid.get(kid)
        if key is None:
            return None
        if key.retired is not None and today - key.retired > lifetime:
            return None
        if today - key.created > MAX_KEY_AGE:
            return None
        return key


@dataclass(frozen=True)
class Check:
    ok: bool
    reason: str
    kind: str = None
    kid: str = None


def _mac(secret, kind, day_text, list_id, binding):
    message = '\0'.join(('abs1', kind, day_text, list_id, binding))
    return hmac.new(secret, message.encode('utf-8', 'surrogateescape'),
                    hashlib.sha256).hexdigest()[:MAC_HEX]


def make_tag(key, kind, list_id, binding, day):
    """The tag for *binding* ('' for bulk) on *day* under *key*."""
    if kind not in KINDS:
        raise ValueError('unknown tag kind {!r}'.format(kind))
    day_text = '{:03d}'.format(day % DAY_MODULO)
    return kind + key.kid + day_text + _mac(
        key.secret, kind, day_text, list_id.lower(), binding.lower())


def message_ref(message_id):
    """The binding of a bulk tag: a short hash of *message_id*, or ''."""
    text = (message_id or '').strip().lower()
    if not text:
        return ''
    digest = hashlib.sha256(text.encode('utf-8', 'surrogateescape'))
    return digest.hexdigest()[:MESSAGE_REF_HEX]


def looks_like_tag(text):
    """True if *text* has the syntax of a tag (says nothing about validity)."""
    return (isinstance(text, str) and len(text) == TAG_LENGTH
            and _TAG.match(text) is not None)


def check_tag(ring, tag, list_id, binding, today, lifetime):
    """Is *tag* a valid, unexpired tag for *list_id* and *binding*?

    Every failure has a short reason for the log.  The MAC is compared with
    hmac.compare_digest, so timing does not tell how much of it was right.
    """
    if not isinstance(tag, str) or len(tag) != TAG_LENGTH:
        return Check(False, 'not a tag (length)')
    match = _TAG.match(tag)
    if match is None:
        return Check(False, 'not a tag (syntax)')
    kind, kid, day_text, mac = match.groups()
    if len(binding) > MAX_BINDING:
        return Check(False, 'over-long address part', kind, kid)
    age = (today - int(day_text)) % DAY_MODULO
    if age > lifetime and DAY_MODULO - age > CLOCK_SKEW_DAYS:
        return Check(False, 'expired ({} days old)'.format(age), kind, kid)
    key = ring.usable_for_verify(kid, today, lifetime)
    if key is None:
        return Check(False, 'unknown or expired key id {}'.format(kid),
                     kind, kid)
    expected = _mac(key.secret, kind, day_text, list_id.lower(),
                    binding.lower())
    if not hmac.compare_digest(expected, mac):
        return Check(False, 'bad MAC', kind, kid)
    return Check(True, 'valid', kind, kid)


@dataclass(frozen=True)
class Envelope:
    """A -bounces envelope recipient taken apart."""

    tag: str = None      # the first subaddress part if it has tag syntax
    rest: str = ''       # what follows the tag (VERP part, probe token)
    raw_sub: str = ''    # everything after the first delimiter


def split_bounces_local(local, bounces_local, delimiter='+'):
    """Take a -bounces local part apart; None if it is not this list's.

    'test-bounces+lab123...+anne=example.org' ->
        Envelope(tag='lab123...', rest='anne=example.org', ...)
    """
    local = local.lower()
    bounces_local = bounces_local.lower()
    if local == bounces_local:
        return Envelope()
    prefix = bounces_local + delimiter
    if not local.startswith(prefix):
        return None
    sub = local[len(prefix):]
    first, _, rest = sub.partition(delimiter)
    if looks_like_tag(first):
        return Envelope(tag=first, rest=rest, raw_sub=sub)
    return Envelope(raw_sub=sub)


def tag_local(bounces_local, tag, rest, delimiter='+'):
    """The local part carrying *tag* in front of *rest*."""
    parts = [bounces_local, tag] + ([rest] if rest else [])
    return delimiter.join(parts)


# -- the key file -----------------------------------------------------------
#
# One line per key, so one file holds every secret of the plugin:
#   <64 hex>                  the verdict seal key of earlier versions:
#                             read and dropped on the next write
#   tag <kid> <64 hex> <created day> [<retired day>]
#   grace-start <day>
#   smtp-log-imported <day>
# '#' starts a comment.  Day numbers are days since 1970-01-01 (UTC).

def _day(word):
    """A day number; int()'s own error would quote the word (a secret?)."""
    if not (word.isascii() and word.isdigit()) or len(word) > 7:
        raise ValueError('bad day number')
    return int(word)


def parse_keyfile(text):
    keys, grace, imported = [], None, None
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split('#', 1)[0].split()
        if not words:
            continue
        try:
            if words[0] == 'tag' and len(words) in (4, 5):
                kid, secret = words[1], bytes.fromhex(words[2])
                if kid not in KEY_IDS or len(kid) != 1 or len(secret) < 16:
                    raise ValueError('bad key id or short secret')
                keys.append(TagKey(
                    kid, secret, _day(words[3]),
                    _day(words[4]) if len(words) == 5 else None))
            elif words[0] == 'grace-start' and len(words) == 2:
                grace = _day(words[1])
            elif words[0] == 'smtp-log-imported' and len(words) == 2:
                imported = _day(words[1])
            elif len(words) == 1 and len(bytes.fromhex(words[0])) == 32:
                pass            # the unused verdict seal key of old files
            else:
                raise ValueError('unknown line')
        except ValueError as error:
            # Never echo the line: it may hold a secret.
            raise KeyFileError('line {}: {}'.format(number, error)) from None
    kids = [k.kid for k in keys]
    if len(set(kids)) != len(kids):
        raise KeyFileError('a key id appears twice')
    return KeyRing(keys=tuple(keys), grace_start=grace, imported=imported)


def format_keyfile(ring):
    lines = ['# mailman-antibackscatter secrets; keep mode 0600, never share.']
    for key in ring.keys:
        line = 'tag {} {} {}'.format(key.kid, key.secret.hex(), key.created)
        if key.retired is not None:
            line += ' {}'.format(key.retired)
        lines.append(line)
    if ring.grace_start is not None:
        lines.append('grace-start {}'.format(ring.grace_start))
    if ring.imported is not None:
        lines.append('smtp-log-imported {}'.format(ring.imported))
    return '\n'.join(lines) + '\n'


def rotation_due(ring, today, lifetime):
    """Must the signing key be replaced so its tags expire before the key
    itself gets too old to verify them (MAX_KEY_AGE)?"""
    key = ring.current
    return key is not None and (
        today - key.created >= MAX_KEY_AGE - lifetime - 2 * CLOCK_SKEW_DAYS)


def add_key(ring, today, lifetime):
    """A new ring whose newest key signs; the old signing key is retired.

    Keys retired more than *lifetime* days ago are dropped: no valid tag
    can still name them.  Key ids cycle through 0-9a-z, skipping the ids
    still in use.
    """
    keys = []
    for key in ring.keys:
        if key.retired is not None and today - key.retired > lifetime:
            continue
        if key.retired is None:
            key = TagKey(key.kid, key.secret, key.created, today)
        keys.append(key)
    used = {k.kid for k in keys}
    last = ring.keys[-1].kid if ring.keys else KEY_IDS[-1]
    start = KEY_IDS.index(last) + 1
    for step in range(len(KEY_IDS)):
        kid = KEY_IDS[(start + step) % len(KEY_IDS)]
        if kid not in used:
            break
    else:
        raise KeyFileError('all 36 key ids are in use; wait for old keys '
                           'to expire')
    keys.append(TagKey(kid, secrets.token_bytes(32), today))
    grace = ring.grace_start if ring.grace_start is not None else today
    return dataclasses.replace(ring, keys=tuple(keys), grace_start=grace)
