"""One rate limit for every automatic answer, per recipient and per domain.

Mailman limits only hold notices (`max_autoresponses_per_day`); command
replies and reject bounces are unlimited.  This limit applies to everything
that passes the exit while answering incoming mail, across all lists and
runner processes, because it is kept in Mailman's database.
"""

from datetime import timedelta

from mailman.config import config
from mailman.utilities.datetime import now
from mailman_antibackscatter.model.schema import savepoint
from mailman_antibackscatter.model.tables import SentAnswer
from sqlalchemy import func, select


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
    moment = now()
    since = moment - settings.window
    table = SentAnswer.__table__
    # Core statements on the runner's connection, in a savepoint
    # (model.savepoint): answers recorded earlier in this same transaction
    # (one message, several notices) count, and a database error here
    # cannot abort the runner's transaction.
    with savepoint(config.db.store) as connection:
        def sent(column, value):
            return connection.execute(select(func.count()).where(
                column == value, table.c.sent_at >= since)).scalar()
        per_recipient = settings.ratelimit_per_recipient
        if sent(table.c.recipient, recipient) >= per_recipient:
            return False, 'ratelimit-recipient'
        if sent(table.c.domain, domain) >= settings.ratelimit_per_domain:
            return False, 'ratelimit-domain'
        if _last_prune is None or moment - _last_prune > PRUNE_EVERY:
            # Forget what fell out of the window, so the table stays small.
            connection.execute(table.delete().where(table.c.sent_at < since))
            _last_prune = moment
        connection.execute(table.insert().values(
            recipient=recipient, domain=domain, sent_at=moment))
    return True, None
