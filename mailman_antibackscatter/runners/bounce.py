"""The bounce gate: Mailman's bounce runner, counting only real bounces.

Mailman believes any delivery report that reaches a list's -bounces address:
it reads a VERP address from forgeable headers or scans the body for failed
addresses, and forwards what it cannot parse to the owners, spam attached.
The gate looks first at the envelope recipient the report was delivered to
(recorded by the plugin's LMTP runner): only a valid, unexpired return-path
tag made for this list (mta/deliver.py) lets it through.  Everything else is
dropped before any parsing, logged and counted, never scored and never
forwarded.  What passes is told apart with flufl.bounce as Mailman does, and
scored through Mailman's own bounce processor.  On a list the plugin
protects, reaching the bounce threshold always sends Mailman's probe (as
with `[mta] verp_probes: yes`): a bulk tag is shared by many members, so
only a bounce of the probe, which carries a secret token, disables anyone.

If the gate itself fails, the exception goes to Mailman's runner, which
shunts the report: nothing is scored, nothing reaches the owners, and
`mailman unshunt` replays it once the cause is fixed.  Falling back to the
stock path instead would score forged reports and forward spam whenever
somebody found input that makes the gate fail.
"""

import copy
import logging
import time

from email.utils import parseaddr

from flufl.bounce import all_failures
from mailman.app.bounces import ProbeVERP, StandardVERP
from mailman.config import config
from mailman.email.message import Message, OwnerNotification
from mailman.interfaces.bounce import (
    BounceContext, UnrecognizedBounceDisposition)
from mailman.interfaces.listmanager import IListManager
from mailman.model.bounce import BounceProcessor
from mailman.runners.bounce import BounceRunner
from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.app.bounces import (
    bounces_local, day_number, grace_active, import_smtp_log_once, LOG_BINDING,
    policy, prune_sent, quoted_message_ids, SENT_BINDING, was_sent)
from mailman_antibackscatter.app.keys import read_ring
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.app.summary import SUMMARY_POLICIES
from mailman_antibackscatter.auth.returnpath import (
    check_tag, KeyFileError, split_bounces_local)
from mailman_antibackscatter.patches import verp_probes_forced
from mailman_antibackscatter.runners.lmtp import ENVELOPE_RCPT
from mailman_antibackscatter.text import one_line
from public import public
from zope.component import getUtility

log = logging.getLogger('mailman.antibackscatter')

PRUNE_INTERVAL = 3600
# Counters are written in batches: when the queue is empty, after this many
# seconds, or at this many pending decisions (and when the runner stops).
FLUSH_SECONDS = 5
# A list's bounce policy (its per-list switch) is read at most this often per
# list: a flood of backscatter to one list then costs no settings query per
# report.  A change made through REST, the CLI or Postorius reaches the gate
# within this many seconds.
POLICY_SECONDS = 5
FLUSH_PENDING = 500
# The headers Mailman's VERP parsers read the return path from.
VERP_HEADERS = ('to', 'delivered-to', 'envelope-to', 'apparently-to')
_AUTOREPLY_HEADERS = ('x-autoreply', 'x-autorespond', 'x-autoresponder')


def is_autoreply(msg):
    """Vacation and challenge-response replies say so in their headers.

    A delivery report (multipart/report) is never one, even though MTAs
    mark DSNs Auto-Submitted too.
    """
    if msg.get_content_type() == 'multipart/report':
        return False
    submitted = (msg.get('auto-submitted') or '').strip().lower()
    if submitted and submitted != 'no':
        return True
    if any(msg.get(name) is not None for name in _AUTOREPLY_HEADERS):
        return True
    return (msg.get('precedence') or '').strip().lower() == 'auto_reply'


def failures(msg):
    """flufl.bounce's (temporary, permanent) addresses, lowercase str.

    Some of its detectors crash on odd input (a report without From:); for
    a report that carries a valid tag that only means nobody can parse it,
    so it is treated as unrecognized, not shunted.
    """
    try:
        temporary, permanent = all_failures(msg)
    except Exception:
        log.exception('flufl.bounce failed on %s; treating it as '
                      'unrecognized', one_line(msg.get('message-id')))
        return [], []
    return _addresses(temporary), _addresses(permanent)


