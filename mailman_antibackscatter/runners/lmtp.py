"""The door: Mailman's LMTP runner, authenticating each message on arrival.

The message is authenticated here because only here are the bytes exactly as
the MTA sent them, the envelope sender, and (with Postfix XFORWARD) the
address of the client that really connected.  The verdict is written into an
Authentication-Results header under the site's own authserv-id, after removing
every copy of that header that arrived from outside, and Mailman's own LMTP
handler then queues the message as usual; every later stage reads the header.

DNS and signature checks run in a thread pool, so the LMTP server keeps
answering other sessions while one message waits for a slow domain; as many
messages as there are workers may wait for one, and the next is answered
451 at once instead of queueing behind them.
"""

import asyncio
import logging
import re

from concurrent.futures import ThreadPoolExecutor
from email.utils import parseaddr

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import syntax
from mailman.runners.lmtp import (
    LMTPController, LMTPHandler, LMTPRunner, split_recipient, SUBADDRESS_NAMES)
from mailman_antibackscatter.app.keys import current_sealer
from mailman_antibackscatter.auth import ClientInfo, Status
from mailman_antibackscatter.config.runtime import (
    get_authenticator, get_settings)
from mailman_antibackscatter.patches import switchboard
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


def client_from_xforward(attributes):
    """A ClientInfo from XFORWARD attributes, or None if they say nothing."""
    def usable(key):
        value = attributes.get(key)
        if not value or value.upper() in ('[UNAVAILABLE]', '[TEMPUNAVAIL]'):
            return None
        return value
    address = usable('ADDR')
    if address is None:
        return None
    if address.upper().startswith('IPV6:'):
        address = address[5:]
    return ClientInfo(ip=address, helo=usable('HELO'), source='xforward')


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
        client = (client_from_xforward(getattr(envelope, 'xforward', None)
                                       or {})
                  if settings.xforward else None)
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
                 'verdict=%s why="%s"', message_id_of(raw),
                 envelope.mail_from or '', verdict.from_address or '-',
                 verdict.client.ip if verdict.client else '-',
                 verdict.status.value, verdict.reason)
        envelope.content = envelope.original_content = stamped
        if (verdict.status is Status.TEMPERROR
                and settings.command_temperror == 'defer'):
            return await self._defer_commands(server, session, envelope)
        return await super().handle_DATA(server, session, envelope)

    def _handle_DATA(self, server, session, envelope):
        """Mailman's queueing, plus the envelope recipient of each bounce.

        Mailman keeps only the list and subaddress; the bounce gate needs
        the whole RCPT address (its tag).  Each -bounces recipient is queued
        on its own, with the address in msgdata[ENVELOPE_RCPT].
        """
        recipients = envelope.rcpt_tos
        if not any(is_bounces_address(to) for to in recipients):
            return super()._handle_DATA(server, session, envelope)
        statuses = []
        try:
            for to in recipients:
                envelope.rcpt_tos = [to]
                with recording_recipient(to):
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


class _RecordingSwitchboard:
    """The bounces switchboard, adding the envelope recipient to msgdata."""

    def __init__(self, switchboard, recipient):
        self._switchboard = switchboard
        self._recipient = recipient

    def enqueue(self, msg, msgdata=None, **kws):
        kws[ENVELOPE_RCPT] = self._recipient
        return self._switchboard.enqueue(msg, msgdata, **kws)

    def __getattr__(self, name):
        return getattr(self._switchboard, name)


def recording_recipient(recipient):
    """While Mailman's handler queues one message (synchronously, in the
    event loop thread), bounces queued carry *recipient*."""
    address = parseaddr(recipient)[1].lower()
    return switchboard('bounces', lambda stock: _RecordingSwitchboard(
        stock, address))


def authenticate_and_stamp(raw, mail_from, client):
    authenticator = get_authenticator()
    verdict = authenticator.authenticate(raw, mail_from, client)
    return verdict, authenticator.stamp(raw, verdict, seal=current_sealer())


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
