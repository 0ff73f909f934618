"""The incoming message that Mailman is answering right now, and its verdict.

The door (the LMTP runner) puts the verdict into the msgdata of everything
it queues (`MSGDATA_KEY`); Mailman keeps msgdata with the message through
its queues and copies it into the requests database with a held post, and
msgdata never leaves the site.  Whichever process later handles the message
(a runner, or the REST server when a moderator rejects a held post) makes
it the *trigger* for the duration of the handling, so the exit can ask: is
the recipient of this automatic message proven to be the author of the
message that caused it?  A message that never passed the door has no
verdict, whatever headers it carries.
"""

import ipaddress
import json
import logging

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from mailman_antibackscatter.auth import Status, Verdict
from mailman_antibackscatter.config.runtime import get_settings

log = logging.getLogger('mailman.antibackscatter')

# msgdata key; it does not start with '_' so the switchboard keeps it, and
# hold_message() copies it into the requests database with the held post.
MSGDATA_KEY = 'antibackscatter_verdict'


def msgdata_verdict(verdict):
    """The verdict as msgdata carries it: JSON text, ASCII only.

    Text, because Mailman's requests database keeps a held post's string
    values as they are but pickles any other value and decodes the pickle
    as raw-unicode-escape, which a backslash-u in it (an attacker's d=
    value, a float's bytes) breaks: the post was shunted, not held.
    """
    return json.dumps(verdict.to_dict(), ensure_ascii=True,
                      separators=(',', ':'))

_current = ContextVar('antibackscatter_trigger', default=None)


@dataclass(frozen=True)
class Trigger:
    """What is being answered: which list, which message, which verdict."""

    list_id: str
    message_id: str
    verdict: object          # Verdict or None when the door never saw it
    where: str               # 'runner:in', 'moderator', ...
    chosen: frozenset = frozenset()   # recipients a person chose (forwards)

    def status_for(self, address):
        if self.verdict is None:
            return Status.NONE
        return self.verdict.status_for(address)

    @property
    def forged(self):
        return self.verdict is not None and self.verdict.status is Status.FAIL


def current():
    """The trigger of the message being handled, or None outside of one."""
    return _current.get()


@contextmanager
def answering(trigger):
    token = _current.set(trigger)
    try:
        yield trigger
    finally:
        _current.reset(token)


def answering_runner(original):
    """Wrap `Runner._process_one_file`: the message is the trigger while a
    runner in `answering_runners` handles it (patches.py installs it)."""
    def _process_one_file(self, msg, msgdata):
        # Site-level: which processes answer is not a list's choice; a list
        # that switched the plugin off is let through at each decision.
        settings = get_settings()
        if not settings.enabled or self.name not in settings.answering_runners:
            return original(self, msg, msgdata)
        verdict = verdict_of(msgdata)
        trigger = Trigger(
            list_id=msgdata.get('listid', ''),
            message_id=str(msg.get('message-id', '')),
            verdict=verdict, where='runner:' + self.name)
        with answering(trigger):
            return original(self, msg, msgdata)
    return _process_one_file


def verdict_of(msgdata):
    """The door's verdict from *msgdata*, or None.

    None when the message never passed the door (queued with `mailman
    inject` or REST, or `[door] enabled: no`) or the stored verdict cannot
    be read; callers treat that as not proven.
    """
    stored = msgdata.get(MSGDATA_KEY) if msgdata is not None else None
    if not stored:
        return None
    try:
        if isinstance(stored, str):
            stored = json.loads(stored)
        # else a dict: queued or held before verdicts travelled as text
        return Verdict.from_dict(stored)
    except Exception:
        log.warning('unreadable verdict in msgdata; treated as none')
        return None


def from_internal_client(verdict, networks):
    """True when the connecting client is on one of *networks* (our own hosts).

    Mail that Mailman itself sent and that comes back (owner notices to
    -owner, for one) is never treated as forged because of the list domain's
    DMARC policy.
    """
    client = verdict.client if verdict is not None else None
    if client is None or not client.ip:
        return False
    try:
        address = ipaddress.ip_address(client.ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net) for net in networks)
