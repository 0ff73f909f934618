"""Membership decided on the authenticated author only.

Mailman's moderation rules count a post as a member post when any of From,
envelope sender, Reply-To or Sender is a member, so one forged header turns
spam into a member post.  These subclasses show the rules only the From
address, plus the envelope sender when that is proven.  Bans are unaffected:
the earlier `banned-address` rule still checks every sender header.
"""

from mailman.rules.moderation import MemberModeration, NonmemberModeration
from mailman_antibackscatter.auth import Status
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.app.trigger import current
from mailman_antibackscatter.rules.forged_member import is_member_address

# Keep Mailman's rule names; installed by patches.py, so not in __all__.
__all__ = []


class _AuthorOnly:
    """A view of a message whose `senders` are the authenticated ones."""

    def __init__(self, msg, senders):
        self._msg = msg
        self.senders = senders

    @property
    def sender(self):
        return self.senders[0] if self.senders else ''

    def __getattr__(self, name):
        return getattr(self._msg, name)

    def __getitem__(self, name):
        return self._msg[name]

    def __contains__(self, name):
        return name in self._msg


def author_senders(msg, mlist):
    """The senders that may decide membership for *msg* on *mlist*.

    The door's From address and the senders proven to be the author; when
    Mailman's own parse holds none of them (no single From, no readable
    verdict, an 8-bit From Mailman decodes differently), the senders that
    are not members, so that such a post is never a member post.  Empty
    only when every sender is a member; the rules below then decide
    without asking Mailman."""
    senders = msg.senders
    trigger = current()
    verdict = trigger.verdict if trigger is not None else None
    if verdict is not None and verdict.from_address is not None:
        proven = [address for address in senders
                  if address == verdict.from_address
                  or verdict.status_for(address) is Status.PASS]
        if proven:
            return proven
    return [address for address in senders
            if not is_member_address(mlist, address)]


def author_view(mlist, msg):
    """*msg* as the list's moderation rules should see it."""
    policy = policy_for(mlist)
    if not (policy.enabled and policy.authenticated_membership):
        return msg
    return _AuthorOnly(msg, author_senders(msg, mlist))


class AuthenticatedMemberModeration(MemberModeration):
    def check(self, mlist, msg, msgdata):
        view = author_view(mlist, msg)
        if not view.senders:
            return False        # no sender proven: never a member post
        return super().check(mlist, view, msgdata)


class AuthenticatedNonmemberModeration(NonmemberModeration):
    def check(self, mlist, msg, msgdata):
        view = author_view(mlist, msg)
        if view.senders:
            return super().check(mlist, view, msgdata)
        # Mailman's rule mishandles an empty sender list; a post with no
        # sender that may decide is held for the moderators.
        msgdata['member_moderation_action'] = 'hold'
        msgdata['moderation_sender'] = msg.sender
        msgdata.setdefault('moderation_reasons', []).append(
            'No sender of this message is proven to be its author')
        return True
