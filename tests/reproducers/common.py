"""What every reproducer shares: its observation, the engine, a World.

An Observation says what a reproducer saw in one or two plain lines and
whether the fixed behaviour showed.  ``outcome`` is the behaviour itself
(a verdict, a parse result, what Mailman sent); ``timely`` is the timing
ones' generous bound, kept apart so that pytest asserts the outcome only.
"""

import dataclasses
import sys
import tempfile
import time

from mailman_antibackscatter.auth import Authenticator, EngineSettings

# victim.example of the fuzzing run: SPF for one host, DMARC reject
VICTIM_RECORDS = (
    ('victim.example', 'TXT', 'v=spf1 ip4:198.51.100.200/32 -all'),
    ('_dmarc.victim.example', 'TXT', 'v=DMARC1; p=reject'))

# Port 9 (discard) on loopback: DNS for the reproducers that need none.
NO_DNS = ('127.0.0.1', 9)


@dataclasses.dataclass
class Observation:
    name: str
    lines: list
    outcome: bool
    timely: bool = True
    figures: dict = dataclasses.field(default_factory=dict)

    @property
    def fixed(self):
        return self.outcome and self.timely

    def summary(self):
        """One line: the name, fixed or OLD BEHAVIOUR, the first line."""
        return '%-34s %s  %s' % (self.name, 'fixed' if self.fixed else
                                 'OLD BEHAVIOUR', self.lines[0])


def authenticator(dns=None, **settings):
    """An Authenticator on the DNS server *dns* (none: nothing answers)."""
    settings.setdefault('authserv_id', 'ab.lists.example.net')
    settings.setdefault('dns_timeout', 2)
    settings.setdefault('nameservers',
                        (dns.address,) if dns is not None else (NO_DNS,))
    return Authenticator(EngineSettings(**settings))


def authenticate(raw, mail_from, client=None, records=(), **settings):
    """The verdict on *raw* from a fresh Authenticator, with a DNS server
    of its own serving *records* ((name, type, value) triples)."""
    from tests.harness.dnsserver import DNSServer
    with DNSServer() as dns:
        for record in records:
            dns.add(*record)
        return authenticator(dns, **settings).authenticate(
            raw, mail_from, client)


def timed(function, *args, **kws):
    """(what *function* returned, the seconds it took)."""
    start = time.perf_counter()
    result = function(*args, **kws)
    return result, time.perf_counter() - start


def print_observation(observation):
    print('\n'.join('%s: %s' % (observation.name, line)
                    for line in observation.lines))
    return 0 if observation.fixed else 1


def main(observe):
    """Run an engine-level reproducer as a script; its exit code."""
    sys.exit(print_observation(observe()))


def started_world():
    """A World (real Mailman, DNS server, SMTP sink) with the e2e tier's
    options, started in a temporary directory."""
    from tests.e2e.conftest import EXTRA_CONFIG, SITE_OPTIONS
    from tests.harness.scenario import World
    world = World(tempfile.mkdtemp(prefix='reproducers-'),
                  site_options=SITE_OPTIONS, extra_config=EXTRA_CONFIG)
    world.start()
    return world


def main_e2e(observe):
    """Run an end-to-end reproducer as a script on a World of its own."""
    world = started_world()
    try:
        code = print_observation(observe(world))
    finally:
        world.stop()
    sys.exit(code)
