"""Return paths on the Mailman side: policy, signing, and the sent record.

The tag format and its checks are pure (auth/returnpath.py); the keys live
in the plugin's key file (app/keys.py).  This module ties them to a mailing
list and to Mailman's clock, and keeps the compact record of sent
Message-IDs that lets untagged reports count during the roll-out grace
period (and while no key file exists).
"""

import dataclasses
import hashlib
import logging
import os
import re

from dataclasses import dataclass
from datetime import date, timedelta

from mailman.config import config
from mailman.interfaces.listmanager import IListManager
from mailman.utilities.datetime import now
from mailman_antibackscatter.app.keys import (
    key_path, read_ring, signing_ring, update_ring)
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.auth.returnpath import (
    KeyFileError, make_tag, message_ref, split_bounces_local, tag_local)
from mailman_antibackscatter.config.runtime import get_settings
from mailman_antibackscatter.model.schema import savepoint
from mailman_antibackscatter.model.tables import SentMessage
from sqlalchemy import func, select
from zope.component import getUtility

log = logging.getLogger('mailman.antibackscatter')

EPOCH = date(1970, 1, 1)
# The record is pruned once per this many inserted rows (and by the bounces
# runner's periodic step), so pruning costs little per message.
PRUNE_EVERY = 1000


@dataclass(frozen=True)
class BouncePolicy:
    enabled: bool
    tag_lifetime: int
    grace_period: timedelta
    sent_record_max: int
    per_recipient: bool = False


def policy(mlist=None):
    """The bounce options in force: the site's, with *mlist*'s overrides.

    A list whose `enabled` is off gets Mailman's own bounce processing (and
    untagged mail), as the per-list switch promises.
    """
    site = get_settings()
    settings = site
    if mlist is not None and site.enabled and site.bounces_enabled:
        # Off site-wide, the plugin's tables are not consulted (a site
        # rolling back may have dropped them already).
        settings = policy_for(mlist)
    return BouncePolicy(
        enabled=site.enabled and settings.enabled and site.bounces_enabled,
        tag_lifetime=site.tag_lifetime_days,
        grace_period=site.grace_period,
        sent_record_max=site.sent_record_max,
        per_recipient=settings.per_recipient_return_path)


def day_number(when=None):
    """Days since 1970-01-01 on Mailman's clock (UTC)."""
    return ((when or now()).date() - EPOCH).days


def bounces_local(mlist):
    return mlist.bounces_address.rpartition('@')[0]


def sign_sender(mlist, sender, kind, msg_id_hint=None):
    """*sender* with a tag, if it is this list's -bounces address.

    Any other envelope sender (the site owner, an admin's own choice) is left
    alone; so is one that already carries a tag.  A sender that names no
    recipient gets a bulk tag bound to the message *msg_id_hint*.
    """
    if mlist is None or not sender:
        return sender
    local, _, domain = sender.rpartition('@')
    own_local, _, own_domain = mlist.bounces_address.rpartition('@')
    if domain.lower() != own_domain.lower():
        return sender
    envelope = split_bounces_local(local, own_local,
                                   config.mta.verp_delimiter)
    if envelope is None or envelope.tag is not None:
        return sender
    rest = local[len(own_local) + 1:] if envelope.raw_sub else ''
    if not rest:
        kind, rest = 'l', message_ref(msg_id_hint)
    today = day_number()
    try:
        # The tag lifetime is site-wide: no list settings query per chunk.
        ring = signing_ring(config.VAR_DIR, today, policy().tag_lifetime)
    except (KeyFileError, OSError, ValueError) as error:
        # Deliver the message anyway: stopping all mail for a broken key
        # file would be worse than its bounces being dropped.
        log.error('NOT SIGNING: cannot read the key file (%s); %s goes out '
                  'untagged and its bounces will be dropped', error,
                  (msg_id_hint or 'a message'))
        return sender
    tag = make_tag(ring.current, kind, mlist.list_id, rest, today)
    return '{}@{}'.format(
        tag_local(own_local, tag, rest, config.mta.verp_delimiter), domain)


# -- grace period -------------------------------------------------------------

def grace_active(pol=None):
    """True while untagged reports may still count (roll-out)."""
    pol = pol or policy()
    if not pol.enabled or not pol.grace_period:
        return False
    if not os.path.exists(key_path(config.VAR_DIR)):
        # No key file (never generated, or lost): nothing is signed, every
        # return path goes out untagged, so untagged reports are checked
        # as during the roll-out rather than all dropped or shunted.
        return True
    start = read_ring(config.VAR_DIR).grace_start
    if start is None:
        # Nothing signed yet: the grace period has not even started.
        return True
    started = EPOCH + timedelta(days=start)
    return now().date() < started + timedelta(
        days=max(1, pol.grace_period.days + (pol.grace_period.seconds > 0)))


def sent_hash(message_id, recipient):
    """A signed 63-bit number naming (Message-ID, recipient): 8 bytes a row."""
    text = '{}\0{}'.format(message_id.strip().lower(), recipient.lower())
    digest = hashlib.sha256(text.encode('utf-8', 'surrogateescape')).digest()
    return int.from_bytes(digest[:8], 'big') >> 1


_inserted = 0