def _addresses(found):
    """flufl.bounce's addresses as lowercase str (bytes are UTF-8)."""
    result = []
    for address in found:
        if isinstance(address, bytes):
            try:
                address = address.decode('utf-8')
            except UnicodeError:
                continue
        address = address.strip().lower()
        if address and address not in result:
            result.append(address)
    return result


def is_recipient(mlist, address):
    """Could the list have sent mail to *address*?"""
    return (mlist.members.get_member(address) is not None
            or mlist.administrators.get_member(address) is not None)


def mailman_verp(parser, mlist, sub, rcpt):
    """What Mailman's own VERP *parser* (StandardVERP or ProbeVERP) makes of
    the -bounces address with subaddress *sub* (the tag taken out).

    Mailman's parsers read headers; here they get the envelope recipient
    instead, in a message of its own.
    """
    msg = Message()
    msg['To'] = '{}{}{}@{}'.format(bounces_local(mlist),
                                   config.mta.verp_delimiter, sub,
                                   rcpt.rpartition('@')[2])
    return {address.lower() for address in parser().get_verp(mlist, msg)}


@public
class ProbingBounceProcessor(BounceProcessor):
    """Mailman's bounce processor; a protected list probes at the threshold.

    *protects(mlist)* says whether the plugin protects the list.
    """

    def __init__(self, protects):
        super().__init__()
        self._protects = protects

    def process_event(self, event):
        mlist = getUtility(IListManager).get_by_list_id(event.list_id)
        if mlist is not None and self._protects(mlist):
            with verp_probes_forced():
                return super().process_event(event)
        return super().process_event(event)


