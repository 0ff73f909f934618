"""Site settings: the shipped defaults plus the admin's configuration file.

Values are validated once at start-up.  A bad value is logged with the option
name and the shipped default is used instead, so a typo never takes the whole
Mailman installation down, and never silently weakens protection either: the
log says what was ignored.
"""

import dataclasses
import ipaddress
import re
import socket

from configparser import ConfigParser
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.resources import files

from mailman_antibackscatter.auth import EngineSettings

DEFAULTS_TEXT = files('mailman_antibackscatter.config').joinpath(
    'antibackscatter.cfg').read_text(encoding='utf-8')

CHOICES = {
    ('antibackscatter', 'alignment'): ('relaxed', 'strict'),
    ('door', 'command_temperror'): ('defer', 'accept'),
    ('policy', 'answer'): ('proven', 'not-forged', 'all'),
    ('policy', 'reject_unproven'): ('discard', 'hold'),
    ('policy', 'forged_member'): ('hold', 'accept', 'discard'),
    ('policy', 'owner_forged'): ('discard', 'hold', 'forward'),
    ('policy', 'unproven_commands'): ('ignore', 'process'),
    ('logging', 'level'): ('debug', 'info', 'warning', 'error'),
    ('policy', 'owner_notices'): (
        'immediate', 'not-forged', 'authenticated-only', 'summary', 'none'),
}


class SettingError(ValueError):
    """A configuration value that cannot be used."""


def _words(value):
    return tuple(w for w in re.split(r'[\s,]+', value.strip()) if w)


def _bool(value):
    lowered = value.strip().lower()
    if lowered in ('yes', 'true', 'on', '1'):
        return True
    if lowered in ('no', 'false', 'off', '0'):
        return False
    raise SettingError('expected yes or no, got {!r}'.format(value))


def _positive_int(value):
    try:
        number = int(value)
    except ValueError:
        raise SettingError('expected a whole number, got {!r}'.format(value))
    if number < 0:
        raise SettingError('expected a number >= 0, got {}'.format(number))
    return number


def _seconds(value):
    try:
        number = float(value)
    except ValueError:
        raise SettingError('expected seconds, got {!r}'.format(value))
    if not 0 < number <= 60:
        raise SettingError('expected 0 < seconds <= 60, got {}'.format(value))
    return number


_INTERVAL = re.compile(r'^\s*(\d{1,12})\s*([smhdw]?)\s*$')
_UNITS = dict(s='seconds', m='minutes', h='hours', d='days', w='weeks')
# Longer intervals are typos; they would also overflow the date arithmetic
# (today - interval) of the summary, the statistics and the rate limit.
MAX_INTERVAL = timedelta(days=3650)


def parse_interval(value):
    """'1d', '12h', '30m', '90s', '2w' (bare numbers are seconds)."""
    match = _INTERVAL.match(value)
    if match is None:
        raise SettingError(
            'expected an interval like 1d, 12h or 30m, got {!r}'.format(
                value if len(value) <= 40 else value[:40] + '...'))
    amount, unit = match.groups()
    size = int(timedelta(**{_UNITS[unit or 's']: 1}).total_seconds())
    if int(amount) * size > MAX_INTERVAL.total_seconds():
        raise SettingError('expected an interval of at most {}d, got '
                           '{!r}'.format(MAX_INTERVAL.days, value))
    return timedelta(**{_UNITS[unit or 's']: int(amount)})


def _days(value):
    interval = parse_interval(value)
    days = interval.days
    if interval != timedelta(days=days) or not 1 <= days <= 300:
        raise SettingError(
            'expected whole days between 1d and 300d, got {!r}'.format(value))
    return days


def parse_nameservers(value):
    """'127.0.0.1:5353 [::1]:53 192.0.2.1' -> (('127.0.0.1', 5353), ...)."""
    servers = []
    for entry in _words(value):
        match = (re.match(r'^\[([0-9a-fA-F:.]+)\](?::(\d+))?$', entry)
                 or re.match(r'^([^:\[\]]+)(?::(\d+))?$', entry))
        if match is None:
            raise SettingError('bad nameserver {!r}: use host or host:port, '
                               '[v6addr]:port for IPv6'.format(entry))
        host, port = match.group(1), int(match.group(2) or 53)
        if not 0 < port < 65536:
            raise SettingError('bad port in nameserver {!r}'.format(entry))
        servers.append((host, port))
    return tuple(servers)


def _text(value):
    return value.strip()


def _choice(value):
    return value.strip().lower()


def _networks(value):
    networks = []
    for word in _words(value):
        try:
            networks.append(str(ipaddress.ip_network(word, strict=False)))
        except ValueError:
            raise SettingError('bad network {!r}'.format(word))
    return tuple(networks)


