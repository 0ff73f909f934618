"""`mailman antibackscatter ...`: see what the plugin decides, and why."""

import json

import click

from mailman.interfaces.command import ICLISubCommand
from mailman_antibackscatter import decisions
from mailman_antibackscatter.report import status, verdict_as_dict
from mailman_antibackscatter.runtime import get_authenticator, get_settings
from public import public
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
    from email import message_from_bytes
    from email.utils import parseaddr
    from mailman_antibackscatter.auth import ClientInfo
    raw = message_file.read()
    if mail_from is None:
        headers = message_from_bytes(raw.split(b'\n\n', 1)[0] + b'\n\n')
        mail_from = parseaddr(headers.get('return-path', ''))[1] or None
    client = (ClientInfo(ip=ip, helo=helo, source='xforward')
              if ip else None)
    verdict = get_authenticator().authenticate(raw, mail_from, client)
    info = verdict_as_dict(verdict, get_settings().engine.authserv_id)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo('Verdict:      {}'.format(info['status']))
    click.echo('Why:          {}'.format(info['reason']))
    click.echo('From:         {}'.format(info['from_address'] or '-'))
    click.echo('Mail from:    {}'.format(
        '<>' if info['mail_from'] == '' else (info['mail_from'] or '-')))
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
        info['version'], 'enabled' if info['enabled'] else 'DISABLED'))
    click.echo('authserv-id: {}'.format(info['authserv_id']))
    for runner, class_path in info['runners'].items():
        click.echo('runner {}: {}'.format(runner, class_path))
    for target, done in info['wrapped'].items():
        click.echo('{}: {}'.format(target, 'guarded' if done else
                                   'NOT guarded (runners install it)'))
    for key, value in info['policy'].items():
        click.echo('policy {}: {}'.format(key, value))
    click.echo('rate limit: {}'.format(info['ratelimit']))
    for problem in info['configuration_problems']:
        click.echo('CONFIGURATION PROBLEM: ' + problem, err=True)


@antibackscatter.command(
    'stats', help='Decision counters per list and reason.')
@click.argument('list_id', required=False)
def stats(list_id):
    totals = decisions.totals(list_id)
    if not totals:
        click.echo('No decisions recorded yet.')
        return
    width = max(len(reason) for _, reason in totals)
    for (lid, reason), amount in sorted(totals.items()):
        click.echo('{:<30} {:<{w}} {:>8}'.format(lid or '(site)', reason,
                                                 amount, w=width))


@public
@implementer(ICLISubCommand)
class AntiBackscatterCommand:
    name = 'antibackscatter'
    command = antibackscatter