def record_sent(message_id, recipients, list_id):
    """Remember that *message_id* went to *recipients* (grace period only).

    One more row binds it to the list (SENT_BINDING), so the gate can tell
    cheaply, before parsing a report, whether a quoted Message-ID is one the
    list sent at all.  Never lets a database or key file problem stop
    delivery: logged and skipped.
    """
    global _inserted
    if not message_id or not recipients:
        return
    day = now().date()
    try:
        pol = policy()
        active = grace_active(pol)
    except (OSError, ValueError) as error:      # KeyFileError, bad bytes
        # grace_active reads the key file: a broken one must not stop
        # delivery (sign_sender says so too, and sends untagged).
        log.error('grace period: %s not recorded, cannot read the key file '
                  '(%s)', message_id, error)
        return
    if not active:
        return
    try:
        rows = [dict(digest=sent_hash(message_id, r), day=day)
                for r in recipients]
        rows.append(dict(digest=sent_hash(message_id, SENT_BINDING + list_id),
                         day=day))
        with savepoint(config.db.store) as connection:
            connection.execute(SentMessage.__table__.insert(), rows)
            _inserted += len(rows)
            if _inserted >= PRUNE_EVERY:
                _inserted = 0
                prune_sent(pol, connection)
    except Exception:
        log.exception('could not record sent message %s for the grace period',
                      message_id)


def prune_sent(pol=None, connection=None):
    """Drop rows older than the grace period, then the oldest over the cap.

    Core statements only, on *connection* (the savepoint's, during
    delivery) or the session's: nothing of Mailman's is flushed.
    """
    pol = pol or policy()
    run = (connection or config.db.store.connection()).execute
    table = SentMessage.__table__
    keep_days = max(1, pol.grace_period.days) + pol.tag_lifetime
    cutoff = now().date() - timedelta(days=keep_days)
    run(table.delete().where(table.c.day < cutoff))
    count = run(select(func.count()).select_from(table)).scalar()
    excess = count - pol.sent_record_max
    if excess > 0:
        oldest = select(table.c.id).order_by(table.c.id).limit(excess)
        # A materialized list: MySQL refuses a LIMIT inside IN (subquery).
        ids = [row[0] for row in run(oldest)]
        run(table.delete().where(table.c.id.in_(ids)))


def was_sent(message_ids, recipient):
    """Did the list send any of *message_ids* to *recipient*?"""
    digests = {sent_hash(mid, recipient) for mid in message_ids}
    if not digests:
        return False
    return config.db.store.query(SentMessage).filter(
        SentMessage.digest.in_(digests)).first() is not None


# Mailman's default `[logging.smtp] every` line:
#   <msgid> smtp to list@example.org for 12 recips, completed in 0.1 seconds
_SMTP_EVERY = re.compile(r'(<[^<>\s]{1,250}>) smtp to (\S+@\S+) for \d+ recip')
# Bindings of list-level rows: 'sent:' for mail the plugin delivered (its
# recipients have rows of their own), 'log:' for mail Mailman logged before.
SENT_BINDING = 'sent:'
LOG_BINDING = 'log:'


def import_smtp_log(paths, list_ids, limit):
    """Record the Message-IDs Mailman logged as sent, per list.

    Mail sent before the plugin carries no tag and was not recorded by it;
    Mailman's smtp.log names each message and list (not the recipients), so
    a report quoting one of these counts, during the grace period, for a
    member of that list.  Returns the number of rows added.
    """
    day = now().date()
    seen = set()
    for path in paths:
        try:
            stream = open(path, encoding='utf-8', errors='replace')
        except OSError:
            continue
        with stream:
            for line in stream:
                match = _SMTP_EVERY.search(line)
                if match is None:
                    continue
                list_id = list_ids.get(match.group(2).lower())
                if list_id is not None:
                    seen.add(sent_hash(match.group(1), LOG_BINDING + list_id))
    rows = [dict(digest=digest, day=day) for digest in seen][-limit:]
    if rows:
        config.db.store.execute(SentMessage.__table__.insert(), rows)
    return len(rows)


def import_smtp_log_once(pol=None):
    """At the start of the grace period, read Mailman's smtp.log once."""
    pol = pol or policy()
    try:
        if not grace_active(pol) or (
                read_ring(config.VAR_DIR).imported is not None):
            return None
    except (OSError, ValueError) as error:      # KeyFileError, bad bytes
        log.error('grace period: smtp.log not read: %s', error)
        return None
    list_ids = {m.fqdn_listname.lower(): m.list_id
                for m in getUtility(IListManager).mailing_lists}
    path = os.path.join(config.LOG_DIR, 'smtp.log')
    added = import_smtp_log((path + '.1', path), list_ids,
                            pol.sent_record_max)
    # The rows first: the key file may only say "imported" once they are
    # stored, or a failed commit would skip the import for good.
    config.db.commit()
    update_ring(config.VAR_DIR, lambda ring: dataclasses.replace(
        ring, imported=day_number()))
    log.info('grace period: recorded %d Message-IDs from %s', added, path)
    return added


_QUOTED_ID = re.compile(
    rb'^(?:message-id|in-reply-to|references):[ \t]*((?:<[^<>\s]{3,250}>'
    rb'[ \t]*)+)', re.IGNORECASE | re.MULTILINE)


def quoted_message_ids(raw, limit=20):
    """Message-IDs a report quotes (its own Message-ID is excluded)."""
    if not isinstance(raw, bytes):
        raw = raw.encode('utf-8', 'surrogateescape')
    header_end = re.search(rb'\r?\n\r?\n', raw)
    body = raw[header_end.end():] if header_end else b''
    found = []
    for match in _QUOTED_ID.finditer(body[:200000]):
        for mid in re.findall(rb'<[^<>\s]+>', match.group(1)):
            text = mid.decode('ascii', 'replace')
            if text not in found:
                found.append(text)
            if len(found) >= limit:
                return found
    return found