@public
class GatedBounceRunner(BounceRunner):
    """`[runner.bounces] class:` installed by the plugin."""

    _last_prune = 0.0
    _imported = False

    def __init__(self, name, slice=None):
        super().__init__(name, slice)
        self._pending = {}
        self._pending_total = 0
        self._last_flush = time.monotonic()
        self._policies = {}
        self._processor = ProbingBounceProcessor(
            lambda mlist: self.list_policy(mlist).enabled)

    def list_policy(self, mlist):
        """bounces.policy(mlist), remembered for POLICY_SECONDS."""
        now_ = time.monotonic()
        found = self._policies.get(mlist.list_id)
        if found is None or now_ - found[0] > POLICY_SECONDS:
            found = (now_, policy(mlist))
            self._policies[mlist.list_id] = found
        return found[1]

    def _dispose(self, mlist, msg, msgdata):
        if not self.list_policy(mlist).enabled:
            return super()._dispose(
                mlist, self.as_stock_verp(mlist, msg, msgdata), msgdata)
        if not mlist.process_bounces:
            return False
        try:
            self.gate(mlist, msg, msgdata)
        except KeyFileError as error:
            # Its tag can be checked only with the key that made it.
            log.error('bounce gate: report message-id=%s list=%s kept in '
                      'Mailman\'s shunt queue, its tag cannot be checked: '
                      '%s; once the key file is back, `mailman unshunt` '
                      'replays it', one_line(msg.get('message-id')),
                      mlist.list_id, error)
            raise
        except Exception:
            log.exception(
                'bounce gate failed on message-id=%s list=%s; Mailman shunts '
                'it (not scored, not forwarded); `mailman unshunt` replays it',
                one_line(msg.get('message-id')), mlist.list_id)
            raise
        return False

    def flush_counters(self):
        """Write the batched decision counters (in the current transaction)."""
        pending, self._pending, self._pending_total = self._pending, {}, 0
        self._last_flush = time.monotonic()
        for (list_id, reason), amount in pending.items():
            decisions.count(list_id, reason, amount)
        return bool(pending)

    def _do_periodic(self):
        # Called between messages too, right before Mailman commits the
        # message's transaction: nothing here may fail that transaction.
        super()._do_periodic()
        if self._pending and (
                time.monotonic() - self._last_flush > FLUSH_SECONDS
                or self._pending_total >= FLUSH_PENDING):
            self.flush_counters()

    def _idle_work(self):
        """Housekeeping in a transaction of its own, when the queue is idle."""
        if not policy().enabled:
            return          # rolling back: the plugin's tables are left alone
        if not self._imported:
            import_smtp_log_once()          # commits its rows itself
            self._imported = True
        if self._pending:
            self.flush_counters()
        if time.monotonic() - self._last_prune > PRUNE_INTERVAL:
            self._last_prune = time.monotonic()
            prune_sent()

    def _snooze(self, filecnt):
        if not filecnt:
            try:
                self._idle_work()
                config.db.commit()
            except Exception:
                log.exception('bounce gate housekeeping failed (counters, '
                              'grace-period record); retrying later')
                config.db.abort()
        super()._snooze(filecnt)

    def _clean_up(self):
        if self._pending and self.flush_counters():
            config.db.commit()
        super()._clean_up()

    # -- rolling back --------------------------------------------------------

    def as_stock_verp(self, mlist, msg, msgdata):
        """*msg*, or a copy whose valid tagged return paths read as
        Mailman's own VERP addresses.

        With the gate off (`enabled: no`), Mailman processes the report.
        Its VERP pattern would read list-bounces+v...+anne=example.org as
        the non-member v...+anne@example.org and lose a genuine bounce of
        mail sent while the plugin was on.  A tag that is still valid
        proves the list sent that mail, so its address part is handed to
        Mailman as list-bounces+anne=example.org (or the probe token as
        Mailman's probe address); after tag_lifetime no tag is valid and
        Mailman sees every report as it arrived.
        """
        local_part = bounces_local(mlist)
        delimiter = config.mta.verp_delimiter
        rcpt = msgdata.get(ENVELOPE_RCPT)
        found = [rcpt] if rcpt else []
        for header in VERP_HEADERS:
            found.extend(parseaddr(v)[1] for v in msg.get_all(header, []))
        stock = {}
        for address in found:
            key = (address or '').lower()
            if key in stock or '@' not in key:
                continue
            local, _, domain = key.rpartition('@')
            envelope = split_bounces_local(local, local_part, delimiter)
            if (envelope is None or envelope.tag is None
                    or envelope.tag[0] not in 'vp' or not envelope.rest):
                continue
            check = check_tag(read_ring(config.VAR_DIR), envelope.tag,
                              mlist.list_id, envelope.rest, day_number(),
                              policy().tag_lifetime)
            if check.ok:
                stock[key] = '{}{}{}@{}'.format(
                    local_part, delimiter, envelope.rest, domain)
        if not stock:
            return msg
        decoded = copy.deepcopy(msg)
        for header in VERP_HEADERS:
            values = decoded.get_all(header, [])
            del decoded[header]
            for value in values:
                decoded[header] = stock.get(parseaddr(value)[1].lower(),
                                            value)
        if rcpt and rcpt.lower() in stock and not any(
                parseaddr(v)[1].lower() == rcpt.lower()
                for h in VERP_HEADERS for v in msg.get_all(h, [])):
            decoded['To'] = stock[rcpt.lower()]
        log.info('bounce-rollback list=%s message-id=%s: tagged return '
                 'path decoded as %s for Mailman\'s own bounce processing',
                 mlist.list_id, one_line(msg.get('message-id')),
                 one_line(' '.join(sorted(stock.values())), 200))
        return decoded

    # -- the gate ----------------------------------------------------------

    def gate(self, mlist, msg, msgdata):
        """Decide one report; returns the decision reason (also counted)."""
        rcpt = msgdata.get(ENVELOPE_RCPT)
        envelope = None
        if rcpt:
            envelope = split_bounces_local(
                rcpt.rpartition('@')[0], bounces_local(mlist),
                config.mta.verp_delimiter)
        if envelope is None or envelope.tag is None:
            return self._untagged(mlist, msg, rcpt, envelope)
        pol = policy()          # tag lifetime is site-wide: no list lookup
        check = check_tag(read_ring(config.VAR_DIR), envelope.tag,
                          mlist.list_id, envelope.rest, day_number(),
                          pol.tag_lifetime)
        if not check.ok:
            # The MAC covers the kind and everything after the tag, so a bulk
            # tag with an address appended, or another member's VERP part,
            # fails here.
            return self._drop('bounce-forged-dropped', mlist, msg, rcpt,
                              'tag: ' + check.reason)
        kind = envelope.tag[0]
        if kind == 'p':
            return self._probe(mlist, msg, rcpt, envelope.rest)
        if kind == 'v':
            found = mailman_verp(StandardVERP, mlist, envelope.rest, rcpt)
            if len(found) != 1:
                return self._drop('bounce-forged-dropped', mlist, msg, rcpt,
                                  'tagged address part is not a VERP address')
            return self._score(mlist, msg, rcpt, found.pop())
        return self._score(mlist, msg, rcpt, None)

    def _score(self, mlist, msg, rcpt, recipient):
        """A report that answers our mail: told apart as Mailman does."""
        temporary, permanent = failures(msg)
        if recipient is not None:
            # VERP: the tag names the recipient; the body only says how.
            # Any temporary failure makes it temporary, as in Mailman.
            failed = [recipient] if permanent and not temporary else []
        else:
            failed = [a for a in permanent if is_recipient(mlist, a)]
            strangers = [a for a in permanent if a not in failed]
            if permanent and not failed:
                return self._drop(
                    'bounce-forged-dropped', mlist, msg, rcpt,
                    'names no recipient of the list: ' + one_line(
                        ' '.join(strangers), 200))
            if strangers:
                log.info('bounce: ignoring non-recipients %s named in %s',
                         one_line(' '.join(strangers), 200),
                         one_line(msg.get('message-id')))
        if failed:
            for address in failed:
                self._processor.register(mlist, address, msg,
                                         BounceContext.normal)
                self._record('bounce-genuine', mlist, msg, rcpt, 'scored',
                             recipient=address)
            return 'bounce-genuine'
        if temporary:
            return self._record('bounce-temporary', mlist, msg, rcpt,
                                'ignored', recipient=recipient)
        if is_autoreply(msg):
            return self._record('bounce-autoreply', mlist, msg, rcpt,
                                'ignored', recipient=recipient)
        self._notify_owners(mlist, msg, rcpt, recipient)
        return 'bounce-unrecognized'

    def _probe(self, mlist, msg, rcpt, token):
        """Mailman's own token check decides a probe bounce."""
        found = mailman_verp(ProbeVERP, mlist, token, rcpt)
        if not found:
            return self._drop('bounce-forged-dropped', mlist, msg, rcpt,
                              'probe token unknown, used or expired')
        return self._register_probe(mlist, msg, rcpt, found.pop())

    def _register_probe(self, mlist, msg, rcpt, address):
        self._processor.register(mlist, address, msg, BounceContext.probe)
        return self._record('bounce-probe', mlist, msg, rcpt, 'scored',
                            recipient=address)

    def _untagged(self, mlist, msg, rcpt, envelope):
        """No tag: backscatter, unless the roll-out grace period saves it."""
        sub = envelope.raw_sub if envelope is not None else ''
        if sub and '=' not in sub and config.mta.verp_delimiter not in sub:
            # A probe sent before the plugin signed anything: its random
            # token is its own proof, checked by Mailman.
            found = mailman_verp(ProbeVERP, mlist, sub, rcpt)
            if found:
                return self._register_probe(mlist, msg, rcpt, found.pop())
        if grace_active():
            accepted = self._grace(mlist, msg, rcpt, sub)
            if accepted:
                return accepted
        return self._drop('bounce-backscatter-dropped', mlist, msg, rcpt,
                          'no return-path tag' if rcpt else
                          'envelope recipient unknown (queued without the '
                          'plugin\'s LMTP runner)')

    def _grace(self, mlist, msg, rcpt, sub):
        """Count an untagged report that quotes a Message-ID we really sent.

        A report quoting no Message-ID the list sent is dropped after one
        indexed lookup, before any parsing.
        """
        try:
            message_ids = quoted_message_ids(msg.as_bytes())
        except Exception:
            # as_bytes() fails on some broken encodings; then it quotes
            # nothing we could match.
            message_ids = quoted_message_ids(str(msg.get_payload()))
        if not message_ids:
            return None
        logged = was_sent(message_ids, LOG_BINDING + mlist.list_id)
        if not logged and not was_sent(message_ids,
                                       SENT_BINDING + mlist.list_id):
            return None
        temporary, permanent = failures(msg)
        candidates = permanent
        if '=' in sub:
            # Bounce of mail VERP'd before the plugin: Mailman's parser.
            verp = mailman_verp(StandardVERP, mlist, sub, rcpt)
            candidates = sorted(verp) if permanent else []
        # Sent by the plugin to that very address, or (before the plugin)
        # logged by Mailman as sent to the list the address belongs to.
        accepted = [a for a in candidates if is_recipient(mlist, a) and (
            logged or was_sent(message_ids, a))]
        if accepted and '=' in sub and temporary:
            # As for a tagged VERP report (and in Mailman): any temporary
            # failure makes it temporary.
            return self._record('bounce-temporary', mlist, msg, rcpt,
                                'ignored', recipient=accepted[0])
        for address in accepted:
            self._processor.register(mlist, address, msg,
                                     BounceContext.normal)
            self._record('bounce-grace-accepted', mlist, msg, rcpt, 'scored',
                         recipient=address)
        return 'bounce-grace-accepted' if accepted else None

    # -- outcomes ----------------------------------------------------------

    def _record(self, reason, mlist, msg, rcpt, action, recipient=None,
                detail=None):
        parts = ['rcpt=' + one_line(rcpt or '-')]
        if detail:
            parts.append(detail)
        decisions.record(reason, list_id=mlist.list_id,
                         message_id=one_line(msg.get('message-id')),
                         action=action, recipient=recipient,
                         detail='; '.join(parts), count_now=False)
        key = (mlist.list_id, reason)
        self._pending[key] = self._pending.get(key, 0) + 1
        self._pending_total += 1
        return reason

    def _drop(self, reason, mlist, msg, rcpt, why):
        return self._record(reason, mlist, msg, rcpt, 'dropped', detail=why)

    def _notify_owners(self, mlist, msg, rcpt, recipient):
        """A genuine report nobody can parse: a summary for the owners.

        Per the owner notification policy and the list's
        forward_unrecognized_bounces_to; the report itself is never attached
        (it may quote spam the list was made to bounce).
        """
        disposition = mlist.forward_unrecognized_bounces_to
        notices = policy_for(mlist).owner_notices
        if (disposition is UnrecognizedBounceDisposition.discard
                or notices == 'none'):
            return self._record('bounce-unrecognized', mlist, msg, rcpt,
                                'not-notified', recipient=recipient)
        if notices in SUMMARY_POLICIES:
            # Counted under its own reason; notify-owners reports it.
            return self._record('bounce-unrecognized-summarized', mlist, msg,
                                rcpt, 'summarized', recipient=recipient)
        to_administrators = (
            disposition is UnrecognizedBounceDisposition.administrators)
        roster = mlist.administrators if to_administrators else None
        text = (
            'The list {list} received a delivery report for mail it really '
            'sent (its return-path tag is valid), but could not tell which '
            'address failed or why.\n\n'
            'Envelope recipient: {rcpt}\n'
            'Recipient bound to the tag: {recipient}\n'
            'Message-ID: {mid}\nDate: {date}\nFrom: {frm}\nSubject: '
            '{subject}\nContent-Type: {ctype}\n\n'
            'The report itself is not attached and not kept; the '
            'antibackscatter log records its Message-ID and this '
            'decision.\n').format(
                list=mlist.fqdn_listname, rcpt=one_line(rcpt),
                recipient=recipient or '(bulk delivery)',
                mid=one_line(msg.get('message-id')),
                date=one_line(msg.get('date')),
                frm=one_line(parseaddr(str(msg.get('from', '')))[1]),
                subject=one_line(msg.get('subject')),
                ctype=one_line(msg.get_content_type()))
        notice = OwnerNotification(
            mlist, 'Unrecognized delivery report for {}'.format(
                mlist.display_name), text, roster=roster)
        notice.send(mlist)
        return self._record('bounce-unrecognized', mlist, msg, rcpt,
                            'owners-notified', recipient=recipient)
