#!/usr/bin/env python3
# Copyright (C) 2026 the mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whole-system benchmark: a real Mailman, stock and with the plugin.

Starts, one after the other, three real Mailman 3 instances from
tests/harness (each with the DNS server and the SMTP sink of the e2e tier):
stock, stock with `[mta] verp_delivery_interval: 1` (Mailman's own VERP) and
with the plugin, and measures in each:

* runner CPU per member post (a 5-member list) and per held nonmember
  post: user+system time of the instance's runner processes from
  /proc/<pid>/stat, less their idle rate measured just before;
* fan-out of one post to lists of M members: seconds from the LMTP reply
  to the last copy at the sink, runner CPU (LMTP session included), SMTP
  transactions and bytes;
  with the plugin once with the defaults and once with
  `per_recipient_return_path: yes`;
* the LMTP reply latency of the door: the same signed messages, one LMTP
  session each, paced so that the previous post is delivered, after a
  warm-up pass: the whole session and the DATA reply alone (from the end
  of the data to the reply: the time the door takes to decide), median,
  p99 and the per-message differences, plugin minus stock.

Timing is reported, never judged: the exit status is 0 unless something
did not arrive.  The last line is `key=value` ratios (see docs/bounces.md).
"""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse
import secrets
import statistics
import tempfile
import time

from pathlib import Path

from tests.harness.scenario import World, list_address

TICKS = os.sysconf('SC_CLK_TCK')
AUTHOR = 'anne@example.org'             # a member of every list
STRANGER = 'zed@example.org'            # never a member: held
# Steady state: after the roll-out grace period, which records a hash row
# per recipient of every delivery for its 7 days (docs/bounces.md).
SITE_OPTIONS = ('[ratelimit]\nper_recipient: 100000\nper_domain: 100000\n'
                '[bounces]\ngrace_period: 0\n')
VARIANTS = (
    # name, plugin, extra Mailman configuration
    ('stock', False, ''),
    ('stock-verp', False, '[mta]\nverp_delivery_interval: 1\n'),
    ('plugin', True, ''),
)


def runner_cpu(mm):
    """CPU seconds used so far by the instance's runner processes."""
    total = 0
    for pid in mm._instance_pids():
        try:
            with open('/proc/{}/cmdline'.format(pid), 'rb') as stream:
                if b'--runner=' not in stream.read():
                    continue
            with open('/proc/{}/stat'.format(pid)) as stream:
                fields = stream.read().rpartition(')')[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])      # utime, stime
    return total / TICKS


class Meter:
    """Runner CPU and wall time of a block, less the runners' idle rate."""

    def __init__(self, mm, idle_seconds=3.0):
        self.mm = mm
        start, cpu = time.monotonic(), runner_cpu(mm)
        time.sleep(idle_seconds)
        self.idle_rate = (runner_cpu(mm) - cpu) / (time.monotonic() - start)

    def measure(self, block):
        cpu, start = runner_cpu(self.mm), time.monotonic()
        block()
        elapsed = time.monotonic() - start
        used = runner_cpu(self.mm) - cpu - self.idle_rate * elapsed
        return max(used, 0.0), elapsed


def add_members(mm, fqdn, count, directory):
    path = Path(directory) / '{}.txt'.format(fqdn.split('@')[0])
    path.write_text(''.join(
        'member{}@d{}.example.org\n'.format(number, number % 50)
        for number in range(count - 1)) + AUTHOR + '\n')
    mm.mailman('addmembers', '-W', str(path), fqdn, timeout=600)


def fan_out(world, fqdn, members, timeout):
    """Post once; (seconds from the LMTP reply to the last copy,
    transactions, bytes)."""
    subject = 'fan-out {}'.format(secrets.token_hex(4)).encode()
    world.sink.clear()
    world.send(sender=AUTHOR, to=fqdn, sign=True,
               subject=subject.decode())
    start = time.monotonic()
    deadline = start + timeout
    while True:
        copies = [d for d in world.sink.deliveries if subject in d.data]
        if sum(len(d.rcpt_tos) for d in copies) >= members:
            break
        if time.monotonic() > deadline:
            raise SystemExit('fan-out to {}: {} of {} copies after {}s'.format(
                fqdn, sum(len(d.rcpt_tos) for d in copies), members,
                timeout))
        time.sleep(0.05)
    elapsed = time.monotonic() - start
    world.mailman.wait_idle(timeout=timeout)
    return elapsed, len(copies), sum(len(d.data) for d in copies)


