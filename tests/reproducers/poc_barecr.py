"""poc_barecr: a bare CR in the header block, the door's parser against
Python's compat32 parser (review B.8).

`X-Note: hi<CR>Authentication-Results: <our id>; ... pass` is one header
to the door and two to Mailman.  At 8faf8a4 the smuggled header was a
sealed pass token Mailman's side read back.  There is no seal now and
nothing reads our header back (the verdict travels in msgdata), so this
ports what the finding was about: a block with a bare CR proves no From
address, the header the door writes has no bare CR and parses back to
the door's own verdict, and a message's headers (ours or smuggled) are
no verdict: app.trigger.verdict_of reads msgdata only.
tests/unit/test_trustzone.py::test_bare_cr_in_the_header_block_is_malformed
covers the verdict part with a smuggled From.
"""

import email

from mailman_antibackscatter.app.trigger import verdict_of
from mailman_antibackscatter.auth import ClientInfo, Status, Verdict
from mailman_antibackscatter.auth import authresults
from tests.harness.dnsserver import DNSServer
from tests.reproducers.common import Observation, authenticator, main

NAME = 'poc_barecr'
ID = 'ab.lists.example.net'
AUTHOR = 'boss@victim.example'


def hostile_message():
    # what the door writes for a pass, as a member finds it in a list copy
    leaked = authresults.render_verdict(Verdict(
        from_address=AUTHOR, from_status=Status.PASS, reason='dkim=pass'), ID)
    return ('Received: from bot (bot [203.0.113.66]) by mx;'
            ' Mon, 1 Dec 2025 10:00:00 +0000\r\n'
            'X-Note: hi\rAuthentication-Results: ' + leaked + '\r\n'
            'From: boss@victim.example\r\nTo: l@lists.example.net\r\n'
            'Subject: s\r\nMessage-ID: <cr@x>\r\n\r\nbody\r\n').encode()


def observe():
    raw = hostile_message()
    with DNSServer() as dns:
        dns.add('victim.example', 'TXT', 'v=spf1 -all')
        auth = authenticator(dns, authserv_id=ID)
        verdict = auth.authenticate(
            raw, AUTHOR, ClientInfo('203.0.113.66', 'bot', 'xforward'))
        stamped = auth.stamp(raw, verdict)
    ours_raw = stamped.split(b'\r\nReceived: ', 1)[0]
    ours = email.message_from_bytes(stamped).get_all(
        'Authentication-Results')
    claimed = [value for value in ours
               if authresults.authserv_id_of(str(value)) == ID]
    authserv_id, results = authresults.parse(
        ' '.join(str(claimed[0]).split()))
    said = {r.method: r.result for r in results}[authresults.VERDICT_METHOD]
    msgdata = {}        # what Mailman would have for this message untouched
    outcome = (verdict.status_for(AUTHOR) is not Status.PASS
               and verdict.from_address is None
               and b'\r' not in ours_raw.replace(b'\r\n', b'')
               and authserv_id == ID and said == verdict.status.value
               and verdict_of(msgdata) is None)
    return Observation(NAME, [
        'bare CR: verdict for %s %s (From address %s), our header first '
        'and parses back as %s (was: smuggled sealed pass read back at '
        '8faf8a4)' % (AUTHOR, verdict.status_for(AUTHOR).value,
                      verdict.from_address, said),
        'Python sees %d A-R headers with our id after the door; the '
        'verdict Mailman reads without msgdata: %s'
        % (len(claimed), verdict_of(msgdata))], outcome)


if __name__ == '__main__':
    main(observe)
