"""The plugin's secrets: one key file in Mailman's var directory.

`var/antibackscatter.key` (mode 0600, outside the database) holds the
return-path tag keys (auth/returnpath.py), rotated with overlap by
`mailman antibackscatter keys rotate`, and the day the plugin first signed
(the start of the roll-out grace period).  `mailman antibackscatter keys
generate` creates it.  A missing file is an error that names it, never
replaced silently: a new key would invalidate every return-path tag still
out there, so the bounces of mail already sent would be dropped.

Every change is written to a temporary file and renamed over the old one
under an exclusive lock, so readers in other runners always see a whole
file; they notice a rotation by the file's modification time.
"""

import contextlib
import fcntl
import logging
import os

from mailman_antibackscatter.auth.returnpath import (
    add_key, format_keyfile, KeyFileError, KeyRing, parse_keyfile,
    rotation_due)

log = logging.getLogger('mailman.antibackscatter')

KEY_FILE = 'antibackscatter.key'
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


def missing(path):
    """The error for a key file that is not there."""
    return KeyFileError(
        'the key file {} is missing; restore it from a backup, or create a '
        'new one with `mailman antibackscatter keys generate` (a new key '
        'invalidates the return paths of mail already sent)'.format(path))


def update_ring(var_dir, change, create=False):
    """Apply *change* (KeyRing -> KeyRing) to the key file, under the lock.

    A missing file raises KeyFileError unless *create* (`keys generate`).
    """
    path = key_path(var_dir)
    with _locked(path):
        exists = os.path.exists(path)
        if not exists and not create:
            raise missing(path)
        ring = _read(path) if exists else KeyRing()
        new = change(ring)
        if new != ring or not exists:
            _write(path, new)
            if not exists:
                log.info('created the key file %s', path)
    _rings.pop(path, None)
    return new


def read_ring(var_dir):
    """The key file's contents; KeyFileError if it is missing or broken.

    Cached per process and re-read when the file changes (a rotation).
    """
    path = key_path(var_dir)
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise missing(path) from None
    stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _rings.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    ring = _read(path)
    _rings[path] = (stamp, ring)
    return ring


def key_file_problem(var_dir):
    """Why the key file cannot be used, as one line, or None."""
    try:
        read_ring(var_dir)
    except (OSError, ValueError) as error:      # KeyFileError, bad bytes
        return str(error)
    return None


def generate(var_dir, today, lifetime):
    """The ring with a signing key, creating the key file if needed
    (`mailman antibackscatter keys generate`); (ring, created a key)."""
    added = []

    def first_key(ring):
        if ring.current is not None:
            return ring
        added.append(True)
        return add_key(ring, today, lifetime)
    return update_ring(var_dir, first_key, create=True), bool(added)


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