def posts(world, fqdn, sender, count):
    for number in range(count):
        world.send(sender=sender, to=fqdn, sign=True,
                   subject='post {} {}'.format(number, secrets.token_hex(3)))
    world.mailman.wait_idle(timeout=300)


def lmtp_latency(world, fqdn, count, pace):
    """For each of *count* member posts: (seconds of the whole LMTP session,
    seconds from the end of the data to the DATA reply).  The n-th message
    is the same in every instance but for its DKIM signature (each instance
    publishes a key of its own).  *pace* seconds between messages let the
    runners finish the previous post, so the reply is the door's own work,
    not its wait for a CPU the previous post's delivery holds (2 cores)."""
    found = []
    for number in range(count):
        raw, _ = world.message(sender=AUTHOR, to=fqdn, sign=True,
                               subject='latency {}'.format(number),
                               body='Message {}.\n'.format(number))
        start = time.perf_counter()
        world.deliver(raw, mail_from=AUTHOR, rcpt_to=fqdn)
        found.append((time.perf_counter() - start,
                      world.mailman.last_data_reply_seconds))
        time.sleep(pace)
    world.mailman.wait_idle(timeout=300)
    return found


def run_variant(name, plugin, extra, args, directory):
    result = {}
    world = World(Path(directory) / name, plugin=plugin,
                  site_options=SITE_OPTIONS, extra_config=extra,
                  start_timeout=600)
    world.start()
    try:
        mm = world.mailman
        small = list_address('cpu')
        mm.create_list(small)
        for number in range(4):
            mm.add_member(small, 'm{}@example.org'.format(number))
        mm.add_member(small, AUTHOR)
        fanout_lists = {}
        # Mailman's own VERP is the slow reference; --quick measures it on
        # the small list only (it took most of the quick run's time).
        for size in [size for size in args.sizes
                     if name != 'stock-verp' or size <= args.verp_max]:
            fqdn = list_address('fan{}'.format(size))
            mm.create_list(fqdn)
            add_members(mm, fqdn, size, directory)
            fanout_lists[size] = fqdn
        mm.wait_idle(timeout=300)
        # Warm up: the first post loads every runner's code and caches.
        posts(world, small, AUTHOR, 2)
        meter = Meter(mm)
        cpu, _ = meter.measure(lambda: posts(world, small, AUTHOR, args.posts))
        result['cpu_member_post'] = cpu / args.posts
        cpu, _ = meter.measure(
            lambda: posts(world, small, STRANGER, args.held))
        result['cpu_held_post'] = cpu / args.held
        modes = [('default', None)]
        if plugin:
            modes.append(('per-recipient', True))
        for size, fqdn in fanout_lists.items():
            for mode, per_recipient in modes:
                if per_recipient is not None:
                    mm.rest('PATCH', 'plugins/antibackscatter/lists/'
                            + mm.list_id(fqdn),
                            json=dict(per_recipient_return_path=True))
                timed = {}
                cpu, _ = meter.measure(lambda: timed.update(zip(
                    ('time', 'tx', 'bytes'),
                    fan_out(world, fqdn, size, args.timeout))))
                timed['cpu'] = cpu
                result[(mode, size)] = timed
        if name != 'stock-verp':        # same door as stock
            lmtp_latency(world, small, args.warm, args.pace)
            result['lmtp'] = lmtp_latency(world, small, args.lmtp, args.pace)
    finally:
        world.stop()
    return result


