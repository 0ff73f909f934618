"""`mailman antibackscatter ...`: see what the plugin decides, and why."""

import json

from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.utils import parseaddr

import click
from mailman.config import config
from mailman.database.transaction import transaction
from mailman.interfaces.command import ICLISubCommand
from mailman.interfaces.listmanager import IListManager
from mailman.utilities.datetime import today
from mailman_antibackscatter.app import decisions, list_policy, summary
from mailman_antibackscatter.app.bounces import day_number, EPOCH, policy
from mailman_antibackscatter.app.keys import (
    generate as generate_keys, read_ring, update_ring)
from mailman_antibackscatter.app.list_policy import find_list
from mailman_antibackscatter.app.status import status, verdict_as_dict
from mailman_antibackscatter.auth import ClientInfo
from mailman_antibackscatter.auth.returnpath import add_key, KeyFileError
from mailman_antibackscatter.config.runtime import (
    get_authenticator, get_settings)
from public import public
from zope.component import getUtility
from zope.interface import implementer


@click.group(help='Sender authentication and backscatter protection.')
def antibackscatter():
    pass


@antibackscatter.command(
    'check', help='Authenticate a message file (as received) and print the '
                  'verdict and the Authentication-Results header the plugin '
                  'would add.')
@click.argument('message_file', type=click.File('rb'))
@click.option('--ip', help='Address of the client that delivered it.')
@click.option('--helo', help='HELO/EHLO name the client gave.')
@click.option('--mail-from', 'mail_from', help='SMTP envelope sender '
              '("" for the null sender); default: the Return-Path header.')
@click.option('--json', 'as_json', is_flag=True, help='Print JSON.')
def check(message_file, ip, helo, mail_from, as_json):
    raw = message_file.read()
    assumed = 'given with --mail-from'
    if mail_from is None:
        head = raw.replace(b'\r\n', b'\n').split(b'\n\n', 1)[0]
        headers = message_from_bytes(head + b'\n\n')
        mail_from = parseaddr(headers.get('return-path', ''))[1] or None
        assumed = ('assumed from the Return-Path header' if mail_from
                   else 'assumed unknown: no --mail-from and no '
                        'Return-Path header')
    client = (ClientInfo(ip=ip, helo=helo, source='xforward')
              if ip else None)
    verdict = get_authenticator().authenticate(raw, mail_from, client)
    info = verdict_as_dict(verdict, get_settings().engine.authserv_id)
    info['mail_from_assumed'] = assumed
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo('Verdict:      {}'.format(info['status']))
    click.echo('Why:          {}'.format(info['reason']))
    click.echo('From:         {}'.format(info['from_address'] or '-'))
    click.echo('Mail from:    {} ({})'.format(
        '<>' if info['mail_from'] == '' else (info['mail_from'] or '-'),
        assumed))
    client = info['client'] or {}
    click.echo('Client:       {} (helo {}, from {})'.format(
        client.get('ip') or '-', client.get('helo') or '-',
        client.get('source') or '-'))
    if info['spf']:
        click.echo('SPF:          {result} for {domain} ({identity})'.format(
            **info['spf']))
    for sig in info['dkim']:
        click.echo('DKIM:         {result} d={domain} s={selector} '
                   '{reason}'.format(**sig))
    if info['arc']:
        click.echo('ARC:          {result} sealer={sealer} '
                   'trusted={trusted}'.format(**info['arc']))
    click.echo('DMARC policy: {}'.format(info['dmarc_policy'] or '-'))
    click.echo('Authentication-Results: {}'.format(
        info['authentication_results']))
    click.echo('Mailman would answer {}: {}'.format(
        info['from_address'] or '(nobody: no single From address)',
        'yes' if info['status'] == 'pass' else 'no'))


@antibackscatter.command(
    'status', help='Show whether the plugin is active and what it enforces.')
