"""A small internet on loopback: DNS zones, senders, a real Mailman with the plugin.

Shared by the end-to-end tests and `make demo`, so both exercise exactly the
same set-up: a real DNS server serving SPF, DKIM and DMARC records for a few
sender domains, an SMTP sink standing in for the outgoing MTA, and a real
Mailman (master, runners, REST, LMTP) with the plugin enabled and pointed at
that DNS server.  Mail is delivered over LMTP the way Postfix delivers it: a
Received header naming the client, the envelope sender, and optionally
XFORWARD.
"""

import email.utils
import itertools
import os
import time

from pathlib import Path

from tests.harness.dnsserver import DNSServer
from tests.harness.instance import INSTALLS, MailmanInstance
from tests.harness.signing import dkim_sign, generate_rsa_key
from tests.harness.smtpsink import SMTPSink

LIST_DOMAIN = 'lists.example.net'
AUTHSERV_ID = 'mail.lists.example.net'
REPO_ROOT = Path(__file__).resolve().parents[2]

# Who sends from where.
AUTHENTIC_MX = ('192.0.2.10', 'mx.example.org')         # example.org's MTA
SPAMMER = ('203.0.113.66', 'bot.spam.test')             # a botnet host
DNSDOWN_MX = ('198.51.100.20', 'mx.dnsdown.example')


def list_address(name):
    """name@the list domain, e.g. list_address('test-request')."""
    return '{}@{}'.format(name, LIST_DOMAIN)


def plugin_section(config_path):
    return ('[plugin.antibackscatter]\n'
            'class: mailman_antibackscatter.plugin.AntiBackscatterPlugin\n'
            'enabled: yes\n'
            'component_package: mailman_antibackscatter\n'
            'configuration: {}\n').format(config_path)


