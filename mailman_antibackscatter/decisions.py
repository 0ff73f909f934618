"""Every decision is logged on `mailman.antibackscatter` and counted per list.

Counting happens in the transaction of the runner (or REST request) that took
the decision, so a decision that Mailman rolls back is not counted either.
A failure to count is logged and never affects the message.
"""

import logging

from mailman.config import config
from mailman.utilities.datetime import today
from mailman_antibackscatter.model import DecisionCount

log = logging.getLogger('mailman.antibackscatter')


def record(reason, *, list_id, message_id, verdict=None, action,
           recipient=None, detail=None, count_now=True):
    """Log one decision and add it to the list's counters for today.

    With count_now=False the caller counts it later (the bounce gate batches
    its counters so a flood of backscatter costs no database write each).
    """
    status = verdict.status.value if verdict is not None else 'unknown'
    parts = ['{} list={} message-id={} verdict={} action={}'.format(
        reason, list_id or '-', (message_id or '-').strip(), status, action)]
    if recipient:
        parts.append('recipient={}'.format(recipient))
    if verdict is not None and verdict.reason:
        parts.append('why="{}"'.format(verdict.reason))
    if detail:
        parts.append('detail="{}"'.format(detail))
    log.info(' '.join(parts))
    if count_now:
        count(list_id or '', reason)


def count(list_id, reason, amount=1):
    try:
        store = config.db.store
        day = today()
        # no_autoflush: our read must not flush Mailman's pending changes
        # (and so cannot fail because of them); the row we add has no
        # constraints that could make the runner's commit fail.
        with store.no_autoflush:
            row = store.query(DecisionCount).filter_by(
                list_id=list_id, day=day, reason=reason).first()
        if row is None:
            store.add(DecisionCount(
                list_id=list_id, day=day, reason=reason, count=amount))
        else:
            # The database adds when the row is written (count = count + n),
            # so runners counting the same reason at once all add up.  Still
            # an expression if this transaction counted it already.
            pending = row.count
            row.count = (DecisionCount.count if isinstance(pending, int)
                         else pending) + amount
    except Exception:
        log.exception('could not count decision %s for %s', reason, list_id)


def totals(list_id=None, since=None):
    """{(list_id, reason): count} summed over days (optionally since a date)."""
    query = config.db.store.query(DecisionCount)
    if list_id is not None:
        query = query.filter_by(list_id=list_id)
    if since is not None:
        query = query.filter(DecisionCount.day >= since)
    result = {}
    for row in query:
        key = (row.list_id, row.reason)
        result[key] = result.get(key, 0) + row.count
    return result