@click.option('--json', 'as_json', is_flag=True, help='Print JSON.')
def show_status(as_json):
    info = status()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo('mailman-antibackscatter {}: {}'.format(
        info['version'], 'enabled in its configuration' if info['enabled']
        else 'DISABLED in its configuration'))
    if info['not_protecting']:
        click.echo('NOT PROTECTING, nothing installed: {}'.format(
            info['not_protecting']))
    running = info['running']
    click.echo(running['message'])
    for runner in running['runners']:
        click.echo('  runner {} (pid {}, started {:%Y-%m-%d %H:%M:%S} UTC): '
                   '{}{}{}'.format(
                       runner['name'], runner['pid'],
                       datetime.fromtimestamp(runner['started'],
                                              timezone.utc),
                       'enabled' if runner['enabled'] else 'DISABLED',
                       '' if runner['current'] else ', OLDER SETTINGS',
                       '' if all(runner['wrapped'].values())
                       else ', NOT all wrappers installed'))
    click.echo('In this process (the configuration files as they are now):')
    click.echo('authserv-id: {}'.format(info['authserv_id']))
    for runner, class_path in info['runners'].items():
        click.echo('runner {}: {}'.format(runner, class_path))
    click.echo('[mta] outgoing: {}'.format(info['outgoing']))
    bounces = info['bounces']
    click.echo('bounces: {}'.format(
        'signed return paths on, tags valid {} days, grace period {} '
        'days'.format(bounces['tag_lifetime_days'],
                      bounces['grace_period_days'])
        if bounces['enabled'] else 'off (stock bounce processing)'))
    for target, done in info['wrapped'].items():
        click.echo('{}: {}'.format(target, 'guarded' if done else
                                   'NOT guarded (runners install it)'))
    click.echo('site defaults of the per-list settings:')
    for key, value in info['policy'].items():
        click.echo('  {:<26} {}'.format(key, _plain(value)))
    limit = info['ratelimit']
    click.echo('rate limit: {}'.format(
        'at most {} answers per recipient and {} per domain every {} '
        'seconds'.format(limit['per_recipient'], limit['per_domain'],
                         limit['window_seconds'])
        if limit['enabled'] else 'off'))
    dns = info['dns']
    click.echo('DNS: {}, timeout {} s'.format(
        ', '.join(dns['nameservers']) or 'the system resolver',
        dns['timeout']))
    for problem in info['configuration_problems']:
        click.echo('CONFIGURATION PROBLEM: ' + problem, err=True)


def _the_list(identifier):
    mlist = find_list(identifier)
    if mlist is None:
        raise click.UsageError('No such list: {}'.format(identifier))
    return mlist


def _committed(function):
    """Run *function*, then commit Mailman's transaction (abort on error)."""
    with transaction():
        return function()


@antibackscatter.command(
    'show', help='Show a list\'s effective settings: its own overrides and '
                 'the site defaults it follows.')
@click.argument('list_id')
@click.argument('key', required=False)
@click.option('--json', 'as_json', is_flag=True, help='Print JSON.')
def show(list_id, key, as_json):
    info = list_policy.describe(_the_list(list_id))
    if key is not None:
        try:
            list_policy.option(key)
        except list_policy.SettingError as error:
            raise click.UsageError(str(error))
    keys = [key] if key else list(info['settings'])
    if as_json:
        click.echo(json.dumps(info if key is None else dict(
            key=key, value=info['settings'][key],
            source=info['sources'][key],
            site_default=info['site_defaults'][key]), indent=2))
        return
    for name in keys:
        value = info['settings'][name]
        source = info['sources'][name]
        click.echo('{:<26} {:<20} {}'.format(
            name, _plain(value), 'list' if source == 'list' else
            'site default'))


def _plain(value):
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    return str(value)


@antibackscatter.command(
    'set', help='Override one setting for a list (validated like the site '
                'file).')
@click.argument('list_id')
@click.argument('key')
@click.argument('value')
def set_(list_id, key, value):
    mlist = _the_list(list_id)
    try:
        _committed(lambda: list_policy.update(mlist, {key: value},
                                               form=False))
    except list_policy.SettingError as error:
        raise click.UsageError(str(error))
    click.echo('{}: {} = {}'.format(mlist.list_id, key, value))


@antibackscatter.command(
    'reset', help='Remove a list\'s override of KEY (or of every key), so '
                  'it follows the site default again.')
