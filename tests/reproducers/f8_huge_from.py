"""F8_huge_from: a From value of hundreds of KB of ';' (quadratic in
email.utils.getaddresses).

At 8faf8a4: 1.0 s for 400 KB on one line, 2.5 s for 1 MB folded.  Fixed:
parse_address (and parse_from before it) refuses a value over
MAX_FROM_BYTES without parsing.  Fails on 0.1 s.
tests/unit/test_bounded_work.py covers the refusal.
"""

from mailman_antibackscatter.auth.headers import parse_address
from tests.reproducers.common import Observation, main, timed

NAME = 'f8_huge_from'
BOUND = 0.1


def inputs():
    for kb in (100, 200, 400):
        yield '%d KB one line' % kb, ';' * (kb * 1024)
    for kb in (256, 1024):
        yield '%d KB folded' % kb, ' '.join([';' * 76] * (kb * 1024 // 77))


def observe():
    figures, ok = {}, True
    for label, value in inputs():
        address, figures[label] = timed(parse_address, value)
        ok = ok and address is None
    worst = max(figures.values())
    return Observation(NAME, [
        'From of ";": 400 KB %.5f s, 1 MB folded %.5f s, %s (was '
        '1.0 s and 2.5 s at 8faf8a4)'
        % (figures['400 KB one line'], figures['1024 KB folded'],
           'no address' if ok else 'AN ADDRESS')],
        outcome=ok, timely=worst < BOUND, figures=figures)


if __name__ == '__main__':
    main(observe)