def _url(value):
    value = value.strip().rstrip('/')
    if value and not re.match(r'^https?://[^/\s]+', value):
        raise SettingError('expected an http(s) URL, got {!r}'.format(value))
    return value


def _nonzero_interval(value):
    interval = parse_interval(value)
    if not interval:
        raise SettingError('expected an interval above 0, got {!r}'.format(
            value))
    return interval


# How each option's text becomes a value; options not named here are text.
# `convert()` below is the one place values are validated, for the site file
# and for per-list overrides (listsettings.py) alike.
CONVERTERS = {
    ('antibackscatter', 'enabled'): _bool,
    ('antibackscatter', 'min_key_bits'): _positive_int,
    ('antibackscatter', 'spf'): _bool,
    ('antibackscatter', 'dkim'): _bool,
    ('antibackscatter', 'arc'): _bool,
    ('dns', 'nameservers'): parse_nameservers,
    ('dns', 'timeout'): _seconds,
    ('dns', 'cache_size'): _positive_int,
    ('door', 'enabled'): _bool,
    ('door', 'xforward'): _bool,
    ('door', 'xforward_peers'): _networks,
    ('door', 'command_defer_limit'): parse_interval,
    ('door', 'workers'): _positive_int,
    ('policy', 'authenticated_membership'): _bool,
    ('ratelimit', 'enabled'): _bool,
    ('ratelimit', 'per_recipient'): _positive_int,
    ('ratelimit', 'per_domain'): _positive_int,
    ('ratelimit', 'window'): parse_interval,
    ('summary', 'interval'): _nonzero_interval,
    ('summary', 'postorius_url'): _url,
    ('summary', 'max_posts'): _positive_int,
    ('statistics', 'retention'): _nonzero_interval,
    ('bounces', 'enabled'): _bool,
    ('bounces', 'tag_lifetime'): _days,
    ('bounces', 'grace_period'): parse_interval,
    ('bounces', 'sent_record_max'): _positive_int,
    ('bounces', 'per_recipient_return_path'): _bool,
    ('antibackscatter', 'internal_networks'): _networks,
    ('antibackscatter', 'local_hops'): _positive_int,
    }


def convert(section, option, text):
    """The value of [section] option given as *text*; raises SettingError."""
    choices = CHOICES.get((section, option))
    if choices is not None:
        value = _choice(text)
        if value not in choices:
            raise SettingError('must be one of {}'.format(', '.join(choices)))
        return value
    return CONVERTERS.get((section, option), _text)(text)


@dataclass(frozen=True)
class SiteSettings:
    """Everything the plugin reads from its configuration file."""

    enabled: bool
    engine: EngineSettings
    door_enabled: bool
    xforward: bool
    door_workers: int
    command_temperror: str
    answering_runners: frozenset
    answer: str
    reject_unproven: str
    forged_member: str
    owner_forged: str
    unproven_commands: str
    owner_notices: str
    authenticated_membership: bool
    ratelimit_enabled: bool
    ratelimit_per_recipient: int
    ratelimit_per_domain: int
    window: timedelta
    log_file: str
    log_level: str
    bounces_enabled: bool = True
    tag_lifetime_days: int = 10
    grace_period: timedelta = timedelta(days=7)
    sent_record_max: int = 200000
    per_recipient_return_path: bool = False
    summary_interval: timedelta = timedelta(days=1)
    postorius_url: str = ''
    summary_max_posts: int = 50
    statistics_retention: timedelta = timedelta(days=400)
    # LMTP peers whose XFORWARD is believed (internal_networks added)
    xforward_peers: tuple = ('127.0.0.0/8', '::1/128')
    # how long a command may be deferred for DNS trouble (from Received)
    command_defer_limit: timedelta = timedelta(hours=4)
    problems: tuple = field(default=(), compare=False)


def _parser_from_defaults():
    parser = ConfigParser(interpolation=None)
    parser.read_string(DEFAULTS_TEXT, source='<shipped defaults>')
    return parser


