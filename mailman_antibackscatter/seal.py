"""The site key that seals the door's verdict header.

Only the door can write a verdict that later stages believe: the state token
in its Authentication-Results header carries an HMAC under a key kept in
Mailman's var directory.  A header written by anybody else (a spammer, or
any path into Mailman that bypasses the door) fails the check and counts as
no verdict at all: not proven.
"""

import hashlib
import hmac
import logging
import os

log = logging.getLogger('mailman.antibackscatter')

KEY_FILE = 'antibackscatter.key'
_keys = {}


def site_key(var_dir):
    """The key in *var_dir*, created (mode 0600) on first use."""
    path = os.path.join(var_dir, KEY_FILE)
    key = _keys.get(path)
    if key is not None:
        return key
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, 'w') as stream:
            stream.write(os.urandom(32).hex() + '\n')
        log.info('created the verdict seal key %s', path)
    with open(path, encoding='ascii') as stream:
        text = stream.read().strip()
    if len(text) < 32:
        # Another process is writing it right now; nothing to cache yet.
        raise RuntimeError('seal key {} is incomplete'.format(path))
    key = _keys[path] = bytes.fromhex(text)
    return key


def sealer(key):
    """token -> seal: the function the door and the readers share."""
    def seal(token):
        return hmac.new(key, token.encode('ascii', 'replace'),
                        hashlib.sha256).hexdigest()[:32]
    return seal


def current_sealer():
    """The sealer of this Mailman installation."""
    from mailman.config import config
    return sealer(site_key(config.VAR_DIR))
