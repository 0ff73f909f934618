"""One rate limit for every automatic answer, per recipient and per domain.

Mailman limits only hold notices (`max_autoresponses_per_day`); command
replies and reject bounces are unlimited.  This limit applies to everything
that passes the exit while answering incoming mail, across all lists and
runner processes, because it is kept in Mailman's database.
"""

from mailman.config import config
from mailman.utilities.datetime import now
from mailman_antibackscatter.model import SentAnswer


def allow(recipient, settings):
    """(allowed, reason); an allowed answer is recorded against the limit."""
    recipient = recipient.lower()
    domain = recipient.rpartition('@')[2]
    store = config.db.store
    moment = now()
    since = moment - settings.window
    # Forget what fell out of the window, so the table stays small.
    store.query(SentAnswer).filter(SentAnswer.sent_at < since).delete()
    to_recipient = store.query(SentAnswer).filter(
        SentAnswer.recipient == recipient,
        SentAnswer.sent_at >= since).count()
    if to_recipient >= settings.per_recipient:
        return False, 'ratelimit-recipient'
    to_domain = store.query(SentAnswer).filter(
        SentAnswer.domain == domain, SentAnswer.sent_at >= since).count()
    if to_domain >= settings.per_domain:
        return False, 'ratelimit-domain'
    store.add(SentAnswer(recipient=recipient, domain=domain, sent_at=moment))
    return True, None
