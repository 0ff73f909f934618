"""F3_received_spf_quadratic: parse_received_spf() on one long token, and
stamp() over a Received-SPF header folded into hundreds of 990-letter
lines (the door removes untrusted such headers when it stamps).

At 8faf8a4: 4.6 s for a 20 000-letter token and 5.0 s to stamp a 387 KB
header.  Fixed: a linear tokenizer that reads at most
MAX_RECEIVED_SPF_CHARS.  Fails on 0.5 s for any figure.
"""

from mailman_antibackscatter.auth import ClientInfo
from mailman_antibackscatter.auth.headers import parse_received_spf
from tests.reproducers.common import Observation, authenticator, main, timed

NAME = 'f3_received_spf_quadratic'
BOUND = 0.5


def folded(tokens):
    return (b'Received: from a (a [192.0.2.1]) by b; x\r\n'
            b'From: a@example.org\r\n'
            b'Received-SPF: pass ' + b'\r\n '.join([b'a' * 990] * tokens)
            + b'\r\n\r\nbody\r\n')


def observe():
    figures, ok = {}, True
    for n in (5000, 10000, 20000):
        result, figures['token %d' % n] = timed(
            parse_received_spf, 'pass ' + 'a' * n)
        ok = ok and result[0] == 'pass'
    auth = authenticator(authserv_id='x.example', dns_timeout=0.5)
    for tokens in (100, 400):
        raw = folded(tokens)
        verdict = auth.authenticate(raw, 'a@example.org',
                                    ClientInfo('192.0.2.1', 'a', 'xforward'))
        stamped, figures['stamp %d KB' % (len(raw) // 1024)] = timed(
            auth.stamp, raw, verdict)
        ok = ok and stamped.endswith(raw)
    worst = max(figures.values())
    return Observation(NAME, [
        'parse_received_spf 20000 letters %.4f s, stamp 387 KB %.4f s '
        '(was 4.6 s and 5.0 s at 8faf8a4)'
        % (figures['token 20000'], figures['stamp 387 KB']),
        ' '.join('%s %.4f s;' % item for item in figures.items())],
        outcome=ok, timely=worst < BOUND, figures=figures)


if __name__ == '__main__':
    main(observe)
