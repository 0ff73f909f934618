"""poc_redos2: Received-SPF parsing of one long token (review B.10, and
F3 of the fuzzing run).

At 8faf8a4 parse_received_spf was quadratic: 18 s for a 32 000-letter
token.  Fixed: a linear tokenizer over at most MAX_RECEIVED_SPF_CHARS.
Fails on 0.2 s at 32 000 letters.
"""

from mailman_antibackscatter.auth import headers
from tests.reproducers.common import Observation, main, timed

NAME = 'poc_redos2'
SIZES = (4000, 8000, 16000, 32000)
BOUND = 0.2


def observe():
    rows, results = [], []
    for n in SIZES:
        result, seconds = timed(headers.parse_received_spf, 'pass ' + 'a' * n)
        rows.append((n, seconds))
        results.append(result)
    worst = max(seconds for _, seconds in rows)
    return Observation(NAME, [
        'Received-SPF, %d-letter token: %.4f s, result %r (was 18.2 s at '
        '8faf8a4)' % (rows[-1] + (results[-1][0],)),
        ' '.join('n=%d %.4f s' % row for row in rows)],
        outcome=all(r[0] == 'pass' for r in results),
        timely=worst < BOUND, figures={'seconds': worst})


if __name__ == '__main__':
    main(observe)
