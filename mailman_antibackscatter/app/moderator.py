"""Held posts in Mailman's requests database, with the door's verdict.

Used by the moderator's decisions, the REST `held` resource and the owner
summary, so the verdict of a held post is read one way; and what a
moderator's decision or a content-filter reject does to an unproven sender.
"""

import logging

from dataclasses import dataclass

from mailman.app.moderator import hold_message
from mailman.interfaces.requests import IListRequests, RequestType
from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.app.trigger import (
    answering, current, MSGDATA_KEY, msgdata_verdict, Trigger, verdict_of)
from mailman_antibackscatter.auth import Status
from mailman_antibackscatter.auth.explain import explain
from mailman_antibackscatter.text import one_line

log = logging.getLogger('mailman.antibackscatter')


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
        """For REST (and Postorius): every text on one bounded line."""
        verdict = self.verdict
        return dict(
            request_id=self.request_id, sender=one_line(self.sender),
            subject=one_line(self.subject),
            message_id=one_line(self.message_id),
            reason=one_line(self.reason), hold_date=self.hold_date,
            verdict=None if verdict is None else dict(
                status=verdict.status.value,
                reason=one_line(verdict.reason),
                from_address=one_line(verdict.from_address) or None,
                explanation=one_line(explain(verdict))))


def held_post(mlist, request_id):
    """The held post *request_id* of *mlist*, or None."""
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
        # hold_message copied the door's msgdata with the post
        verdict=verdict_of(data))


def held_posts(mlist):
    """Every held post of *mlist*, oldest first."""
    requests = IListRequests(mlist)
    result = []
    for request in requests.of_type(RequestType.held_message):
        post = held_post(mlist, request.id)
        if post is not None:
            result.append(post)
    return result


def held_trigger(mlist, request_id, forward=None):
    """The trigger for a moderator's decision on held post *request_id*."""
    verdict, message_id = None, ''
    try:
        post = held_post(mlist, request_id)
        if post is not None:
            verdict, message_id = post.verdict, post.message_id
    except Exception:
        log.exception('could not read the verdict of held request %s on %s',
                      request_id, mlist.list_id)
    return Trigger(list_id=mlist.list_id, message_id=message_id,
                   verdict=verdict, where='moderator',
                   # A moderator's own "forward to" addresses are no answer.
                   chosen=frozenset(a.lower() for a in (forward or ())))


def moderator_decision(original):
    """Wrap `handle_message`: a held post is the trigger while a moderator's
    decision on it is carried out (patches.py installs it)."""
    def handle_message(mlist, id, action, comment=None, forward=None):
        with answering(held_trigger(mlist, id, forward)):
            return original(mlist, id, action, comment, forward)
    return handle_message


def hold_undecided_reject(original):
    """Wrap the pipeline's `bounce_message`: a content-filter reject of an
    undecided (temperror) sender holds the message instead.

    Mailman drops a message whose pipeline raised RejectMessage and bounces
    it; the exit already stops the bounce to an unproven sender, but a DNS
    failure must never cost a message, so that one is held.
    """
    def bounce_message(mlist, msg, error=None):
        trigger = current()
        if (trigger is not None and trigger.verdict is not None
                and policy_for(mlist).enabled
                and trigger.status_for(msg.sender) is Status.TEMPERROR):
            hold_message(mlist, msg,
                         {MSGDATA_KEY: msgdata_verdict(trigger.verdict)},
                         'Rejected by a content filter ({}); held because '
                         'DNS trouble kept the sender unproven'.format(error))
            decisions.record(
                'pipeline-reject-held-temperror', list_id=mlist.list_id,
                message_id=str(msg.get('message-id', '')),
                verdict=trigger.verdict, action='hold')
            return None
        return original(mlist, msg, error)
    return bounce_message
