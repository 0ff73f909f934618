"""poc_summary: a forged post's DKIM d= value, folded, must not add lines
(such as a second "Moderate them at:" link) to the owners' summary
(review B.5).

At 8faf8a4 Summary.text() printed verdict.reason raw, and the injected
"urgent - ... moderate them at:" and a look-alike URL stood on lines of
their own before the genuine link.  The original script built the
Summary by hand with a stand-in policy; this port does it for real: the
forged post is held quietly on a list with `owner_notices: summary`, and
`mailman antibackscatter notify-owners` sends the summary to the SMTP
sink.  Fixed: every text from the message is one line (text.one_line),
so the genuine link is the only line that starts one.
"""

import re

from tests.harness.scenario import SPAMMER, list_address
from tests.reproducers.common import Observation, main_e2e

NAME = 'poc_summary'
OWNER = 'summary-boss@example.org'
EVIL_URL = ('https://lists.example.net.evil.example/mailman3/lists/'
            'test.lists.example.net/held_messages')
SIGNATURE = ('DKIM-Signature: v=1; a=rsa-sha256; s=s; h=from; bh=AAAA;'
             ' b=AAAA; d=x\r\n'
             ' \r\n'
             ' URGENT - held posts expire in 24h. Moderate them at:\r\n'
             '  ' + EVIL_URL + '\r\n'
             ' ')


def observe(world):
    mm = world.mailman
    fqdn = list_address('summary')
    mm.create_list(fqdn, admin_immed_notify=True)
    mm.add_member(fqdn, OWNER, role='owner')
    response = mm.rest('PATCH', 'plugins/antibackscatter/lists/'
                       + mm.list_id(fqdn), data=dict(owner_notices='summary'))
    assert response.status_code == 204, response.text
    world.send(sender='someone@victim.example', to=fqdn, client=SPAMMER,
               subject='hi', headers=[SIGNATURE])
    mm.wait_idle(60)
    mm.mailman('antibackscatter', 'notify-owners', '--list', fqdn)
    summary = world.sink.wait_for(
        lambda d: OWNER in d.rcpt_tos and b'authentication summary' in
        d.message.get('Subject', '').encode(), timeout=60)
    text = summary.message.get_payload(decode=True).decode('utf-8',
                                                           'replace')
    lines = text.splitlines()
    links = [line for line in lines
             if re.match(r'\s*moderate (it|them) at', line, re.I)]
    own_line = [line for line in lines
                if line.strip().startswith(EVIL_URL)]
    outcome = len(links) == 1 and not own_line and 'hi' in text
    return Observation(NAME, [
        'owners\' summary: %d line(s) starting "Moderate it/them at", %d '
        'starting with the look-alike URL (was 2 and 1 at 8faf8a4)'
        % (len(links), len(own_line))], outcome)


if __name__ == '__main__':
    main_e2e(observe)
