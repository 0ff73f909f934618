"""F5_leading_continuation_arc: a header block that starts with a
continuation line, plus an ARC-Seal header.

At 8faf8a4 dkimpy's header parser raised IndexError, the engine did not
catch it, and the verdict was the catch-all's ("internal error while
authenticating: IndexError").  Fixed: ARC fails as unparsable, the From
address is still read, no internal error.  The same input and assertion
are tests/unit/test_unproven_author.py::
test_leading_continuation_line_with_arc_seal, so pytest does not run this
one again.
"""

from tests.reproducers.common import Observation, authenticator, main

NAME = 'f5_leading_continuation_arc'
RAW = b' x\r\nARC-Seal: i=1\r\nFrom: a@example.org\r\n\r\nbody\r\n'


def observe():
    verdict = authenticator(authserv_id='x.example', dns_timeout=0.5) \
        .authenticate(RAW, 'a@example.org')
    outcome = (verdict.from_address == 'a@example.org'
               and verdict.arc.result == 'fail'
               and 'internal error' not in verdict.reason)
    return Observation(NAME, [
        'leading continuation + ARC-Seal: verdict %s, arc=%s (%s) (was '
        '"internal error while authenticating: IndexError" at 8faf8a4)'
        % (verdict.status.value, verdict.arc.result,
           verdict.arc.reason[:50])], outcome)


if __name__ == '__main__':
    main(observe)
