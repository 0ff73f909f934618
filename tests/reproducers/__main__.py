"""Run every reproducer: `python -m tests.reproducers [--engine-only]`.

Prints one summary line per reproducer (fixed, or OLD BEHAVIOUR) with
what it observed, and exits 1 if any shows the old behaviour or fails to
run.  --engine-only skips the ones that start a real Mailman.
"""

import argparse
import importlib
import sys
import traceback

from tests.reproducers import END_TO_END, ENGINE
from tests.reproducers.common import started_world


def _run(name, *args):
    module = importlib.import_module('tests.reproducers.' + name)
    try:
        observation = module.observe(*args)
    except Exception:
        traceback.print_exc()
        print('%-34s ERROR  did not run to the end' % name)
        return False
    print(observation.summary())
    for line in observation.lines[1:]:
        print('%-34s        %s' % ('', line))
    return observation.fixed


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m tests.reproducers')
    parser.add_argument('--engine-only', action='store_true',
                        help='skip the reproducers that start Mailman')
    args = parser.parse_args(argv)
    results = [_run(name) for name in ENGINE]
    if not args.engine_only:
        world = started_world()
        try:
            results += [_run(name, world) for name in END_TO_END]
        finally:
            world.stop()
    failed = results.count(False)
    print('%d reproducer(s) run: %d fixed, %d showing the old behaviour '
          'or not run' % (len(results), len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
