"""poc_redos: backtracking in two patterns that see attacker text (review
B.3): a DKIM b= value of 'A', a run of white space and '!' (dkimverify's
old _B64), and a Received from-clause with a white-space run
(headers.parse_received, the old _FROM_CLAUSE).

At 8faf8a4 both were quadratic: 1.0-1.9 s each at 16 000 characters.
Fixed: base64 is validated by translate() and binascii, the Received
walk is linear.  The script fails on 0.2 s at 16 000 (about ten times
what the fixed code takes on a loaded machine).
"""

from mailman_antibackscatter.auth import dkimverify, headers
from tests.reproducers.common import Observation, main, timed

NAME = 'poc_redos'
SIZES = (2000, 4000, 8000, 16000)
BOUND = 0.2


def observe():
    rows, ok = [], True
    for n in SIZES:
        decoded, b64 = timed(dkimverify.decode_base64,
                             b'A' + b' ' * n + b'!')
        parsed, received = timed(headers.parse_received,
                                 'from a' + ' ' * n + 'x')
        ok = ok and decoded is None and parsed == (None, None)
        rows.append((n, b64, received))
    worst = max(max(b, r) for _, b, r in rows)
    return Observation(NAME, [
        'b= base64 / Received at n=%d: %.4f s / %.4f s (was 1.9 s / 1.9 s '
        'at 8faf8a4)' % rows[-1],
        ' '.join('n=%d %.4f/%.4f' % row for row in rows)],
        outcome=ok, timely=worst < BOUND, figures={'seconds': worst})


if __name__ == '__main__':
    main(observe)
