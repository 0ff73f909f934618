"""Every decision is logged on `mailman.antibackscatter` and counted per list.

Counting happens in the transaction of the runner (or REST request) that took
the decision, so a decision that Mailman rolls back is not counted either.
A failure to count is logged and never affects the message.
"""

import logging

from datetime import timedelta

from mailman.config import config
from mailman.utilities.datetime import today
from mailman_antibackscatter.config.runtime import get_settings
from mailman_antibackscatter.model.schema import savepoint
from mailman_antibackscatter.model.tables import DecisionCount
from mailman_antibackscatter.text import one_line

log = logging.getLogger('mailman.antibackscatter')


def record(reason, *, list_id, message_id, verdict=None, action,
           recipient=None, detail=None, count_now=True):
    """Log one decision and add it to the list's counters for today.

    With count_now=False the caller counts it later (the bounce gate batches
    its counters so a flood of backscatter costs no database write each).
    """
    status = verdict.status.value if verdict is not None else 'unknown'
    # Message-IDs, addresses and reasons come from the message or DNS: one
    # line each, so that nothing can add a log line of its own.
    parts = ['{} list={} message-id={} verdict={} action={}'.format(
        reason, one_line(list_id) or '-', one_line(message_id) or '-',
        status, action)]
    if recipient:
        parts.append('recipient={}'.format(one_line(recipient)))
    if verdict is not None and verdict.reason:
        parts.append('why="{}"'.format(one_line(verdict.reason)))
    if detail:
        parts.append('detail="{}"'.format(one_line(detail)))
    log.info(' '.join(parts))
    if count_now:
        count(list_id or '', reason)


def count(list_id, reason, amount=1):
    try:
        day = today()
        store = config.db.store
        if store.get_bind().dialect.name == 'sqlite':
            _count_in_session(store, list_id, day, reason, amount)
        else:
            _count_in_savepoint(store, list_id, day, reason, amount)
        _prune_daily(day)
    except Exception:
        log.exception('could not count decision %s for %s', reason, list_id)


def _count_in_session(store, list_id, day, reason, amount):
    """SQLite: through the ORM, written when Mailman commits.

    SQLite locks the whole database from the first write to the commit, so
    writing at once would make concurrent runners wait on each other.  A
    failed statement there undoes only itself, and the read below fails at
    once (and is caught) if the table is unusable.  no_autoflush: our read
    flushes nothing of Mailman's pending changes.
    """
    with store.no_autoflush:
        row = store.query(DecisionCount).filter_by(
            list_id=list_id, day=day, reason=reason).first()
    if row is None:
        store.add(DecisionCount(
            list_id=list_id, day=day, reason=reason, count=amount))
    else:
        # The database adds when the row is written (count = count + n), so
        # runners counting the same reason at once all add up.  Still an
        # expression if this transaction counted it already.
        pending = row.count
        row.count = (DecisionCount.count if isinstance(pending, int)
                     else pending) + amount


def _count_in_savepoint(store, list_id, day, reason, amount):
    """PostgreSQL and others: Core statements in a savepoint, at once.

    There a failed statement would abort the runner's whole transaction;
    the savepoint (model.savepoint) confines it.  count = count + n makes
    concurrent runners add up (the row lock is held until the runner
    commits); two that insert a day's first row at once make two rows, and
    every reader sums rows.
    """
    table = DecisionCount.__table__
    with savepoint(store) as connection:
        done = connection.execute(table.update().where(
            table.c.list_id == list_id, table.c.day == day,
            table.c.reason == reason).values(
                count=table.c.count + amount)).rowcount
        if not done:
            connection.execute(table.insert().values(
                list_id=list_id, day=day, reason=reason, count=amount))


_last_pruned = None


def _prune_daily(day):
    """Once a day per process, forget counters past the retention time."""
    global _last_pruned
    if _last_pruned == day:
        return
    _last_pruned = day
    prune(get_settings().statistics_retention)


def totals(list_id=None, since=None):
    """{(list_id, reason): count} summed over days (or since a date)."""
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


