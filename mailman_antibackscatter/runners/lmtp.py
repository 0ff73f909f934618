"""The door: Mailman's LMTP runner, authenticating each message on arrival.

The message is authenticated here because only here are the bytes exactly as
the MTA sent them, the envelope sender, and (with Postfix XFORWARD from the
site's MTA) the address of the client that really connected.  The verdict
goes into the msgdata of everything Mailman's own LMTP handler queues for
the message, a channel only the site writes and that never leaves it; the
message gets a readable Authentication-Results header under the site's own
authserv-id (with no verdict state and no client), after every copy of that
header that arrived from outside is removed.

DNS and signature checks run in a thread pool, so the LMTP server keeps
answering other sessions while one message waits for a slow domain; as many
messages as there are workers may wait for one, and the next is answered
451 at once instead of queueing behind them.
"""

import asyncio
import ipaddress
import logging
import re
import time

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, ExitStack
from email.utils import parseaddr

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import syntax
from mailman.runners.lmtp import (
    LMTPController, LMTPHandler, LMTPRunner, split_recipient, SUBADDRESS_NAMES)
from mailman_antibackscatter.app.trigger import (
    MSGDATA_KEY, msgdata_verdict)
from mailman_antibackscatter.auth import Status
from mailman_antibackscatter.auth.headers import parse_headers, received_time
from mailman_antibackscatter.auth.trustzone import xforward_client
from mailman_antibackscatter.config.runtime import (
    get_authenticator, get_settings)
from mailman_antibackscatter.patches import switchboard
from mailman_antibackscatter.text import one_line
from public import public

log = logging.getLogger('mailman.antibackscatter')

XFORWARD_ATTRIBUTES = ('NAME', 'ADDR', 'PORT', 'PROTO', 'HELO', 'IDENT',
                       'SOURCE')
# Addresses whose mail is an email command; DNS trouble defers these at the
# door (optionally) because a command cannot be held for a moderator.
COMMAND_SUBADDRESSES = frozenset(('request', 'join', 'leave', 'confirm'))
# msgdata key with the RCPT address of a message to -bounces (switchboard
# drops keys starting with '_').
ENVELOPE_RCPT = 'antibackscatter_rcpt'
# The queues Mailman's LMTP handler puts messages in (its SUBADDRESS_QUEUES
# and 'in').
DOOR_QUEUES = ('in', 'command', 'bounces')
# The envelope attribute holding the verdict (as a dict) between the
# door's check and Mailman's queueing.
ENVELOPE_VERDICT = 'antibackscatter_verdict'
ERR_451_DNS = '451 4.4.3 Sender authentication temporarily failed; try later'
ERR_451_ERROR = '451 4.3.0 Sender authentication error; try later'
ERR_451_BUSY = '451 4.3.2 Sender authentication busy; try later'
# Messages that may wait for a door worker, per worker; one more is
# answered 451 at once, so that no session waits behind a long queue.
WAITING_PER_WORKER = 1


class DoorBusy(Exception):
    """Every worker of the door is busy and its waiting room is full."""


class DoorPool:
    """The door's worker threads and a bounded number of messages waiting
    for them (an executor's own queue has no bound).  Used from the event
    loop's thread only, so its count needs no lock."""

    def __init__(self, workers, waiting):
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix='antibackscatter-door')
        self.capacity = workers + waiting
        self.busy = 0

    async def run(self, func, *args):
        """func(*args) in a worker; DoorBusy when there is no room."""
        if self.busy >= self.capacity:
            raise DoorBusy('%d messages already in the door' % self.busy)
        self.busy += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, func, *args)
        finally:
            self.busy -= 1

    def shutdown(self):
        self._executor.shutdown(wait=False)


def xtext_decode(value):
    """Decode RFC 3461 xtext ('+XX' hex escapes)."""
    return re.sub(r'\+([0-9A-Fa-f]{2})',
                  lambda match: chr(int(match.group(1), 16)), value)


def peer_ip(session):
    """The LMTP peer's IP address, or None (a Unix socket, no peer)."""
    peer = getattr(session, 'peer', None)
    host = peer[0] if isinstance(peer, (tuple, list)) and peer else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


def may_xforward(ip, networks):
    """Is the LMTP peer *ip* one whose XFORWARD is believed?"""
    if ip is None:
        return False
    address = ipaddress.ip_address(ip)
    return any(address in ipaddress.ip_network(net) for net in networks
               if ipaddress.ip_network(net).version == address.version)


