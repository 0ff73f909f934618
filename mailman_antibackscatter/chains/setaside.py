"""Hold or discard a message without answering anybody."""

from mailman.config import config

# A helper, not a component.
__all__ = []


def set_aside(action, mlist, msg, msgdata, why):
    """*action* 'hold' (for a moderator, with *why* as the reason) or
    anything else to discard.

    The hold chain's notices go through the exit like every automatic
    message, so an unproven sender hears nothing either way.
    """
    if action == 'hold':
        msgdata.setdefault('moderation_reasons', []).append(why)
        config.chains['hold']._process(mlist, msg, msgdata)
    else:
        config.chains['discard']._process(mlist, msg, msgdata)
