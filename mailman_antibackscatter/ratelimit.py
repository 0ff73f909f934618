"""One rate limit for every automatic answer, per recipient and per domain.

Mailman limits only hold notices (`max_autoresponses_per_day`); command
replies and reject bounces are unlimited.  This limit applies to everything
that passes the exit while answering incoming mail, across all lists and
runner processes, because it is kept in Mailman's database.
"""

from datetime import timedelta

from mailman.config import config
from mailman.utilities.datetime import now
from mailman_antibackscatter.model import SentAnswer


PRUNE_EVERY = timedelta(minutes=10)
_last_prune = None


def allow(recipient, settings):
    """(allowed, reason); an allowed answer is recorded against the limit.

    Counting and recording are two statements, so runners answering the
    same address at the same moment can each pass at the limit: the limit
    may be exceeded by at most the number of concurrent Mailman processes.
    """
    global _last_prune
    recipient = recipient.lower()
    domain = recipient.rpartition('@')[2]
    store = config.db.store
    moment = now()
    since = moment - settings.window
    # Autoflush stays on: answers recorded earlier in this same transaction
    # (one message, several notices) must count.
    to_recipient = store.query(SentAnswer).filter(
        SentAnswer.recipient == recipient,
        SentAnswer.sent_at >= since).count()
    if to_recipient >= settings.per_recipient:
        return False, 'ratelimit-recipient'
    to_domain = store.query(SentAnswer).filter(
        SentAnswer.domain == domain, SentAnswer.sent_at >= since).count()
    if to_domain >= settings.per_domain:
        return False, 'ratelimit-domain'
    if _last_prune is None or moment - _last_prune > PRUNE_EVERY:
        # Forget what fell out of the window, so the table stays small.
        store.query(SentAnswer).filter(SentAnswer.sent_at < since).delete()
        _last_prune = moment
    store.add(SentAnswer(recipient=recipient, domain=domain, sent_at=moment))
    return True, None
