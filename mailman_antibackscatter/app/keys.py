"""The plugin's secrets: one key file in Mailman's var directory.

`var/antibackscatter.key` (mode 0600, outside the database) holds

* the seal key: only the door can write a verdict that later stages believe.
  The state token in its Authentication-Results header carries an HMAC under
  this key; a header written by anybody else fails the check and counts as
  no verdict at all;
* the return-path tag keys (auth/returnpath.py), rotated with overlap by
  `mailman antibackscatter keys rotate`, and the day the plugin first signed
  (the start of the roll-out grace period).

Every change is written to a temporary file and renamed over the old one
under an exclusive lock, so readers in other runners always see a whole
file; they notice a rotation by the file's modification time.
"""

import contextlib
import dataclasses
import fcntl
import hashlib
import hmac
import logging
import os

from mailman.config import config
from mailman_antibackscatter.auth.returnpath import (
    add_key, format_keyfile, KeyRing, parse_keyfile, rotation_due)

log = logging.getLogger('mailman.antibackscatter')

KEY_FILE = 'antibackscatter.key'
_seals = {}
_rings = {}


def key_path(var_dir):
    return os.path.join(var_dir, KEY_FILE)


@contextlib.contextmanager
def _locked(path):
    fd = os.open(path + '.lock', os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write(path, ring):
    tmp = '{}.{}.tmp'.format(path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w', encoding='ascii') as stream:
        stream.write(format_keyfile(ring))
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(tmp, path)


def _read(path):
    with open(path, encoding='ascii') as stream:
        return parse_keyfile(stream.read())


def update_ring(var_dir, change):
    """Apply *change* (KeyRing -> KeyRing) to the key file, under the lock."""
    path = key_path(var_dir)
    with _locked(path):
        ring = _read(path) if os.path.exists(path) else KeyRing()
        if ring.seal is None:
            ring = dataclasses.replace(ring, seal=os.urandom(32).hex())
            log.info('created the verdict seal key in %s', path)
        new = change(ring)
        if new != ring or not os.path.exists(path):
            _write(path, new)
    _rings.pop(path, None)
    return new


def read_ring(var_dir):
    """The key file's contents, created with a seal key on first use.

    Cached per process and re-read when the file changes (a rotation).
    """
    path = key_path(var_dir)
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return update_ring(var_dir, lambda ring: ring)
    stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _rings.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    ring = _read(path)
    if ring.seal is None:
        ring = update_ring(var_dir, lambda ring: ring)
    _rings[path] = (stamp, ring)
    return ring


def _rotate_if_old(ring, today, lifetime):
    """*ring*, or a new one whose signing key is young enough that the day
    field of its tags stays unambiguous (returnpath.MAX_KEY_AGE)."""
    if not rotation_due(ring, today, lifetime):
        return ring
    log.info('rotated the return-path tag keys: key %s is %d days old; it '
             'keeps verifying for %d days', ring.current.kid,
             today - ring.current.created, lifetime)
    return add_key(ring, today, lifetime)


def signing_ring(var_dir, today, lifetime):
    """The ring with a signing tag key, generating the first one if needed
    and rotating one that has been signing for almost 1000 days."""
    ring = read_ring(var_dir)
    if ring.current is not None and not rotation_due(ring, today, lifetime):
        return ring

    def first_key(ring):
        if ring.current is not None:
            return _rotate_if_old(ring, today, lifetime)
        log.info('generated the first return-path tag key')
        return add_key(ring, today, lifetime)
    return update_ring(var_dir, first_key)


def site_key(var_dir):
    """The seal key in *var_dir* (never rotates, so cached for good)."""
    key = _seals.get(var_dir)
    if key is None:
        key = _seals[var_dir] = bytes.fromhex(read_ring(var_dir).seal)
    return key


def sealer(key):
    """token -> seal: the function the door and the readers share."""
    def seal(token):
        return hmac.new(key, token.encode('ascii', 'replace'),
                        hashlib.sha256).hexdigest()[:32]
    return seal


def current_sealer():
    """The sealer of this Mailman installation."""
    return sealer(site_key(config.VAR_DIR))