def client_from_xforward(session, envelope, settings):
    """The client XFORWARD names, when a peer we believe sent a valid
    one; otherwise None (the engine reads the MTA's Received header)."""
    attributes = getattr(envelope, 'xforward', None)
    if not settings.xforward or not attributes:
        return None
    ip = peer_ip(session)
    if not may_xforward(ip, settings.xforward_peers):
        log.warning('door: XFORWARD from LMTP peer %s ignored: not in '
                    '[door] xforward_peers or internal_networks', ip or '-')
        return None
    client, problem = xforward_client(attributes)
    if problem:
        log.warning('door: %s', problem)
    return client


class XForwardLMTP(LMTP):
    """aiosmtpd's LMTP server plus Postfix's XFORWARD command.

    Postfix sends XFORWARD only when LHLO advertises it, and only between
    transactions; the attributes apply to the next transaction and are reset
    with the envelope after it.
    """

    @syntax('XFORWARD attribute=value ...')
    async def smtp_XFORWARD(self, arg):
        if not getattr(self.session, 'extended_smtp', False):
            await self.push('503 5.5.1 Error: send LHLO first')
            return
        if self.envelope.mail_from is not None:
            await self.push('503 5.5.1 Error: XFORWARD inside a transaction')
            return
        attributes = getattr(self.envelope, 'xforward', None) or {}
        for item in (arg or '').split():
            name, sep, value = item.partition('=')
            if not sep or name.upper() not in XFORWARD_ATTRIBUTES:
                await self.push('501 5.5.4 Bad XFORWARD attribute: ' + name)
                return
            attributes[name.upper()] = xtext_decode(value)
        self.envelope.xforward = attributes
        await self.push('250 2.0.0 Ok')


class AuthenticatingLMTPHandler(LMTPHandler):
    """Mailman's LMTP handler with the door's checks in front of it."""

    def __init__(self, workers=4):
        super().__init__()
        self._pool = DoorPool(workers, workers * WAITING_PER_WORKER)

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        if get_settings().xforward:
            responses.insert(len(responses) - 1,
                             '250-XFORWARD ' + ' '.join(XFORWARD_ATTRIBUTES))
        return responses

    async def handle_DATA(self, server, session, envelope):
        settings = get_settings()
        if not settings.enabled or not settings.door_enabled:
            return await super().handle_DATA(server, session, envelope)
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode('utf-8', 'surrogateescape')
        client = client_from_xforward(session, envelope, settings)
        try:
            verdict, stamped = await self._pool.run(
                authenticate_and_stamp, raw, envelope.mail_from, client)
        except DoorBusy as exc:
            log.warning('door: %s; answering 451 so the MTA retries the '
                        'message later', exc)
            return '\r\n'.join(ERR_451_BUSY for _ in envelope.rcpt_tos)
        except Exception:
            # Never lose the message and never pass it on unchecked: the MTA
            # keeps it and retries.
            log.exception('door: authentication failed; answering 451 so '
                          'the MTA retries the message later')
            return '\r\n'.join(ERR_451_ERROR for _ in envelope.rcpt_tos)
        log.info('door: message-id=%s mail-from=<%s> from=%s client=%s '
                 'verdict=%s why="%s"', one_line(message_id_of(raw)),
                 one_line(envelope.mail_from),
                 one_line(verdict.from_address) or '-',
                 one_line(verdict.client.ip) if verdict.client else '-',
                 verdict.status.value, one_line(verdict.reason))
        envelope.content = envelope.original_content = stamped
        setattr(envelope, ENVELOPE_VERDICT, msgdata_verdict(verdict))
        if (verdict.status is Status.TEMPERROR
                and settings.command_temperror == 'defer'
                and deferral_open(raw, settings.command_defer_limit)):
            return await self._defer_commands(server, session, envelope)
        return await super().handle_DATA(server, session, envelope)

    def _handle_DATA(self, server, session, envelope):
        """Mailman's queueing, with the door's msgdata.

        Everything queued carries the verdict (when the door made one);
        each -bounces recipient is queued on its own, with its whole RCPT
        address (the tag the bounce gate checks) in msgdata[ENVELOPE_RCPT],
        which Mailman's handler does not keep.
        """
        verdict = getattr(envelope, ENVELOPE_VERDICT, None)
        extra = {MSGDATA_KEY: verdict} if verdict else {}
        recipients = envelope.rcpt_tos
        if not any(is_bounces_address(to) for to in recipients):
            with door_msgdata(extra):
                return super()._handle_DATA(server, session, envelope)
        statuses = []
        try:
            for to in recipients:
                envelope.rcpt_tos = [to]
                bounce = {ENVELOPE_RCPT: parseaddr(to)[1].lower()}
                with door_msgdata(extra, bounce):
                    statuses.append(
                        super()._handle_DATA(server, session, envelope))
        finally:
            envelope.rcpt_tos = recipients
        return '\r\n'.join(statuses)

    async def _defer_commands(self, server, session, envelope):
        """451 for command recipients, normal delivery for the others."""
        deferred = [is_command_address(to) for to in envelope.rcpt_tos]
        if not any(deferred):
            return await super().handle_DATA(server, session, envelope)
        log.info('door: DNS trouble; deferring %d command recipient(s) with '
                 '451 so the MTA retries', sum(deferred))
        others = [to for to, d in zip(envelope.rcpt_tos, deferred) if not d]
        statuses = []
        if others:
            all_recipients = envelope.rcpt_tos
            envelope.rcpt_tos = others
            try:
                statuses = (await super().handle_DATA(
                    server, session, envelope)).split('\r\n')
            finally:
                envelope.rcpt_tos = all_recipients
        if len(statuses) != len(others):
            # Mailman answers a broken message with one status line; it
            # stands for every recipient.
            statuses = statuses[:1] * len(others)
        merged, delivered = [], iter(statuses)
        for is_deferred in deferred:
            merged.append(ERR_451_DNS if is_deferred else next(delivered))
        return '\r\n'.join(merged)


