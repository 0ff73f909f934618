"""`make demo`: a real Mailman fed forged and authentic mail, with and without
the plugin, showing what Mailman sent and what the plugin suppressed.

Everything runs on 127.0.0.1: a DNS server with the senders' SPF, DKIM and
DMARC records, an SMTP sink standing in for the outgoing MTA, and Mailman 3
(master, runners, REST, LMTP) on SQLite in a directory of its own.  Mail is
delivered over LMTP the way Postfix delivers it.

After that mail, delivery reports go to the list's -bounces address: forged
reports naming members, backscatter of spam the list never sent, and one
genuine bounce of a real delivery.
"""

import argparse
import re
import secrets
import shutil
import sys
import time

from dataclasses import dataclass
from pathlib import Path

from tests.harness.scenario import (
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


# Members that forged delivery reports name, one each: stock Mailman counts
# at most one bounce per member and day, so each report gets its own member.
BOUNCE_VICTIMS = ('kate@example.org', 'liam@example.org', 'mia@example.org')
# The member whose real delivery bounces.
BOUNCING_MEMBER = 'member2@example.org'
VICTIM_MX = ('198.51.100.25', 'mx.victim.example')


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
    for victim in BOUNCE_VICTIMS:
        mm.add_member(list_address('demo'), victim)


def run(world, samples):
    """Deliver every sample; return ({index: message-id}, {index: mark}).

    A sample's mark is how many deliveries the sink had when it was sent.
    Before a sample whose sender was used already, Mailman finishes the
    earlier one, so what that sender gets next belongs to the new sample.
    """
    ids, marks, used = {}, {}, set()
    for index, sample in enumerate(samples):
        if sample.sender in used:
            world.mailman.wait_idle(timeout=60)
        used.add(sample.sender)
        marks[index] = len(world.sink.deliveries)
        message_id = world.send(
            sender=sample.sender, to=list_address(sample.to),
            client=sample.client, sign=sample.sign,
            mail_from=sample.mail_from,
            subject=sample.subject or 'demo message {}'.format(index + 1))
        ids[index] = message_id
    world.mailman.wait_idle(timeout=60)
    time.sleep(1)
    world.mailman.wait_idle(timeout=60)
    return ids, marks


def answers(world, samples, ids, marks, index):
    """What Mailman sent the sender of sample *index* about it.

    List copies of the posts (their Message-ID is a post's) are not
    answers; deliveries made before the sample or after the next sample
    of the same sender belong to those.
    """
    sender = samples[index].sender
    later = [marks[i] for i in range(index + 1, len(samples))
             if samples[i].sender == sender]
    deliveries = world.sink.deliveries[marks[index]:later[0] if later
                                       else None]
    posts = set(ids.values())
    return [d for d in deliveries if d.sent_to(sender)
            and str(d.message.get('message-id', '')).strip() not in posts]


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


@dataclass
class Outcome:
    """What one run did to the forged and to the real senders."""

    forged_answers: int = 0       # messages sent to forged addresses
    forged_distributed: int = 0
    forged_to_owners: int = 0
    answered: frozenset = frozenset()     # real samples answered
    distributed: frozenset = frozenset()  # real samples distributed
    verdicts: dict = None                 # real sample -> verdict
    suppressed: frozenset = frozenset()   # real samples the plugin did not
                                          # answer (its log says so)

    @property
    def protected(self):
        return not (self.forged_answers or self.forged_distributed
                    or self.forged_to_owners)


def report(title, world, samples, ids, marks, plugin):
    log_text = world.mailman.log('antibackscatter') if plugin else ''
    verdicts, decisions = decisions_by_message(log_text)
    print()
    print(title)
    print('=' * len(title))
    owners = {'owner@example.org', list_address('demo-owner'),
              list_address('announce-owner')}
    outcome = Outcome(verdicts={})
    answered, distributed_real, suppressed = set(), set(), set()
    for index, sample in enumerate(samples):
        mid = ids[index]
        sent = [describe(d) for d in answers(world, samples, ids, marks,
                                             index)]
        distributed = any(mid.encode() in d.data
                          for d in world.sent_to('member2@example.org'))
        to_owners = sum(1 for d in world.sink.deliveries
                        if owners & {r.lower() for r in d.rcpt_tos}
                        and mid.encode() in d.data)
        if sample.forged:
            outcome.forged_answers += len(sent)
            outcome.forged_to_owners += to_owners
            outcome.forged_distributed += distributed
        else:
            outcome.verdicts[index] = verdicts.get(mid, '?')
            if sent:
                answered.add(index)
            if distributed:
                distributed_real.add(index)
            if any(d.startswith('answer-suppressed-')
                   for d in decisions.get(mid, [])):
                suppressed.add(index)
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
    outcome.answered = frozenset(answered)
    outcome.distributed = frozenset(distributed_real)
    outcome.suppressed = frozenset(suppressed)
    real = [i for i, sample in enumerate(samples) if not sample.forged]
    print()
    print('Messages sent to forged addresses:      {}'.format(
        outcome.forged_answers))
    print('Forged messages distributed to members: {}'.format(
        outcome.forged_distributed))
    print('Forged messages copied to the owners:   {}'.format(
        outcome.forged_to_owners))
    print('Real senders answered or distributed:   {} of {}'.format(
        len(outcome.answered | outcome.distributed), len(real)))
    return outcome


def print_cost(samples, stock, plugin):
    """Print what the plugin cost real senders; return the proven ones
    among them (which must be none).

    Compared with stock Mailman: the real samples it answered and the
    plugin did not.  Without that run: those the plugin's log says it
    did not answer.
    """
    if stock is not None:
        lost = sorted(stock.answered - plugin.answered)
        print('What the plugin cost real senders: {} of the {} real '
              'senders stock Mailman answered got no answer.'.format(
                  len(lost), len(stock.answered)))
    else:
        lost = sorted(plugin.suppressed)
        print('What the plugin cost real senders: {} of {} got no answer '
              '(run without --no-compare to compare with stock '
              'Mailman).'.format(len(lost), len(plugin.verdicts)))
    proven = []
    for index in lost:
        verdict = plugin.verdicts.get(index, '?')
        print('  {:>2}. {} ({}): verdict {}, {}'.format(
            index + 1, samples[index].sender, samples[index].what, verdict,
            'PROVEN, yet not answered' if verdict == 'pass' else
            'not proven, so not answered'))
        if verdict == 'pass':
            proven.append(index)
    return proven


@dataclass
class Report:
    what: str
    kind: str               # 'forged', 'backscatter' or 'genuine'
    rcpt_to: str            # the envelope recipient at -bounces
    raw: bytes
    message_id: str
    member: str = None      # the member it names (forged, genuine)
    spam_id: str = None     # the spam it is about (backscatter)


def report_id(label):
    return '<{}-{}@mx.demo.example>'.format(label, secrets.token_hex(6))


def bounce_reports(world, ids):
    """The reports for demo-bounces: forged, backscatter, one genuine."""
    demo = list_address('demo')
    domain = demo.split('@')[1]
    bounces = list_address('demo-bounces')
    reports = []
    # Forged DSNs naming members, quoting a post the list never sent.
    # The made-up tag has the plugin's shape (kind, key id, day, MAC).
    day = int(time.time() // 86400) % 1000
    made_up = 'l0{:03d}{}'.format(day, secrets.token_hex(8))
    kate, liam, mia = BOUNCE_VICTIMS
    for what, rcpt, member in (
            ('untagged', bounces, kate),
            ('stock VERP', 'demo-bounces+{}@{}'.format(
                liam.replace('@', '='), domain), liam),
            ('made-up tag', 'demo-bounces+{}@{}'.format(made_up, domain),
             mia)):
        mid = report_id('forged')
        original = ('From: anne@example.org\nTo: {}\nSubject: hello\n'
                    'Message-ID: <never-sent-{}@example.org>\n').format(
                        demo, secrets.token_hex(4))
        reports.append(Report(
            'forged DSN, {}, naming {}'.format(what, member), 'forged', rcpt,
            world.dsn(to=rcpt, failed=member, original=original,
                      message_id=mid), mid, member=member))
    # Backscatter: a victim's content filter rejects spam that forged the
    # list's address, in a format no bounce parser knows.
    spam_id = '<spam-{}@{}>'.format(secrets.token_hex(6), domain)
    spam = ('From: {}\nTo: someone@victim.example\nSubject: cheap pills\n'
            'Message-ID: {}\n\nBuy now.\n').format(demo, spam_id)
    mid = report_id('backscatter')
    reports.append(Report(
        'backscatter: "blocked as spam" notice about spam the list never '
        'sent', 'backscatter', bounces,
        world.filter_notice(to=bounces, original=spam, message_id=mid), mid,
        spam_id=spam_id))
    # Genuine: the member's MX bounces a real copy of Anne's post, to the
    # exact envelope sender the outgoing MTA saw.
    post = ids[next(i for i, sample in enumerate(SAMPLES)
                    if sample.what == 'member post')]
    delivery = world.sink.wait_for(
        lambda d: d.sent_to(BOUNCING_MEMBER) and post.encode() in d.data,
        timeout=30)
    mid = report_id('genuine')
    reports.append(Report(
        'genuine DSN of a real delivery to {}'.format(BOUNCING_MEMBER),
        'genuine', delivery.mail_from,
        world.dsn(to=delivery.mail_from, failed=BOUNCING_MEMBER,
                  original=delivery.data, message_id=mid),
        mid, member=BOUNCING_MEMBER))
    return reports


def run_bounces(world, reports, timeout=60):
    """Deliver *reports*; return {member: (score before, score after)}."""
    mm, demo = world.mailman, list_address('demo')
    members = [r.member for r in reports if r.member]
    before = {m: mm.bounce_score(demo, m) for m in members}
    for report in reports:
        world.deliver_report(
            report.raw, rcpt_to=report.rcpt_to,
            client={'forged': SPAMMER, 'backscatter': VICTIM_MX}.get(
                report.kind, AUTHENTIC_MX))
    # Scores move in the bounces runner's periodic step.  The genuine
    # report comes last, so once it is scored the others have been through
    # the runner too; give up after *timeout* if it never is.
    mm.wait_idle(timeout=60)
    deadline = time.monotonic() + timeout
    while (mm.bounce_score(demo, BOUNCING_MEMBER) <= before[BOUNCING_MEMBER]
           and time.monotonic() < deadline):
        time.sleep(0.25)
    mm.wait_idle(timeout=60)
    return {m: (before[m], mm.bounce_score(demo, m)) for m in members}


def report_bounces(world, reports, scores, plugin):
    log_text = world.mailman.log('antibackscatter') if plugin else ''
    _, decisions = decisions_by_message(log_text)
    owners = world.sent_to('owner@example.org')
    print()
    print('Delivery reports to {}'.format(list_address('demo-bounces')))
    forged_scored = forwarded = 0
    genuine = False
    for number, report in enumerate(reports, len(SAMPLES) + 1):
        print('{:>2}. {:<6} {}'.format(
            number, {'forged': 'FORGED', 'backscatter': 'SPAM',
                     'genuine': 'real'}[report.kind], report.what))
        print('      RCPT TO:<{}>'.format(report.rcpt_to))
        if plugin:
            print('      plugin: {}'.format(
                ', '.join(decisions.get(report.message_id, []))
                or 'nothing logged'))
        if report.member:
            old, new = scores[report.member]
            raised = new > old
            print('      bounce score of {}: {} -> {}{}'.format(
                report.member, old, new, ' (raised)' if raised else ''))
            forged_scored += raised and report.kind == 'forged'
            genuine |= raised and report.kind == 'genuine'
        copies = sum(1 for d in owners
                     if report.message_id.encode() in d.data
                     or (report.spam_id and report.spam_id.encode() in d.data))
        forwarded += bool(copies) and report.kind == 'backscatter'
        print('      forwarded to the list owners: {}'.format(
            '{} time(s), spam attached'.format(copies) if copies else 'no'))
    print()
    print('Forged reports that raised a member\'s bounce score: {}'.format(
        forged_scored))
    print('Backscatter forwarded to the list owners:           {}'.format(
        forwarded))
    print('Genuine bounce recognized:                          {}'.format(
        'yes' if genuine else 'NO'))
    return forged_scored, forwarded, genuine


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
    results, bounce_results = {}, {}
    for name, plugin in modes:
        print('Starting Mailman {} the plugin in {} ...'.format(
            name, root / name), flush=True)
        with World(root / name, plugin=plugin) as world:
            prepare(world)
            ids, marks = run(world, SAMPLES)
            results[name] = report(
                'Stock Mailman 3.3.10 (no plugin)' if not plugin else
                'Mailman 3.3.10 with mailman-antibackscatter',
                world, SAMPLES, ids, marks, plugin)
            reports = bounce_reports(world, ids)
            scores = run_bounces(world, reports)
            bounce_results[name] = report_bounces(
                world, reports, scores, plugin)
    print()
    stock, ours = results.get('without'), results['with']
    if stock is not None:
        print('Backscatter to forged addresses: {} without the plugin, {} '
              'with it.'.format(stock.forged_answers, ours.forged_answers))
        print('Forged bounce reports that raised a member\'s bounce score: '
              '{} without the plugin, {} with it.'.format(
                  bounce_results['without'][0], bounce_results['with'][0]))
        print('Backscatter forwarded to the list owners: {} without the '
              'plugin, {} with it.'.format(
                  bounce_results['without'][1], bounce_results['with'][1]))
    print('Genuine bounce recognized: {}.'.format(', '.join(
        '{} {}'.format('yes' if found[2] else 'NO', name + ' the plugin'
                       if name == 'without' else 'with it')
        for name, found in bounce_results.items())))
    proven_lost = print_cost(SAMPLES, stock, ours)
    # Every real sender the plugin proved got what stock Mailman gives
    # it: an answer, or its post distributed.
    unserved = sorted(
        index for index, verdict in ours.verdicts.items()
        if verdict == 'pass'
        and index not in ours.answered | ours.distributed)
    for index in unserved:
        print('PROVEN sender {} got neither an answer nor a distributed '
              'post.'.format(SAMPLES[index].sender))
    print('Logs: {}/with/mailman/var/logs/antibackscatter.log'.format(root))
    clean = (ours.protected and not proven_lost and not unserved
             and bounce_results['with'] == (0, 0, True))
    print('Result: {}.'.format(
        'PASS (no answer to a forged sender, every proven sender served, '
        'genuine bounce counted)' if clean else 'FAIL'))
    return 0 if clean else 1


if __name__ == '__main__':
    sys.exit(main())
