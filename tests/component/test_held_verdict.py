"""The verdict of a held post survives Mailman's requests database.

Mailman keeps a held post's msgdata in its pending table; a value that is
not a string is pickled and the pickle decoded as raw-unicode-escape, so a
pickle holding a backslash and "u" or "U" (an attacker's d= value, or the
bytes of a float) made hold_message raise and the post was shunted instead
of held, or came back altered.
"""

import pickle

from mailman.interfaces.requests import IListRequests, RequestType
from mailman.testing.helpers import get_queue_messages
from mailman_antibackscatter.app.trigger import MSGDATA_KEY, verdict_of

from tests.component.helpers import SPAMMER, incoming
from tests.component.test_guard import list_with_anne, run_incoming

SIGNATURE = ('DKIM-Signature: v=1; a=rsa-sha256; d=x\\Uzz.example; s=s;'
             ' h=from; bh=AAAA; b=AAAA')


def test_a_verdict_with_a_backslash_u_is_held_with_the_post(mailman, dns):
    mlist = list_with_anne()
    msg, verdict = incoming(dns, sender='victim@victim.example',
                            to='test@example.com', client=SPAMMER,
                            headers=[SIGNATURE])
    assert b'\\Uzz' in pickle.dumps(verdict.to_dict())
    run_incoming(mlist, msg)
    assert get_queue_messages('shunt') == []
    requests = IListRequests(mlist)
    assert requests.count == 1
    held, = requests.of_type(RequestType.held_message)
    _key, data = requests.get_request(held.id)
    assert verdict_of(data) == verdict
    assert data[MSGDATA_KEY]