def deferral_open(raw, limit):
    """May the door still answer 451 for DNS trouble with *raw*?

    Only until *limit* after the date in the topmost Received header (our
    MTA wrote it when it accepted the message, and each retry carries it):
    past that, or without a readable date, the message is accepted and
    set aside unanswered, so the MTA never ends up bouncing it to a sender
    nobody proved.
    """
    if not limit:
        return False
    headers = parse_headers(raw)[0]
    received = next((h for h in headers if h.lname == 'received'), None)
    accepted = received_time(received.value) if received else None
    age = None if accepted is None else time.time() - accepted
    if age is not None and age < limit.total_seconds():
        return True
    log.info('door: DNS trouble for message-id=%s, %s; accepting it (set '
             'aside, unanswered) instead of deferring', message_id_of(raw),
             'no readable date in its Received header' if age is None else
             'received %d minutes ago, [door] command_defer_limit is %s' % (
                 age // 60, limit))
    return False


def message_id_of(raw):
    """The Message-ID for the log, read cheaply from the header block."""
    match = re.search(rb'^message-id:[ \t]*(<[^>\r\n]{1,250}>)',
                      raw.split(b'\r\n\r\n', 1)[0].split(b'\n\n', 1)[0],
                      re.IGNORECASE | re.MULTILINE)
    return match.group(1).decode('ascii', 'replace') if match else '-'


def _subaddress(address):
    try:
        local, subaddress, domain = split_recipient(
            parseaddr(address)[1].lower())
    except ValueError:
        return None
    return SUBADDRESS_NAMES.get(subaddress)


def is_command_address(address):
    return _subaddress(address) in COMMAND_SUBADDRESSES


def is_bounces_address(address):
    return _subaddress(address) == 'bounces'


class _DoorSwitchboard:
    """A switchboard that adds the door's keys to every msgdata."""

    def __init__(self, switchboard, extra):
        self._switchboard = switchboard
        self._extra = extra

    def enqueue(self, msg, msgdata=None, **kws):
        kws.update(self._extra)
        return self._switchboard.enqueue(msg, msgdata, **kws)

    def __getattr__(self, name):
        return getattr(self._switchboard, name)


@contextmanager
def door_msgdata(extra, bounces_extra=None):
    """While Mailman's handler queues one delivery (synchronously, in the
    event loop thread), what it queues carries *extra* in msgdata, and
    what goes to the bounces queue *bounces_extra* too."""
    with ExitStack() as stack:
        for name in DOOR_QUEUES:
            keys = dict(extra, **(bounces_extra or {})) if (
                name == 'bounces') else extra
            if keys:
                stack.enter_context(switchboard(
                    name,
                    lambda stock, keys=keys: _DoorSwitchboard(stock, keys)))
        yield


def authenticate_and_stamp(raw, mail_from, client):
    authenticator = get_authenticator()
    verdict = authenticator.authenticate(raw, mail_from, client)
    return verdict, authenticator.stamp(raw, verdict)


class AuthenticatingLMTPController(LMTPController):
    def factory(self):
        server = XForwardLMTP(self.handler)
        server.__ident__ = 'GNU Mailman LMTP runner 2.0 (antibackscatter)'
        return server


@public
class AuthenticatingLMTPRunner(LMTPRunner):
    """`[runner.lmtp] class:` installed by the plugin."""

    def __init__(self, name, slice=None):
        super().__init__(name, slice)
        # Replace the stock controller before run() starts it.
        stock = self.lmtp
        self.lmtp = AuthenticatingLMTPController(
            AuthenticatingLMTPHandler(get_settings().door_workers),
            hostname=stock.hostname, port=stock.port)
