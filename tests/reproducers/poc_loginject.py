"""poc_loginject: a folded Message-ID and a DKIM d= value folded across
lines must not put a line break into a log line (review B.9).

At 8faf8a4 the verdict's reason (which quotes the DKIM d= value) and
compat32's Message-ID carried the attacker's CRLF into the decision log
and the door's log line.  They still do in the verdict and in Mailman's
parsed message (the engine keeps what it read); the fix is where they
are written: the decision log (app.decisions.record) and the door's line
pass every such value through text.one_line().  This observes the
decision log line itself, captured from the plugin's logger.
"""

import email
import logging
import re

from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.auth import ClientInfo
from mailman_antibackscatter.runners.lmtp import message_id_of
from mailman_antibackscatter.text import one_line
from tests.harness.dnsserver import DNSServer
from tests.reproducers.common import Observation, authenticator, main

NAME = 'poc_loginject'
LINE_BREAK = re.compile(r'[\r\n]')
RAW = (b'Received: from mx.evil (mx.evil [203.0.113.9]) by mx.example.net;'
       b' Mon, 1 Dec 2025 10:00:00 +0000\r\n'
       b'DKIM-Signature: v=1; a=rsa-sha256; d=evil\r\n 2025-12-01 10:00:00'
       b' INJECTED mailman.antibackscatter line.example; s=s;\r\n'
       b' h=from; bh=AAAA; b=AAAA\r\n'
       b'From: a@example.com\r\nTo: l@lists.example.net\r\n'
       b'Message-ID: <x@y>\r\n 2025-12-01 10:00:00 INJECTED\r\n'
       b'Subject: s\r\n\r\nbody\r\n')


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


def logged_decision(message_id, verdict):
    """The decision log line(s) for this message, as the plugin writes
    them (count_now=False: nothing touches the database)."""
    logger = logging.getLogger('mailman.antibackscatter')
    handler, level = _Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        decisions.record('answer-suppressed-forged', list_id='l.example.net',
                         message_id=message_id, verdict=verdict,
                         action='dropped', count_now=False)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return handler.records


def observe():
    compat32 = email.message_from_bytes(RAW).get('message-id')
    with DNSServer() as dns:
        verdict = authenticator(dns, authserv_id='ab.example').authenticate(
            RAW, 'a@example.com',
            ClientInfo('203.0.113.9', 'mx.evil', 'xforward'))
    lines = logged_decision(compat32, verdict)
    door_fields = [one_line(message_id_of(RAW)), one_line(verdict.reason)]
    outcome = (len(lines) == 1 and 'INJECTED' in lines[0]
               and not LINE_BREAK.search(lines[0])
               and not any(LINE_BREAK.search(f) for f in door_fields))
    breaks = verdict.reason.count('\n') + compat32.count('\n')
    broken = sum(len(LINE_BREAK.findall(line)) for line in lines)
    return Observation(NAME, [
        'folded Message-ID and d= (%d line breaks): %d decision log '
        'line with %d line breaks in it (each began a log line of its own '
        'at 8faf8a4)' % (breaks, len(lines), broken),
        'logged why= ends %r' % one_line(verdict.reason)[-50:]],
        outcome)


if __name__ == '__main__':
    main(observe)
