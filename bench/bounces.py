#!/usr/bin/env python3
# Copyright (C) 2026 the mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bounce-gate benchmark: the plugin's gate against Mailman's BounceRunner.

Sets up Mailman's ConfigLayer with the plugin in this process, builds a
seeded mixed corpus of delivery reports to one list (genuine reports of mail
the list sent, with the tags the plugin's outgoing agents put on them, and
backscatter in standard and non-standard formats, some of it forging a
VERP To: header), and measures on one core, in one run, messages per second
of

* the gate: `GatedBounceRunner._dispose` (the plugin's [runner.bounces]);
* stock: Mailman's `BounceRunner._dispose` on the same messages,

each followed by the transaction commit the runner does per message.  It
checks every decision of the gate, counts flufl.bounce calls the gate makes
on backscatter (must be 0) and exits non-zero if the gate is not at least
10x faster than stock on backscatter.  See bench/README.md.  The last line
is machine-readable.
"""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    _n = len([p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep)
              if p])
    sys.path.insert(min(1 + _n, len(sys.path)), _ROOT)

import argparse
import email
import email.utils
import json
import random
import tempfile
import time

from unittest import mock

from mailman_antibackscatter.runners.bounce import FLUSH_PENDING

LIST = 'community@example.com'
MEMBERS = 200
MIN_RATIO = 10.0

CATEGORIES = (
    # name, share, expected gate decision
    ('genuine-verp', 12, 'bounce-genuine'),
    ('genuine-bulk', 8, 'bounce-genuine'),
    ('genuine-temporary', 5, 'bounce-temporary'),
    ('backscatter-dsn', 30, 'bounce-backscatter-dropped'),
    ('backscatter-nonstandard', 30, 'bounce-backscatter-dropped'),
    ('forged-verp-header', 15, 'bounce-backscatter-dropped'),
)
BACKSCATTER = ('backscatter-dsn', 'backscatter-nonstandard',
               'forged-verp-header')
SPAM_WORDS = ('cheap', 'pills', 'offer', 'winner', 'crypto', 'urgent',
              'account', 'verify', 'limited', 'bonus', 'free', 'click')


def spam(rng, number):
    words = ' '.join(rng.choice(SPAM_WORDS) for _ in range(rng.randint(
        40, 400)))
    return ('From: {list}\nTo: victim{n}@example.net\nSubject: {s}\n'
            'Message-ID: <spam-{n}-{r}@botnet.test>\nDate: {d}\n\n{w}\n'
            ).format(list=LIST, n=number, r=rng.getrandbits(40),
                     s=' '.join(rng.sample(SPAM_WORDS, 3)),
                     d=email.utils.formatdate(), w=words)


def dsn(to, failed, original, status='5.1.1', rng=None):
    action = 'failed' if status.startswith('5') else 'delayed'
    headers = original.split('\n\n', 1)[0]
    return (
        'From: MAILER-DAEMON@mx.example.net\nTo: {to}\n'
        'Subject: Undelivered Mail Returned to Sender\n'
        'Message-ID: <dsn-{r}@mx.example.net>\nAuto-Submitted: auto-replied\n'
        'MIME-Version: 1.0\nContent-Type: multipart/report; '
        'report-type=delivery-status; boundary="B"\n\n'
        '--B\nContent-Type: text/plain\n\nCould not deliver.\n\n'
        '--B\nContent-Type: message/delivery-status\n\n'
        'Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; '
        '{failed}\nAction: {action}\nStatus: {status}\n\n'
        '--B\nContent-Type: text/rfc822-headers\n\n{headers}\n\n--B--\n'
        ).format(to=to, failed=failed, action=action, status=status,
                 headers=headers, r=rng.getrandbits(48))


NONSTANDARD = (
    ('qmail', 'Hi. This is the qmail-send program at mx.example.net.\n'
     "I'm afraid I wasn't able to deliver your message to the following "
     "addresses.\nThis is a permanent error; I've given up.\n\n<{failed}>:\n"
     'Sorry, no mailbox here by that name. (#5.1.1)\n\n'
     '--- Below this line is a copy of the message.\n\n{original}'),
    ('exim', 'This message was created automatically by mail delivery '
     'software.\n\nA message that you sent could not be delivered to one or '
     'more of its\nrecipients. This is a permanent error. The following '
     'address(es) failed:\n\n  {failed}\n    unknown user\n\n'
     '------ This is a copy of the message, including all the headers. '
     '------\n{original}'),
    ('freeform', 'Your message could not be delivered.\n\nThe mailbox '
     'you tried to reach is full or does not exist any more. Please check '
     'and try again later, or contact the postmaster.\n\n{original}'),
)


def nonstandard(rng, to, failed, original):
    name, body = rng.choice(NONSTANDARD)
    return ('From: postmaster@mx.example.net\nTo: {to}\n'
            'Subject: Delivery failure ({name})\n'
            'Message-ID: <ns-{r}@mx.example.net>\n\n'.format(
                to=to, name=name, r=rng.getrandbits(48))
            + body.format(failed=failed, original=original))


def build_corpus(mlist, members, size, seed):
    """[(category, raw bytes, envelope recipient)], seeded."""
    from mailman_antibackscatter.app.bounces import sign_sender
    rng = random.Random(seed)
    local, _, domain = mlist.bounces_address.rpartition('@')
    bulk_sender = sign_sender(mlist, mlist.bounces_address, 'l')
    weights = [share for _, share, _ in CATEGORIES]
    corpus = []
    for number in range(size):
        category = rng.choices([c for c, _, _ in CATEGORIES], weights)[0]
        member = rng.choice(members)
        post = ('From: {m}\nTo: {l}\nSubject: list post {n}\nMessage-ID: '
                '<post-{n}@example.com>\n\nHello.\n').format(
                    m=member, l=LIST, n=number)
        if category == 'genuine-verp':
            mailbox, _, mdomain = member.partition('@')
            rcpt = sign_sender(mlist, '{}+{}={}@{}'.format(
                local, mailbox, mdomain, domain), 'v')
            raw = dsn(rcpt, member, post, rng=rng)
        elif category == 'genuine-bulk':
            rcpt = bulk_sender
            raw = dsn(rcpt, member, post, rng=rng)
        elif category == 'genuine-temporary':
            rcpt = bulk_sender
            raw = dsn(rcpt, member, post, status='4.2.2', rng=rng)
        elif category == 'backscatter-dsn':
            rcpt = mlist.bounces_address
            raw = dsn(rcpt, 'victim{}@example.net'.format(number),
                      spam(rng, number), rng=rng)
        elif category == 'backscatter-nonstandard':
            rcpt = mlist.bounces_address
            raw = nonstandard(rng, rcpt, 'victim{}@example.net'.format(
                number), spam(rng, number))
        else:
            # The forgery Mailman trusts: a VERP address in the To: header.
            mailbox, _, mdomain = member.partition('@')
            rcpt = mlist.bounces_address
            raw = dsn('{}+{}={}@{}'.format(local, mailbox, mdomain, domain),
                      member, spam(rng, number), rng=rng)
        corpus.append((category, raw.encode('utf-8'), rcpt))
    return corpus


def run_path(runner, mlist, corpus, with_rcpt):
    """Seconds per category for runner._dispose (+ commit) on the corpus."""
    from mailman.config import config
    from mailman.email.message import Message
    from mailman_antibackscatter.runners.lmtp import ENVELOPE_RCPT
    messages = []
    for category, raw, rcpt in corpus:
        msg = email.message_from_bytes(raw, Message)
        msgdata = dict(listid=mlist.list_id, original_size=len(raw))
        if with_rcpt:
            msgdata[ENVELOPE_RCPT] = rcpt
        messages.append((category, msg, msgdata))
    seconds = {}
    clock = time.perf_counter
    flush = getattr(runner, 'flush_counters', None)
    for category, msg, msgdata in messages:
        start = clock()
        runner._dispose(mlist, msg, msgdata)
        if flush is not None and runner._pending_total >= FLUSH_PENDING:
            # What the gate's periodic step does: the batched counters.
            flush()
        config.db.commit()
        seconds[category] = seconds.get(category, 0.0) + clock() - start
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='small corpus (for make bench-quick)')
    parser.add_argument('--size', type=int, default=None)
    parser.add_argument('--seed', type=int, default=3)
    args = parser.parse_args(argv)
    size = args.size or (400 if args.quick else 3000)

    from tests.harness.layer import generate_key_file, plugin_config_layer
    with tempfile.TemporaryDirectory() as tmp, plugin_config_layer(
            tmp, '[bounces]\ngrace_period: 0\n') as layer:
        layer.testSetUp()
        generate_key_file()
        try:
            return bench(size, args.seed, quick=args.quick)
        finally:
            layer.testTearDown()


def bench(size, seed, quick=False):
    from mailman.app.lifecycle import create_list
    from mailman.config import config
    from mailman.interfaces.usermanager import IUserManager
    from mailman.runners.bounce import BounceRunner
    from mailman.testing.helpers import make_testable_runner
    from zope.component import getUtility
    from mailman_antibackscatter.app import decisions
    from mailman_antibackscatter.runners import bounce as gate_module
    from mailman_antibackscatter.runners.bounce import GatedBounceRunner

    import logging
    # As on a production site: flufl.bounce's per-detector debug lines off.
    logging.getLogger('flufl.bounce').setLevel(logging.WARNING)
    mlist = create_list(LIST)
    users = getUtility(IUserManager)
    members = ['member{}@example.org'.format(n) for n in range(MEMBERS)]
    for address in members:
        mlist.subscribe(users.create_address(address))
    config.db.commit()
    corpus = build_corpus(mlist, members, size, seed)
    counts = {}
    for category, _, _ in corpus:
        counts[category] = counts.get(category, 0) + 1

    gate = make_testable_runner(GatedBounceRunner, 'bounces')
    stock = make_testable_runner(BounceRunner, 'bounces')

    expected = dict((c, e) for c, _, e in CATEGORIES)

    def gate_pass(grace):
        """Seconds per category, flufl.bounce calls on backscatter, and the
        decisions that differ from what the corpus says."""
        parsed, decided, current = {}, [], {}
        real_all_failures, real_record = gate_module.all_failures, \
            decisions.record

        def counting_all_failures(msg):
            parsed[current['category']] = parsed.get(
                current['category'], 0) + 1
            return real_all_failures(msg)

        def recording(reason, **kws):
            decided.append(reason)
            return real_record(reason, **kws)

        gate.flush_counters()
        seconds = {}
        with mock.patch.object(gate_module, 'all_failures',
                               counting_all_failures), \
                mock.patch.object(gate_module.decisions, 'record',
                                  recording), \
                mock.patch.object(gate_module, 'grace_active',
                                  return_value=grace):
            for item in corpus:
                current['category'] = item[0]
                for key, value in run_path(gate, mlist, [item], True).items():
                    seconds[key] = seconds.get(key, 0.0) + value
            # The last batch of counters, charged to the backscatter share.
            start = time.perf_counter()
            gate.flush_counters()
            config.db.commit()
            seconds['backscatter-dsn'] += time.perf_counter() - start
        mismatches = [(category, got) for (category, _, _), got
                      in zip(corpus, decided) if got != expected[category]]
        if len(decided) != len(corpus):
            mismatches.append(('count', len(decided)))
        return (seconds, sum(parsed.get(c, 0) for c in BACKSCATTER),
                sum(parsed.values()), mismatches)

    # Warm-up (imports, first queries), not timed.
    run_path(gate, mlist, corpus[:20], True)
    run_path(stock, mlist, corpus[:20], False)
    gate_seconds, backscatter_parsed, all_parsed, mismatches = gate_pass(
        False)
    grace_seconds, grace_parsed, _, grace_mismatches = gate_pass(True)
    stock_seconds = run_path(stock, mlist, corpus, False)

    def rate(seconds, names):
        total = sum(seconds.get(n, 0.0) for n in names)
        number = sum(counts.get(n, 0) for n in names)
        return number / total if total else float('inf')

    print('Bounce gate vs Mailman BounceRunner._dispose, {} reports, '
          '{} members, seed {} (one core, commit per message)'.format(
              size, MEMBERS, seed))
    print('{:<24} {:>6} {:>11} {:>11} {:>8} {:>13}'.format(
        'category', 'count', 'gate msg/s', 'stock msg/s', 'ratio',
        'gate in grace'))
    rows = [(c, [c]) for c, _, _ in CATEGORIES] + [
        ('ALL backscatter', list(BACKSCATTER)),
        ('ALL genuine', [c for c, _, _ in CATEGORIES
                         if c not in BACKSCATTER]),
        ('ALL mixed', [c for c, _, _ in CATEGORIES])]
    result = {}
    for name, names in rows:
        g, s = rate(gate_seconds, names), rate(stock_seconds, names)
        in_grace = rate(grace_seconds, names)
        result[name] = dict(gate=round(g, 1), stock=round(s, 1),
                            ratio=round(g / s, 2),
                            gate_in_grace=round(in_grace, 1))
        print('{:<24} {:>6} {:>11.0f} {:>11.0f} {:>7.1f}x {:>13.0f}'.format(
            name, sum(counts.get(n, 0) for n in names), g, s, g / s,
            in_grace))
    print('flufl.bounce calls by the gate on backscatter: {} after the grace '
          'period, {} during it (both must be 0); on genuine reports: {}'
          .format(backscatter_parsed, grace_parsed,
                  all_parsed - backscatter_parsed))
    print('gate decisions checked: {} x 2, mismatches: {}'.format(
        len(corpus), len(mismatches) + len(grace_mismatches)))
    ratio = result['ALL backscatter']['ratio']
    correct = (not mismatches and not grace_mismatches
               and backscatter_parsed == 0 and grace_parsed == 0)
    fast = ratio >= MIN_RATIO
    ok = correct and (fast or quick)
    print('RESULT {}: backscatter {:.1f}x faster than stock (need >= {}x{})'
          .format('PASS' if correct and fast else 'FAIL', ratio, MIN_RATIO,
                  '' if fast or not quick else
                  '; a --quick run on a busy machine is too short to '
                  'enforce it: run the full benchmark'))
    print(json.dumps(dict(bench='bounces', size=size, seed=seed,
                          results=result,
                          backscatter_parsed=backscatter_parsed + grace_parsed,
                          mismatches=len(mismatches) + len(grace_mismatches),
                          ok=ok)))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
