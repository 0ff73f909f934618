"""F7_dkim_flood: thousands of DKIM-Signature headers.

At 8faf8a4 every signature beyond MAX_SIGNATURES still became a result:
3000 signatures gave 3000 results, a 208 KB header and 1.4 s to read the
verdict back.  Fixed: at most MAX_SIGNATURES are verified and one
'policy' result stands for the rest (3000 signatures are a header
block over MAX_HEADER_BYTES, which DKIM does not look at: one result),
so the header and the verdict in msgdata stay small.  Fails on 2 s for
authenticate (0.6 s at 8faf8a4 too: it waits 0.5 s for a DNS server
that never answers) or 0.5 s for the rest.
"""

import json

from mailman_antibackscatter.auth import ClientInfo, Verdict
from mailman_antibackscatter.auth import authresults
from mailman_antibackscatter.auth.dkimcheck import MAX_SIGNATURES
from tests.reproducers.common import Observation, authenticator, main, timed

NAME = 'f7_dkim_flood'
BOUNDS = {'authenticate': 2.0, 'stamp': 0.5, 'read back': 0.5}


def flood(n):
    return (b'Received: from a (a [192.0.2.1]) by b; x\r\n'
            b'From: a@attacker.example\r\n'
            + b''.join(b'DKIM-Signature: v=1; a=rsa-sha256;'
                       b' d=attacker.example; s=s%d; h=from; bh=AAAA;'
                       b' b=AAAA\r\n' % i for i in range(n))
            + b'\r\nbody\r\n')


def observe():
    auth = authenticator(authserv_id='x.example', dns_timeout=0.5)
    rows, ok, timely = [], True, True
    for n in (1000, 3000):
        raw = flood(n)
        verdict, t_auth = timed(auth.authenticate, raw, 'a@attacker.example',
                                ClientInfo('192.0.2.1', 'a', 'xforward'))
        _stamped, t_stamp = timed(auth.stamp, raw, verdict)
        value = authresults.render_verdict(verdict, 'x.example')
        stored = json.dumps(verdict.to_dict())
        back, t_back = timed(Verdict.from_dict, json.loads(stored))
        ok = (ok and 1 <= len(verdict.dkim) <= MAX_SIGNATURES + 1
              and back == verdict and len(value) < 8192)
        timely = timely and all(t < BOUNDS[k] for k, t in (
            ('authenticate', t_auth), ('stamp', t_stamp),
            ('read back', t_back)))
        rows.append((n, len(verdict.dkim), t_auth, t_stamp,
                     len(value) // 1024, len(stored) // 1024, t_back))
    line = ('%d signatures: %d dkim results, authenticate %.2f s, stamp '
            '%.3f s, A-R %d KB, msgdata verdict %d KB read back in %.4f s')
    return Observation(NAME, [
        line % rows[-1] + ' (was 3000 results, A-R 208 KB, read-back '
        '1.42 s at 8faf8a4)', line % rows[0]],
        outcome=ok, timely=timely,
        figures={'authenticate': max(r[2] for r in rows)})


if __name__ == '__main__':
    main(observe)
