"""F2_two_from_headers: a second From header (the member's first, the
attacker's second) with an SPF-failing envelope sender.

The engine's verdict is as at 8faf8a4: no From address, status none.
What was wrong was Mailman's side: the forged-member rule skipped a
verdict without a From address and the membership rules took the first
From, so the post was distributed as the member's.  Fixed: a verdict
that names no one author is an unproven author, which the forged-member
rule holds (rules.forged_member.unproven_author).
tests/e2e/test_unproven_author.py shows it on a real Mailman.
"""

from mailman_antibackscatter.auth import ClientInfo, Status
from mailman_antibackscatter.rules.forged_member import unproven_author
from tests.reproducers.common import (
    VICTIM_RECORDS, Observation, authenticate, main)

NAME = 'f2_two_from_headers'
MEMBER = 'ceo@victim.example'
RAW = (b'From: ceo@victim.example\r\nFrom: mallory@attacker.example\r\n'
       b'To: test@lists.example.net\r\nSubject: pay\r\n'
       b'Message-ID: <f7@x>\r\n\r\nPay.\r\n')


def observe():
    verdict = authenticate(RAW, MEMBER,
                           ClientInfo('198.18.7.66', 'bot', 'xforward'),
                           VICTIM_RECORDS,
                           authserv_id='mail.lists.example.net')
    held = unproven_author(verdict)
    outcome = (verdict.from_address is None
               and verdict.status_for(MEMBER) is not Status.PASS and held)
    return Observation(NAME, [
        'two From headers: from_address %s, status %s, forged-member rule '
        'hits: %s (was: rule skipped, first From a member post, at 8faf8a4)'
        % (verdict.from_address, verdict.status.value, held)], outcome)


if __name__ == '__main__':
    main(observe)
