"""`make demo`: a real Mailman fed forged and authentic mail, with and without
the plugin, showing what Mailman sent and what the plugin suppressed.

Everything runs on 127.0.0.1: a DNS server with the senders' SPF, DKIM and
DMARC records, an SMTP sink standing in for the outgoing MTA, and Mailman 3
(master, runners, REST, LMTP) on SQLite in a directory of its own.  Mail is
delivered over LMTP the way Postfix delivers it.
"""

import argparse
import re
import shutil
import sys
import time

from dataclasses import dataclass
from pathlib import Path

from mailman_antibackscatter.testing.scenario import (
    AUTHENTIC_MX, DNSDOWN_MX, SPAMMER, World, list_address)


@dataclass
class Sample:
    what: str
    sender: str
    to: str
    client: tuple = AUTHENTIC_MX
    sign: bool = False
    mail_from: str = None
    subject: str = None
    forged: bool = False


SAMPLES = [
    Sample('non-member post (held)', 'bob@example.org', 'demo', sign=True),
    Sample('non-member post (held)', 'alice@victim.example', 'demo',
           client=SPAMMER, forged=True),
    Sample('post to a list that rejects non-members', 'dave@example.org',
           'announce', sign=True),
    Sample('post to a list that rejects non-members', 'carl@victim.example',
           'announce', client=SPAMMER, forged=True),
    Sample('member post', 'anne@example.org', 'demo', sign=True),
    Sample('member post, member address forged', 'anne@example.org', 'demo',
           client=SPAMMER, forged=True),
    Sample('subscribe via -join', 'frank@example.org', 'demo-join'),
    Sample('subscribe via -join', 'erin@victim.example', 'demo-join',
           client=SPAMMER, forged=True),
    Sample('"help" to -request, null sender', 'gina@victim.example',
           'demo-request', client=SPAMMER, mail_from='', subject='help',
           forged=True),
    Sample('mail to -owner', 'hank@victim.example', 'demo-owner',
           client=SPAMMER, forged=True),
    Sample('post from a domain without SPF/DKIM', 'ivy@plain.example',
           'demo', client=('198.51.100.30', 'mail.plain.example')),
    Sample('post while the sender\'s DNS is down', 'jay@dnsdown.example',
           'demo', client=DNSDOWN_MX),
    ]


def prepare(world):
    mm = world.mailman
    mm.create_list(list_address('demo'), admin_immed_notify=True,
                   subscription_policy='confirm')
    mm.create_list(list_address('announce'),
                   default_nonmember_action='reject')
    for name in ('demo', 'announce'):
        mm.add_member(list_address(name), 'owner@example.org', role='owner')
    mm.add_member(list_address('demo'), 'anne@example.org')
    mm.add_member(list_address('demo'), 'member2@example.org')


def run(world, samples):
    """Deliver every sample; return {index: message-id}."""
    ids = {}
    for index, sample in enumerate(samples):
        message_id = world.send(
            sender=sample.sender, to=list_address(sample.to),
            client=sample.client, sign=sample.sign,
            mail_from=sample.mail_from,
            subject=sample.subject or 'demo message {}'.format(index + 1))
        ids[index] = message_id
    world.mailman.wait_idle(timeout=60)
    time.sleep(1)
    world.mailman.wait_idle(timeout=60)
    return ids


def describe(delivery):
    subject = str(delivery.message.get('subject', '')).replace('\n', ' ')
    return re.sub(r'\s+', ' ', subject)[:60]


def decisions_by_message(log_text):
    verdicts, decisions = {}, {}
    for line in log_text.splitlines():
        mid = re.search(r'message-id=(<[^>]*>)', line)
        if not mid:
            continue
        verdict = re.search(r'verdict=(\w+)', line)
        if 'door:' in line and verdict:
            verdicts[mid.group(1)] = verdict.group(1)
            continue
        reason = re.search(r'\] (\S+) list=', line) or re.search(
            r'\) (\S+) list=', line)
        if reason:
            decisions.setdefault(mid.group(1), []).append(reason.group(1))
    return verdicts, decisions


def report(title, world, samples, ids, plugin):
    log_text = world.mailman.log('antibackscatter') if plugin else ''
    verdicts, decisions = decisions_by_message(log_text)
    print()
    print(title)
    print('=' * len(title))
    owners = {'owner@example.org', list_address('demo-owner'),
              list_address('announce-owner')}
    forged_answers = forged_to_owners = forged_distributed = 0
    for index, sample in enumerate(samples):
        mid = ids[index]
        sent = [] if sample.sender == 'anne@example.org' else [
            describe(d) for d in world.sent_to(sample.sender)]
        distributed = any(mid.encode() in d.data
                          for d in world.sent_to('member2@example.org'))
        to_owners = sum(1 for d in world.sink.deliveries
                        if owners & {r.lower() for r in d.rcpt_tos}
                        and mid.encode() in d.data)
        if sample.forged:
            forged_answers += len(sent)
            forged_to_owners += to_owners
            forged_distributed += distributed
        print('{:>2}. {} {}: {}'.format(
            index + 1, 'FORGED' if sample.forged else 'real  ',
            sample.sender, sample.what))
        if plugin:
            print('      verdict: {:<10} plugin: {}'.format(
                verdicts.get(mid, '?'),
                ', '.join(decisions.get(mid, [])) or 'nothing to do'))
        print('      Mailman sent to {}: {}'.format(
            sample.sender, '; '.join(sent) if sent else 'nothing'))
        if distributed or to_owners:
            print('      {}{}'.format(
                'distributed to the members. ' if distributed else '',
                'copied to the owners {} time(s).'.format(to_owners)
                if to_owners else ''))
    print()
    print('Messages sent to forged addresses:      {}'.format(forged_answers))
    print('Forged messages distributed to members: {}'.format(
        forged_distributed))
    print('Forged messages copied to the owners:   {}'.format(
        forged_to_owners))
    return forged_answers, forged_distributed, forged_to_owners


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dir', default='demo-output',
                        help='where Mailman keeps its files (kept afterwards '
                             'so you can read the logs)')
    parser.add_argument('--no-compare', action='store_true',
                        help='skip the run of stock Mailman without the plugin')
    args = parser.parse_args(argv)
    root = Path(args.dir).resolve()
    if root.exists():
        shutil.rmtree(root)
    modes = [('with', True)]
    if not args.no_compare:
        modes.insert(0, ('without', False))
    results = {}
    for name, plugin in modes:
        print('Starting Mailman {} the plugin in {} ...'.format(
            name, root / name), flush=True)
        with World(root / name, plugin=plugin) as world:
            prepare(world)
            ids = run(world, SAMPLES)
            results[name] = report(
                'Stock Mailman 3.3.10 (no plugin)' if not plugin else
                'Mailman 3.3.10 with mailman-antibackscatter',
                world, SAMPLES, ids, plugin)
    print()
    if 'without' in results:
        print('Backscatter to forged addresses: {} without the plugin, {} '
              'with it.'.format(results['without'][0], results['with'][0]))
    print('Logs: {}/with/mailman/var/logs/antibackscatter.log'.format(root))
    return 0 if results['with'] == (0, 0, 0) else 1


if __name__ == '__main__':
    sys.exit(main())