# Statistics: reasons grouped into the categories people look at.  The
# order is the order of the REST `categories` list and of `stats` output.
CATEGORIES = ('notices_sent', 'backscatter_suppressed',
              'unproven_unanswered', 'notices_suppressed',
              'posts_held_quietly', 'posts_discarded', 'commands_ignored',
              'bounces_genuine', 'bounces_dropped', 'backscatter_to_list')
# What each category counts, in the words of the `stats` output.
CATEGORY_LABELS = dict(
    notices_sent='automatic messages sent (replies and owner notices)',
    backscatter_suppressed='automatic replies not sent to forged senders '
                           '(backscatter stopped)',
    unproven_unanswered='automatic replies not sent to unproven senders '
                        '(perhaps real: nothing proves them, or DNS failed)',
    notices_suppressed='other automatic messages withheld (owner notices '
                       'left to the summary, replies over the rate limit)',
    posts_held_quietly='posts held without telling the sender',
    posts_discarded='posts discarded',
    commands_ignored='email commands ignored',
    bounces_genuine='genuine bounces accepted',
    bounces_dropped='bounces of mail the list never sent dropped',
    backscatter_to_list='delivery reports and auto-replies to the list\'s '
                        'own addresses dropped (backscatter of spam that '
                        'forged the list)',
    )
_GENUINE_BOUNCES = frozenset((
    'bounce-genuine', 'bounce-temporary', 'bounce-autoreply',
    'bounce-unrecognized', 'bounce-unrecognized-summarized',
    'bounce-grace-accepted', 'bounce-probe'))


def category_of(reason):
    """The statistics category of *reason*, or None (not charted)."""
    if reason.startswith('notice-sent-'):
        return 'notices_sent'
    if reason.startswith('list-backscatter-'):
        # Delivery reports and auto-replies to the list's own addresses.
        return 'backscatter_to_list'
    if reason == 'answer-suppressed-fail':
        # Backscatter stopped: an automatic answer to a forged sender.
        return 'backscatter_suppressed'
    if reason.startswith('answer-suppressed-'):
        # The price of the protection: an answer not sent to a sender
        # who may be real but could not be proven (none, temperror).
        return 'unproven_unanswered'
    if reason.startswith(('owner-notice-suppressed-', 'ratelimit-')) \
            or reason == 'owner-notice-summarized':
        # Owner notices withheld or left to the summary, answers over the
        # rate limit.
        return 'notices_suppressed'
    if reason.startswith('command-'):
        return ('commands_ignored' if reason.startswith('command-ignored-')
                or reason == 'command-held-temperror' else None)
    if reason in _GENUINE_BOUNCES:
        return 'bounces_genuine'
    if reason.startswith('bounce-') and reason.endswith('-dropped'):
        return 'bounces_dropped'
    if reason.endswith(('-held', '-held-temperror')):
        return 'posts_held_quietly'
    if reason.endswith('-discarded'):
        return 'posts_discarded'
    return None


def daily(list_id, days, until=None):
    """Per-day category counts of *list_id* for the last *days* days.

    Returns (series, totals, reasons): series is one dict per day, oldest
    first, zeros included; totals per category; reasons per raw reason.
    """
    last = until or today()
    first = last - timedelta(days=days - 1)
    rows = config.db.store.query(DecisionCount).filter(
        DecisionCount.list_id == list_id, DecisionCount.day >= first,
        DecisionCount.day <= last)
    series = {first + timedelta(days=n): dict.fromkeys(CATEGORIES, 0)
              for n in range(days)}
    totals = dict.fromkeys(CATEGORIES, 0)
    reasons = {}
    for row in rows:
        reasons[row.reason] = reasons.get(row.reason, 0) + row.count
        category = category_of(row.reason)
        if category is not None:
            series[row.day][category] += row.count
            totals[category] += row.count
    return ([dict(day=day.isoformat(), **counts)
             for day, counts in sorted(series.items())], totals, reasons)


def prune(retention):
    """Delete counters older than *retention* (a timedelta); returns how many.
    """
    cutoff = today() - retention
    table = DecisionCount.__table__
    # Called inside runners' transactions too: flush nothing of theirs.
    with savepoint(config.db.store) as connection:
        return connection.execute(
            table.delete().where(table.c.day < cutoff)).rowcount
