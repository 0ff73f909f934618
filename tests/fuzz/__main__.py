# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m tests.fuzz [SECONDS]`` (``make fuzz FUZZ_SECONDS=...``): run
every property of the fuzz tier, with fresh random seeds, round after round
until SECONDS have passed; print inputs per second per property and every
distinct finding (Hypothesis' shrunk falsifying example).  Exits 1 when
anything was found."""

import os
import sys
import time
import traceback

from hypothesis import HealthCheck, settings

from .properties import PROPERTIES, Context

BATCH = settings(max_examples=200, derandomize=False, database=None,
                 deadline=None, print_blob=True,
                 suppress_health_check=list(HealthCheck))


def main(argv):
    seconds = float(argv[0] if argv else os.environ.get('FUZZ_SECONDS', 60))
    ctx = Context()
    stats = {prop.__name__: [0, 0.0] for prop in PROPERTIES}
    findings = {}
    runs = [BATCH(prop) for prop in PROPERTIES]     # fresh seed per call
    end = time.monotonic() + seconds
    rounds = 0
    try:
        while time.monotonic() < end:
            rounds += 1
            for prop in runs:
                if time.monotonic() >= end:
                    break
                before, start = ctx.inputs, time.monotonic()
                try:
                    prop(ctx)
                except Exception as exc:
                    frame = traceback.extract_tb(exc.__traceback__)[-1]
                    key = (prop.__name__, type(exc).__name__,
                           frame.filename, frame.lineno)
                    if key not in findings:
                        findings[key] = ''.join(
                            traceback.format_exception(exc))
                        print('FINDING in %s: %s' % (prop.__name__,
                                                     findings[key]),
                              flush=True)
                stat = stats[prop.__name__]
                stat[0] += ctx.inputs - before
                stat[1] += time.monotonic() - start
    finally:
        ctx.close()
    total = sum(n for n, _t in stats.values())
    print('%d rounds, %d inputs in %.0f s' % (rounds, total, seconds))
    for name, (count, spent) in stats.items():
        print('  %-22s %8d inputs  %8.1f inputs/s' % (
            name, count, count / spent if spent else 0.0))
    print('%d distinct findings' % len(findings))
    return 1 if findings else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