class World:
    """DNS server + SMTP sink + Mailman with the plugin, all on 127.0.0.1."""

    _ids = itertools.count(1)

    def __init__(self, root, *, plugin=True, site_options='',
                 extra_config='', database_url=None, start_timeout=180,
                 engine_options='', install=INSTALLS['venv']):
        self.root = Path(root)
        # Which Mailman runs (tests.harness.instance.INSTALLS).  One run
        # as its own user gets nothing of ours on its path: it runs the
        # plugin installed into its own Python.
        self.install = install
        # Seconds Mailman may take to start (a loaded machine needs more).
        self.start_timeout = start_timeout
        # None: SQLite; else a PostgreSQL URL, e.g. PostgresServer.url.
        self.database_url = database_url
        self.root.mkdir(parents=True, exist_ok=True)
        self.plugin = plugin
        self.site_options = site_options
        # lines for the [antibackscatter] section (it is written here)
        self.engine_options = engine_options
        self.extra_config = extra_config
        self.dns = DNSServer()
        self.sink = SMTPSink()
        self.mailman = None
        self.key_pem = None

    # -- life cycle ------------------------------------------------------

    def start(self):
        self.dns.start()
        self._load_zones()
        self.sink.start()
        plugin_text = None
        if self.plugin:
            config_path = self.root / 'antibackscatter.cfg'
            config_path.write_text(
                '[antibackscatter]\nauthserv_id: {}\n{}\n'
                '[dns]\nnameservers: 127.0.0.1:{}\ntimeout: 2\n\n{}'.format(
                    AUTHSERV_ID, self.engine_options, self.dns.port,
                    self.site_options))
            plugin_text = plugin_section(config_path)
        env = {}
        if self.install.user is None:
            env['PYTHONPATH'] = os.pathsep.join(
                p for p in (str(REPO_ROOT), os.environ.get('PYTHONPATH'))
                if p)
        self.mailman = MailmanInstance(
            self.root / 'mailman', smtp_port=self.sink.port,
            plugin=plugin_text,
            extra_config=self.extra_config,
            database_url=self.database_url,
            env=env, install=self.install)
        try:
            # generous: on a loaded machine runners take a minute to start
            self.mailman.start(timeout=self.start_timeout)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self):
        if self.mailman is not None:
            self.mailman.stop()
        self.sink.stop()
        self.dns.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- DNS ---------------------------------------------------------------

    def _load_zones(self):
        self.key_pem, txt = generate_rsa_key(2048)
        add = self.dns.add
        # example.org: SPF, DKIM and DMARC all in order.
        add('example.org', 'TXT', 'v=spf1 ip4:192.0.2.0/24 -all')
        add('sel._domainkey.example.org', 'TXT', txt)
        add('_dmarc.example.org', 'TXT', 'v=DMARC1; p=reject')
        add('mx.example.org', 'A', AUTHENTIC_MX[0])
        # victim.example: an innocent domain that spammers forge.
        add('victim.example', 'TXT', 'v=spf1 ip4:198.51.100.0/24 -all')
        add('_dmarc.victim.example', 'TXT', 'v=DMARC1; p=reject')
        # plain.example: publishes nothing, so nothing can be proven.
        add('plain.example', 'A', '198.51.100.30')
        # dnsdown.example: its name servers do not answer.
        self.dns.blackhole('dnsdown.example')
        # The list's own domain.
        add(LIST_DOMAIN, 'TXT', 'v=spf1 ip4:127.0.0.1 -all')

    # -- mail ----------------------------------------------------------------

    def message(self, *, sender, to, subject=None, body=None, sign=False,
                headers=(), client=AUTHENTIC_MX):
        """A message as the list's MTA would hand it over (bytes, CRLF)."""
        number = next(self._ids)
        subject = subject or 'test message {}'.format(number)
        message_id = '<e2e-{}-{}@{}>'.format(
            number, int(time.time() * 1000), sender.rpartition('@')[2])
        lines = [
            'From: {}'.format(sender),
            'To: {}'.format(to),
            'Subject: {}'.format(subject),
            'Date: {}'.format(email.utils.formatdate()),
            'Message-ID: {}'.format(message_id),
            'MIME-Version: 1.0',
            'Content-Type: text/plain; charset="us-ascii"',
            ]
        lines.extend(headers)
        text = body if body is not None else (
            'Hello,\n\nthis is message {}.\n'.format(number))
        raw = ('\r\n'.join(lines) + '\r\n\r\n'
               + text.replace('\n', '\r\n')).encode('utf-8')
        if sign:
            raw = dkim_sign(raw, 'example.org', 'sel', self.key_pem)
        ip, helo = client
        received = (
            'Received: from {helo} ({helo} [{ip}])\r\n'
            '\tby {mta} (Postfix) with ESMTPS id 4Zx{n:05d}\r\n'
            '\tfor <{to}>; {date}\r\n').format(
                helo=helo, ip=ip, mta=AUTHSERV_ID, n=number,
                to=to, date=email.utils.formatdate())
        return received.encode('ascii') + raw, message_id

    def deliver(self, raw, *, mail_from, rcpt_to, client=AUTHENTIC_MX,
                xforward=True):
        """Deliver over LMTP as Postfix does; returns the LMTP replies."""
        forward = None
        if xforward:
            ip, helo = client
            forward = dict(NAME=helo, ADDR=ip, HELO=helo, PROTO='ESMTP',
                           SOURCE='REMOTE')
        return self.mailman.inject(raw, mail_from=mail_from, rcpt_to=rcpt_to,
                                   xforward=forward)

    def send(self, *, sender, to, mail_from=None, client=AUTHENTIC_MX,
             sign=False, xforward=True, **kws):
        """Build and deliver one message; returns its Message-ID."""
        raw, message_id = self.message(sender=sender, to=to, sign=sign,
                                       client=client, **kws)
        self.deliver(raw, mail_from=sender if mail_from is None else mail_from,
                     rcpt_to=to, client=client, xforward=xforward)
        return message_id

    # -- delivery reports --------------------------------------------------

    def _report_parts(self, kind, mta, original, message_id):
        """(number, *original* as LF text, Message-ID) for a new report."""
        number = next(self._ids)
        if isinstance(original, bytes):
            original = original.decode('utf-8', 'replace')
        mid = message_id or '<{}-{}-{}@{}>'.format(
            kind, number, int(time.time() * 1000), mta)
        return number, original.replace('\r\n', '\n'), mid

    def dsn(self, *, to, failed, original, status='5.1.1',
            reporting_mta='mx.example.org', message_id=None):
        """A standard RFC 3464 report to *to* about *failed*.

        *original* is the bounced message's header block (bytes/str) that
        the report quotes as text/rfc822-headers.
        """
        number, original, mid = self._report_parts(
            'dsn', reporting_mta, original, message_id)
        headers = original.split('\n\n', 1)[0]
        action = 'failed' if status.startswith('5') else 'delayed'
        boundary = 'dsn-boundary-{}'.format(number)
        text = (
            'From: MAILER-DAEMON@{mta}\n'
            'To: {to}\n'
            'Subject: Undelivered Mail Returned to Sender\n'
            'Date: {date}\n'
            'Message-ID: {mid}\n'
            'Auto-Submitted: auto-replied\n'
            'MIME-Version: 1.0\n'
            'Content-Type: multipart/report; report-type=delivery-status;\n'
            '\tboundary="{b}"\n\n'
            '--{b}\nContent-Type: text/plain\n\n'
            'Your message could not be delivered to {failed}.\n\n'
            '--{b}\nContent-Type: message/delivery-status\n\n'
            'Reporting-MTA: dns; {mta}\n\n'
            'Final-Recipient: rfc822; {failed}\n'
            'Original-Recipient: rfc822; {failed}\n'
            'Action: {action}\nStatus: {status}\n'
            'Diagnostic-Code: smtp; {code} {status} mailbox problem\n\n'
            '--{b}\nContent-Type: text/rfc822-headers\n\n'
            '{headers}\n\n--{b}--\n').format(
                mta=reporting_mta, to=to, date=email.utils.formatdate(),
                mid=mid, b=boundary, failed=failed, action=action, status=status,
                code='550' if action == 'failed' else '451',
                headers=headers)
        return text.replace('\n', '\r\n').encode('utf-8')

    def qmail_bounce(self, *, to, failed, original, message_id=None):
        """A non-standard (qmail-style) failure report quoting *original*."""
        _, original, mid = self._report_parts(
            'qmail', 'mx.example.org', original, message_id)
        text = (
            'From: MAILER-DAEMON@mx.example.org\n'
            'To: {to}\n'
            'Subject: failure notice\n'
            'Date: {date}\n'
            'Message-ID: {mid}\n\n'
            'Hi. This is the qmail-send program at mx.example.org.\n'
            "I'm afraid I wasn't able to deliver your message to the "
            'following addresses.\n'
            'This is a permanent error; I\'ve given up. Sorry it didn\'t '
            'work out.\n\n'
            '<{failed}>:\n'
            'Sorry, no mailbox here by that name. (#5.1.1)\n\n'
            '--- Below this line is a copy of the message.\n\n'
            '{original}\n').format(
                to=to, date=email.utils.formatdate(), failed=failed,
                mid=mid, original=original)
        return text.replace('\n', '\r\n').encode('utf-8')

    def filter_notice(self, *, to, original, message_id=None,
                      reporting_mta='mail.victim.example'):
        """A content filter's free-form "blocked as spam" notice.

        No DSN part and no failed address in any format flufl.bounce knows:
        the kind of backscatter stock Mailman forwards to the owners.
        *original* (bytes/str) is attached as message/rfc822.
        """
        number, original, mid = self._report_parts(
            'notice', reporting_mta, original, message_id)
        text = (
            'From: postmaster@{mta}\n'
            'To: {to}\n'
            'Subject: Message blocked: spam detected\n'
            'Date: {date}\n'
            'Message-ID: {mid}\n'
            'MIME-Version: 1.0\n'
            'Content-Type: multipart/mixed; boundary="notice-{n}"\n\n'
            '--notice-{n}\nContent-Type: text/plain\n\n'
            'Our content filter classified the attached message as spam\n'
            'and did not deliver it. Please do not reply.\n\n'
            '--notice-{n}\nContent-Type: message/rfc822\n\n'
            '{original}\n--notice-{n}--\n').format(
                mta=reporting_mta, to=to, date=email.utils.formatdate(),
                mid=mid, n=number, original=original)
        return text.replace('\n', '\r\n').encode('utf-8')

    def deliver_report(self, raw, *, rcpt_to, client=AUTHENTIC_MX):
        """Deliver a report as an MTA does: null envelope sender."""
        return self.deliver(raw, mail_from='', rcpt_to=rcpt_to,
                            client=client)

    def sent_to(self, address):
        """Messages the sink received for *address*."""
        return self.sink.to(address)

    def answers_about(self, address, message_id=None, subject=None):
        """Deliveries to *address* (optionally mentioning a subject)."""
        found = []
        for delivery in self.sink.to(address):
            text = delivery.data.decode('utf-8', 'replace')
            if subject is not None and subject not in text:
                continue
            if message_id is not None and message_id not in text:
                continue
            found.append(delivery)
        return found
