"""Held posts in Mailman's requests database, with the door's verdict.

Used by the moderator's decisions (patches.py), the REST `held` resource
and the owner summary, so the verdict of a held post is read one way.
"""

from dataclasses import dataclass

from mailman_antibackscatter.config.runtime import get_settings
from mailman_antibackscatter.app.trigger import MSGDATA_KEY, verdict_of


@dataclass(frozen=True)
class HeldPost:
    request_id: int
    sender: str
    subject: str
    message_id: str
    reason: str
    hold_date: str          # ISO 8601, as Mailman stores it, or None
    verdict: object         # Verdict or None

    def as_dict(self):
        verdict = self.verdict
        return dict(
            request_id=self.request_id, sender=self.sender,
            subject=self.subject, message_id=self.message_id,
            reason=self.reason, hold_date=self.hold_date,
            verdict=None if verdict is None else dict(
                status=verdict.status.value, reason=verdict.reason,
                from_address=verdict.from_address))


def _verdict(data):
    """The verdict stored with a held post (msgdata or the stored copy)."""
    authserv_id = get_settings().engine.authserv_id
    if MSGDATA_KEY in data:
        return verdict_of(None, data, authserv_id)
    message_id = data.get('_mod_message_id')
    if not message_id:
        return None
    # Held before the plugin stored verdicts in msgdata: read the door's
    # sealed header from the stored message.
    from mailman.interfaces.messages import IMessageStore
    from zope.component import getUtility
    held = getUtility(IMessageStore).get_message_by_id(message_id)
    return None if held is None else verdict_of(held, None, authserv_id)


def held_post(mlist, request_id):
    """The held post *request_id* of *mlist*, or None."""
    from mailman.interfaces.requests import IListRequests, RequestType
    found = IListRequests(mlist).get_request(
        request_id, RequestType.held_message)
    if found is None:
        return None
    data = dict(found[1] or {})
    return HeldPost(
        request_id=request_id,
        sender=str(data.get('_mod_sender', '')),
        subject=str(data.get('_mod_subject', '')),
        message_id=str(data.get('_mod_message_id', '')),
        reason=str(data.get('_mod_reason', '')),
        hold_date=data.get('_mod_hold_date'),
        verdict=_verdict(data))


def held_posts(mlist):
    """Every held post of *mlist*, oldest first."""
    from mailman.interfaces.requests import IListRequests, RequestType
    requests = IListRequests(mlist)
    result = []
    for request in requests.of_type(RequestType.held_message):
        post = held_post(mlist, request.id)
        if post is not None:
            result.append(post)
    return result