@click.argument('list_id')
@click.argument('key', required=False)
def reset(list_id, key):
    mlist = _the_list(list_id)
    try:
        _committed(lambda: list_policy.reset(
            mlist, None if key is None else [key]))
    except list_policy.SettingError as error:
        raise click.UsageError(str(error))
    click.echo('{}: {} the site default{}'.format(
        mlist.list_id, 'follows' if key else 'all settings follow',
        ' for ' + key if key else 's'))


@antibackscatter.command(
    'stats', help='What the plugin did, per category: for one list per '
                  'day, or for every list in total.')
@click.argument('list_id', required=False)
@click.option('--days', type=click.IntRange(1, 400), default=30,
              show_default=True, help='How many days back.')
@click.option('--json', 'as_json', is_flag=True, help='Print JSON.')
def stats(list_id, days, as_json):
    if list_id is not None:
        mlists = [_the_list(list_id)]
    else:
        mlists = list(getUtility(IListManager).mailing_lists)
    result = {}
    for mlist in mlists:
        series, totals, reasons = decisions.daily(mlist.list_id, days)
        result[mlist.list_id] = dict(series=series, totals=totals,
                                     reasons=reasons)
    if as_json:
        click.echo(json.dumps(dict(days=days, categories=list(
            decisions.CATEGORIES), lists=result), indent=2))
        return
    if list_id is not None:
        _print_list_stats(mlists[0].list_id, result[mlists[0].list_id], days)
        return
    if not any(any(i['totals'].values()) for i in result.values()):
        click.echo('No decisions recorded in the last {} days.'.format(days))
        return
    for lid, info in sorted(result.items()):
        click.echo(lid)
        for category, amount in info['totals'].items():
            if amount:
                click.echo('  {:>8}  {}'.format(
                    amount, decisions.CATEGORY_LABELS[category]))


def _print_list_stats(list_id, info, days):
    """Totals with their whole names, then one row a day under numbers."""
    categories = decisions.CATEGORIES
    click.echo('{}, last {} days:'.format(list_id, days))
    click.echo('  {:>8}  {}'.format('total', 'what'))
    for number, category in enumerate(categories, 1):
        click.echo('  {:>8}  [{}] {}'.format(
            info['totals'][category], number,
            decisions.CATEGORY_LABELS[category]))
    busy = [day for day in info['series']
            if any(day[c] for c in categories)]
    if busy:
        click.echo('')
        click.echo('{:<10} '.format('day') + ' '.join(
            '{:>5}'.format('[{}]'.format(n))
            for n in range(1, len(categories) + 1)))
        for day in busy:
            click.echo('{:<10} '.format(day['day']) + ' '.join(
                '{:>5}'.format(day[c]) for c in categories))
    if info['reasons']:
        click.echo('')
        click.echo('by reason (as in antibackscatter.log):')
        for reason, amount in sorted(info['reasons'].items()):
            click.echo('  {:<40} {:>8}'.format(reason, amount))


@antibackscatter.command(
    'notify-owners', help='Send the owners of lists whose owner_notices is '
                          'authenticated-only or summary a summary of quietly '
                          'held posts and of what the plugin did.  Run it '
                          'from cron, next to `mailman notify`.')
@click.option('--list', 'list_id', help='Only this list.')
@click.option('--dry-run', is_flag=True,
              help='Print the summaries; send nothing, change nothing.')
@click.option('--force', is_flag=True,
              help='Ignore summary_interval (still sends nothing when '
                   'nothing is new).')
def notify_owners(list_id, dry_run, force):
    mlists = ([_the_list(list_id)] if list_id is not None
              else list(getUtility(IListManager).mailing_lists))
    if dry_run:
        results = summary.notify_owners(mlists, dry_run=True, force=force)
    else:
        results = _committed(
            lambda: summary.notify_owners(mlists, force=force))
    failed = []
    for lid, found in results:
        if found is None:
            continue
        if isinstance(found, Exception):
            failed.append(lid)
            click.echo('{}: failed: {} (see the antibackscatter log)'.format(
                lid, found), err=True)
            continue
        if found.empty:
            click.echo('{}: nothing new'.format(lid))
            continue
        click.echo('{}: {}{}'.format(lid, 'would send' if dry_run else 'sent',
                                     ': ' + found.subject))
        if dry_run:
            click.echo(found.text())
    if failed:
        raise SystemExit(1)