def p99(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def report(results, sizes):
    stock, verp, plugin = (results[n] for n, _, _ in VARIANTS)
    rows = [('stock (bulk)', stock, 'default'),
            ('stock with VERP', verp, 'default'),
            ('plugin, default (bulk + probes)', plugin, 'default'),
            ('plugin, per_recipient_return_path', plugin, 'per-recipient')]
    print('fan-out of one post (seconds to the last copy, runner CPU-s, '
          'SMTP transactions, bytes):')
    print('{:>6}  {:<34} {:>8} {:>8} {:>7} {:>12}'.format(
        'M', 'variant', 'time s', 'CPU s', 'tx', 'bytes'))
    for size in sizes:
        for label, found, mode in rows:
            row = found.get((mode, size))
            if row is None:
                print('{:>6}  {:<34} {:>8}'.format(size, label,
                                                  'not measured'))
                continue
            print('{:>6}  {:<34} {:>8.2f} {:>8.2f} {:>7} {:>12}'.format(
                size, label, row['time'], row['cpu'], row['tx'],
                row['bytes']))
    print('runner CPU per member post: stock {:.1f} ms, plugin {:.1f} ms'
          .format(stock['cpu_member_post'] * 1e3,
                  plugin['cpu_member_post'] * 1e3))
    print('runner CPU per held nonmember post: stock {:.1f} ms, plugin '
          '{:.1f} ms'.format(stock['cpu_held_post'] * 1e3,
                             plugin['cpu_held_post'] * 1e3))
    for index, what in enumerate(('LMTP session', 'DATA reply')):
        base = [pair[index] for pair in stock['lmtp']]
        ours = [pair[index] for pair in plugin['lmtp']]
        differences = [b - a for a, b in zip(base, ours)]
        print('{}, warm ({} messages): stock median {:.1f} ms p99 {:.1f} '
              'ms; plugin median {:.1f} ms p99 {:.1f} ms; paired difference '
              'median {:.1f} ms p99 {:.1f} ms'.format(
                  what, len(differences), statistics.median(base) * 1e3,
                  p99(base) * 1e3, statistics.median(ours) * 1e3,
                  p99(ours) * 1e3, statistics.median(differences) * 1e3,
                  p99(differences) * 1e3))
    big = max(sizes)

    def ratio(found, mode, key, size=big):
        base = stock[('default', size)][key]
        return found[(mode, size)][key] / base if base else float('nan')
    verp_size = max(key[1] for key in verp if isinstance(key, tuple))
    ratios = [
        ('members', big),
        ('default_time', ratio(plugin, 'default', 'time')),
        ('default_cpu', ratio(plugin, 'default', 'cpu')),
        ('per_recipient_time', ratio(plugin, 'per-recipient', 'time')),
        ('per_recipient_cpu', ratio(plugin, 'per-recipient', 'cpu')),
        ('stock_verp_time', ratio(verp, 'default', 'time', verp_size)),
        ('stock_verp_members', verp_size),
        ('member_post_cpu', plugin['cpu_member_post']
         / stock['cpu_member_post'] if stock['cpu_member_post'] else
         float('nan')),
        ('door_p99_ms', p99([reply for _, reply in plugin['lmtp']]) * 1e3),
        ('stock_door_p99_ms',
         p99([reply for _, reply in stock['lmtp']]) * 1e3),
        ]
    print(' '.join('{}={}'.format(key, value if isinstance(value, int)
                                  else '{:.2f}'.format(value))
                   for key, value in ratios))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='lists of 100 and 1,000 members, fewer posts')
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.posts, args.held, args.lmtp = (100, 1000), 10, 5, 40
        args.verp_max = 100
    else:
        args.sizes, args.posts, args.held, args.lmtp = (
            (100, 1000, 5000), 40, 20, 200)
        args.verp_max = 5000
    args.warm, args.timeout, args.pace = 10, 1800, 0.3
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix='bench-e2e-') as directory:
        results = {}
        for name, plugin, extra in VARIANTS:
            print('{}: running'.format(name), flush=True)
            begun = time.monotonic()
            results[name] = run_variant(name, plugin, extra, args, directory)
            print('{}: {:.0f} s'.format(name, time.monotonic() - begun),
                  flush=True)
        print('(run took {:.0f} s)'.format(time.monotonic() - started))
        report(results, args.sizes)
    return 0


if __name__ == '__main__':
    sys.exit(main())
