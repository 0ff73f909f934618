"""F1_at_sign_verdict_lost: an "@" in the verdict's reason (a DKIM d= of
x@y.example) must not lose the verdict.

At 8faf8a4 the door's own sealed header, with that "@" unquoted, did not
parse back: Mailman's side saw no verdict and a forged member post was
distributed.  There is no sealed header now; the concern lives in two
places: the verdict travels in msgdata (to_dict, pickled by Mailman's
switchboard, read by app.trigger.verdict_of) and must come back whole,
and our Authentication-Results header, which people read, must still
parse.  tests/unit/test_headers_stamp.py::
test_at_sign_in_the_reason_parses_back covers the header with a
hand-built verdict.
"""

import pickle

from mailman_antibackscatter.app.trigger import (
    MSGDATA_KEY, msgdata_verdict, verdict_of)
from mailman_antibackscatter.auth import ClientInfo, Status
from mailman_antibackscatter.auth import authresults
from tests.reproducers.common import (
    VICTIM_RECORDS, Observation, authenticate, main)

NAME = 'f1_at_sign_verdict_lost'
ID = 'mail.lists.example.net'
AUTHOR = 'ceo@victim.example'
RAW = (b'From: ceo@victim.example\r\nTo: test@lists.example.net\r\n'
       b'Subject: pay\r\nMessage-ID: <f1@x>\r\n'
       b'DKIM-Signature: v=1; a=rsa-sha256; d=x@y.example; s=s; h=from;'
       b' bh=AAAA; b=AAAA\r\n'
       b'\r\nPlease pay.\r\n')


def observe():
    verdict = authenticate(
        RAW, 'bounce@attacker.example',
        ClientInfo('198.18.7.66', 'bot.attacker.example', 'xforward'),
        VICTIM_RECORDS + (
            ('attacker.example', 'TXT', 'v=spf1 ip4:198.18.7.0/24 -all'),),
        authserv_id=ID)
    # the door's msgdata, as Mailman's switchboard pickles it
    msgdata = pickle.loads(pickle.dumps(
        {MSGDATA_KEY: msgdata_verdict(verdict)}))
    back = verdict_of(msgdata)
    value = authresults.render_verdict(verdict, ID)
    authserv_id, results = authresults.parse(value)
    said = [r.result for r in results
            if r.method == authresults.VERDICT_METHOD]
    outcome = (verdict.status_for(AUTHOR) is Status.FAIL
               and '@' in verdict.reason and back is not None
               and back.status_for(AUTHOR) is Status.FAIL
               and authserv_id == ID and said == ['fail'])
    return Observation(NAME, [
        '"@" in the reason: door verdict %s, read back from msgdata %s, '
        'our header parses back as %s (was: no verdict, member post '
        'distributed, at 8faf8a4)'
        % (verdict.status.value, back and back.status.value, said)],
        outcome)


if __name__ == '__main__':
    main(observe)