BOUNCE_COLUMNS = (
    ('genuine', ('bounce-genuine', 'bounce-grace-accepted', 'bounce-probe')),
    ('temporary', ('bounce-temporary', 'bounce-autoreply')),
    ('unrecognized', ('bounce-unrecognized',
                      'bounce-unrecognized-summarized')),
    ('backscatter dropped', ('bounce-backscatter-dropped',)),
    ('forged dropped', ('bounce-forged-dropped',)),
    )


@antibackscatter.command(
    'bounces', help='Delivery reports per list: counted, temporary, and '
                    'dropped as backscatter or forgery.')
@click.argument('list_id', required=False)
@click.option('--days', type=click.IntRange(1, 3650), default=None,
              help='Only the last N days (default: everything recorded).')
@click.option('--json', 'as_json', is_flag=True,
              help='Print {list_id: {reason: count}} as JSON.')
def bounces(list_id, days, as_json):
    since = today() - timedelta(days=days - 1) if days else None
    per_list = {}
    for (lid, reason), amount in decisions.totals(list_id, since).items():
        if reason.startswith('bounce-'):
            per_list.setdefault(lid, {})[reason] = amount
    if as_json:
        click.echo(json.dumps(per_list, indent=2, sort_keys=True))
        return
    if not per_list:
        click.echo('No delivery reports recorded yet.')
        return
    width = max(len(lid) for lid in per_list)
    click.echo('{:<{w}} {}'.format('list', ' '.join(
        '{:>12}'.format(name.split()[0]) for name, _ in BOUNCE_COLUMNS),
        w=width))
    for lid, reasons in sorted(per_list.items()):
        click.echo('{:<{w}} {}'.format(lid, ' '.join(
            '{:>12}'.format(sum(reasons.get(r, 0) for r in names))
            for _, names in BOUNCE_COLUMNS), w=width))
    click.echo('(genuine includes grace-accepted and probes; temporary '
               'includes auto-replies; the last two were dropped, never '
               'scored or forwarded)')


@antibackscatter.group('keys', help='Return-path tag keys (kept in '
                       'var/antibackscatter.key; secrets are never printed).')
def keys():
    pass


def _lifetime():
    return policy().tag_lifetime


def _print_ring(ring):
    current = ring.current
    for key in ring.keys:
        state = ('signing' if key is current else
                 'verifying until {}'.format(
                     EPOCH + timedelta(days=key.retired + _lifetime())))
        click.echo('key {}  created {}  {}'.format(
            key.kid, EPOCH + timedelta(days=key.created), state))
    if ring.grace_start is not None:
        click.echo('grace period counted from {}'.format(
            EPOCH + timedelta(days=ring.grace_start)))


def _key_file_error(action):
    """Run *action*; a missing or broken key file is a one-line error."""
    try:
        return action()
    except KeyFileError as error:
        raise click.ClickException(str(error))


@keys.command('list', help='Show key ids, dates and which key signs.')
def keys_list():
    ring = _key_file_error(lambda: read_ring(config.VAR_DIR))
    if not ring.keys:
        click.echo('No tag key yet (one is generated on first use, or run '
                   '`keys generate`).')
        return
    _print_ring(ring)


@keys.command('generate', help='Create the key file with the first tag '
              'key (no-op if one exists).')
def keys_generate():
    ring, created = generate_keys(config.VAR_DIR, day_number(), _lifetime())
    if not created:
        click.echo('A signing key exists already; use `keys rotate`.')
    _print_ring(ring)


@keys.command('rotate', help='Add a new signing key; the old one keeps '
              'verifying for the tag lifetime, older ones are dropped.')
def keys_rotate():
    ring = _key_file_error(lambda: update_ring(
        config.VAR_DIR, lambda ring: add_key(ring, day_number(),
                                             _lifetime())))
    _print_ring(ring)


@public
@implementer(ICLISubCommand)
class AntiBackscatterCommand:
    name = 'antibackscatter'
    command = antibackscatter