def load_settings(site_parser=None):
    """Merge *site_parser* (a ConfigParser, or None) over the shipped defaults.

    Returns a `SiteSettings`.  Unknown sections/options and bad values are
    reported in `.problems` rather than raised; the plugin logs them once its
    log file is open.
    """
    defaults = _parser_from_defaults()
    merged = _parser_from_defaults()
    problems = []
    if site_parser is not None:
        for section in site_parser.sections():
            if not defaults.has_section(section):
                problems.append('unknown section [{}] ignored'.format(section))
                continue
            for option, value in site_parser.items(section, raw=True):
                if not defaults.has_option(section, option):
                    problems.append('unknown option [{}] {} ignored'.format(
                        section, option))
                    continue
                merged.set(section, option, value)

    def get(section, option):
        value = merged.get(section, option)
        try:
            return convert(section, option, value)
        except SettingError as error:
            problems.append('[{}] {}: {}, got {!r}; using the default '
                            '{!r}'.format(section, option, error, value,
                                          defaults.get(section, option)))
            return convert(section, option, defaults.get(section, option))

    authserv_id = get('antibackscatter', 'authserv_id').strip()
    if not authserv_id:
        # An id of its own: MTAs and milters (OpenDKIM, OpenDMARC) use the
        # host name, and the door removes every header claiming our id.
        authserv_id = 'antibackscatter.' + (socket.getfqdn() or 'localhost')
    networks = get('antibackscatter', 'internal_networks')
    engine = EngineSettings(
        authserv_id=authserv_id,
        trusted_authserv_ids=frozenset(
            w.lower() for w in _words(
                get('antibackscatter', 'trusted_authserv_ids'))),
        trusted_arc_sealers=frozenset(
            w.lower().rstrip('.') for w in _words(
                get('antibackscatter', 'trusted_arc_sealers'))),
        internal_networks=networks,
        local_hops=get('antibackscatter', 'local_hops'),
        alignment=get('antibackscatter', 'alignment'),
        nameservers=get('dns', 'nameservers'),
        dns_timeout=get('dns', 'timeout'),
        dns_cache_size=get('dns', 'cache_size'),
        min_key_bits=get('antibackscatter', 'min_key_bits'),
        public_suffix_list=(
            get('antibackscatter', 'public_suffix_list').strip() or None),
        spf=get('antibackscatter', 'spf'),
        dkim=get('antibackscatter', 'dkim'),
        arc=get('antibackscatter', 'arc'),
        )
    settings = SiteSettings(
        enabled=get('antibackscatter', 'enabled'),
        engine=engine,
        door_enabled=get('door', 'enabled'),
        xforward=get('door', 'xforward'),
        xforward_peers=tuple(dict.fromkeys(
            tuple(get('door', 'xforward_peers')) + tuple(networks))),
        door_workers=max(1, get('door', 'workers')),
        command_temperror=get('door', 'command_temperror'),
        command_defer_limit=get('door', 'command_defer_limit'),
        answering_runners=frozenset(
            _words(get('policy', 'answering_runners'))),
        answer=get('policy', 'answer'),
        reject_unproven=get('policy', 'reject_unproven'),
        forged_member=get('policy', 'forged_member'),
        owner_forged=get('policy', 'owner_forged'),
        unproven_commands=get('policy', 'unproven_commands'),
        owner_notices=get('policy', 'owner_notices'),
        authenticated_membership=get(
            'policy', 'authenticated_membership'),
        ratelimit_enabled=get('ratelimit', 'enabled'),
        ratelimit_per_recipient=get('ratelimit', 'per_recipient'),
        ratelimit_per_domain=get('ratelimit', 'per_domain'),
        window=get('ratelimit', 'window'),
        bounces_enabled=get('bounces', 'enabled'),
        tag_lifetime_days=get('bounces', 'tag_lifetime'),
        grace_period=get('bounces', 'grace_period'),
        sent_record_max=get('bounces', 'sent_record_max'),
        per_recipient_return_path=get(
            'bounces', 'per_recipient_return_path'),
        log_file=get('logging', 'file').strip(),
        log_level=get('logging', 'level'),
        summary_interval=get('summary', 'interval'),
        postorius_url=get('summary', 'postorius_url'),
        summary_max_posts=get('summary', 'max_posts'),
        statistics_retention=get('statistics', 'retention'),
        problems=tuple(problems),
        )
    problems.extend(_weakening(settings))
    return dataclasses.replace(settings, problems=tuple(problems))


def _weakening(settings):
    """Settings that are valid but would quietly switch protection off."""
    found = []
    missing = {'in', 'command'} - settings.answering_runners
    if missing:
        found.append('[policy] answering_runners lacks {}: automatic messages '
                     'from those runners would not be checked'.format(
                         ', '.join(sorted(missing))))
    if settings.ratelimit_enabled and not settings.window:
        found.append('[ratelimit] window is 0, which disables the rate limit; '
                     'use enabled: no to say so')
    own = settings.engine.authserv_id.lower()
    if own in settings.engine.trusted_authserv_ids:
        found.append('[antibackscatter] authserv_id {} is also in '
                     'trusted_authserv_ids: headers with that id are removed '
                     'at the door and never trusted; give the plugin an id of '
                     'its own'.format(own))
    return found
