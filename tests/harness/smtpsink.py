# Copyright (C) 2026 the mailman-antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""An SMTP sink for end-to-end tests.

The sink plays the part of the outgoing MTA: Mailman's ``[mta] smtp_port``
points at it, and every message Mailman sends is recorded together with its
SMTP envelope (``MAIL FROM`` and the ``RCPT TO`` list), which is what the
backscatter tests care about.

    with SMTPSink() as sink:
        ...
        delivery = sink.wait_for(lambda d: 'anne@example.org' in d.rcpt_tos)
"""

from __future__ import annotations

import email.policy
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Callable, Optional

from aiosmtpd.controller import Controller

__all__ = ['Delivery', 'SMTPSink', 'free_port']

_HOST = '127.0.0.1'


def free_port(host: str = _HOST) -> int:
    """Return a TCP port on ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Delivery:
    """One message as received by the sink, with its envelope."""

    mail_from: str
    rcpt_tos: tuple
    data: bytes
    message: EmailMessage = field(repr=False, compare=False)
    received_at: float = 0.0

    def sent_to(self, address: str) -> bool:
        """True if ``address`` is one of the envelope recipients."""
        wanted = address.lower()
        return any(rcpt.lower() == wanted for rcpt in self.rcpt_tos)

    def summary(self) -> str:
        subject = self.message.get('Subject', '')
        msgid = self.message.get('Message-ID', '')
        return 'MAIL FROM:<{}> RCPT TO:{} Subject: {!r} Message-ID: {}'.format(
            self.mail_from, ','.join(self.rcpt_tos), str(subject), msgid)


class _Handler:
    """aiosmtpd handler that hands every DATA to the sink."""

    def __init__(self, sink: 'SMTPSink'):
        self._sink = sink

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        if isinstance(data, str):       # only with decode_data=True
            data = data.encode('utf-8', 'surrogateescape')
        mail_from = envelope.mail_from or ''
        # aiosmtpd gives '<>' as '' already; normalise anyway.
        if mail_from == '<>':
            mail_from = ''
        self._sink._record(mail_from, tuple(envelope.rcpt_tos), data)
        return '250 OK'


class SMTPSink:
    """Record every message received on 127.0.0.1:``port``.

    ``port=0`` picks a free port when the sink starts.  Thread-safe: the
    aiosmtpd event loop runs in its own thread, tests read from theirs.
    """

    def __init__(self, port: int = 0, host: str = _HOST, *,
                 ready_timeout: float = 15.0):
        self.host = host
        self._requested_port = port
        self.port = port
        self._ready_timeout = ready_timeout
        self._controller: Optional[Controller] = None
        self._deliveries: list = []
        self._cond = threading.Condition()

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> 'SMTPSink':
        if self._controller is not None:
            return self
        last_error: Optional[Exception] = None
        # A port found by binding may be taken by someone else before the
        # controller binds it; try a few times when we chose it ourselves.
        attempts = 5 if self._requested_port == 0 else 1
        for _ in range(attempts):
            port = self._requested_port or free_port(self.host)
            controller = Controller(
                _Handler(self), hostname=self.host, port=port,
                ready_timeout=self._ready_timeout,
                # Keep the raw bytes; accept whatever Mailman may send.
                decode_data=False, enable_SMTPUTF8=True,
                data_size_limit=None)
            try:
                controller.start()
            except Exception as error:       # bind failure, startup timeout
                last_error = error
                try:
                    controller.stop()
                except Exception:
                    pass
                continue
            self._controller = controller
            self.port = port
            return self
        raise RuntimeError('SMTP sink could not start on {}: {!r}'.format(
            self.host, last_error))

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> 'SMTPSink':
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- recording ----------------------------------------------------------

    def _record(self, mail_from: str, rcpt_tos: tuple, data: bytes) -> None:
        message = BytesParser(policy=email.policy.default).parsebytes(data)
        delivery = Delivery(mail_from=mail_from, rcpt_tos=rcpt_tos,
                            data=data, message=message,
                            received_at=time.time())
        with self._cond:
            self._deliveries.append(delivery)
            self._cond.notify_all()

    @property
    def deliveries(self) -> list:
        """A snapshot copy of everything received so far, oldest first."""
        with self._cond:
            return list(self._deliveries)

    def to(self, address: str) -> list:
        """Deliveries whose envelope recipients include ``address``."""
        return [d for d in self.deliveries if d.sent_to(address)]

    def clear(self) -> None:
        with self._cond:
            self._deliveries.clear()

    def wait_for(self, predicate: Callable[[Delivery], bool],
                 timeout: float = 30) -> Delivery:
        """Return the first delivery for which ``predicate`` is true.

        Waits up to ``timeout`` seconds for it to arrive, then raises
        AssertionError listing everything that did arrive.
        """
        deadline = time.monotonic() + timeout
        checked = 0
        with self._cond:
            while True:
                # Only look at deliveries not yet checked.
                while checked < len(self._deliveries):
                    delivery = self._deliveries[checked]
                    checked += 1
                    if predicate(delivery):
                        return delivery
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.5))
                # clear() may have shrunk the list meanwhile.
                checked = min(checked, len(self._deliveries))
        raise AssertionError(
            'no matching delivery within {}s; {} received:\n{}'.format(
                timeout, len(self.deliveries), self.describe() or '  (none)'))

    def describe(self) -> str:
        """One line per delivery, for assertion messages."""
        return '\n'.join('  ' + d.summary() for d in self.deliveries)
