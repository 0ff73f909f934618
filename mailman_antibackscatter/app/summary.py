"""The owners' periodic summary (`mailman antibackscatter notify-owners`).

Lists whose `owner_notices` is `authenticated-only` or `summary` get no
immediate "post requires approval" notice for some held posts.  Their owners
instead get one plain-text message per interval listing those posts (sender,
subject, verdict, a link to moderate them) and what else the plugin did
quietly since the last summary.  The held messages are never attached: they
are mostly forgeries, and forwarding them would deliver the spam after all.

The summary is an `OwnerNotification` sent outside any incoming message, so
the exit lets it through as an owner notice with nothing to answer.
`SummaryState` remembers per list what was already reported, which makes
the command idempotent: it sends nothing when nothing is new.
"""

import logging

from dataclasses import dataclass, field
from datetime import timedelta

from mailman.config import config
from mailman.email.message import OwnerNotification
from mailman.utilities.datetime import now, today
from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.app.moderator import held_posts
from mailman_antibackscatter.auth.explain import explain
from mailman_antibackscatter.config.runtime import get_settings
from mailman_antibackscatter.model.tables import (
    DecisionCount, QuietHold, SummaryState)
from mailman_antibackscatter.text import one_line

log = logging.getLogger('mailman.antibackscatter')

SUMMARY_POLICIES = ('authenticated-only', 'summary')
# Categories reported in the summary, with the words owners read.
REPORTED = (
    # See docs/site-admin.md#statistics for the reasons in each category.
    ('backscatter_suppressed', 'automatic replies not sent to forged '
                               'senders (backscatter stopped)'),
    ('unproven_unanswered', 'automatic replies not sent to senders who '
                            'could not be proven (they may be real; their '
                            'domains publish no SPF/DKIM, or DNS failed)'),
    ('notices_suppressed', 'other automatic messages not sent (owner '
                           'notices left to this summary, replies over '
                           'the rate limit)'),
    ('posts_discarded', 'posts discarded quietly'),
    ('commands_ignored', 'email commands ignored'),
    ('bounces_dropped', 'bounces dropped (reports of mail the list never '
                        'sent, or forged)'),
    ('backscatter_to_list', 'delivery reports and auto-replies sent to the '
                            'list\'s own addresses dropped (backscatter of '
                            'spam that forged the list)'),
    # A reason, not a category: reports the owners should look at.
    ('bounce-unrecognized-summarized',
     'delivery reports of mail the list really sent that name no failed '
     'address (not attached; the antibackscatter log has their '
     'Message-IDs)'),
    )
# Fraction of the interval by which a summary may come early, so a cron job
# running exactly once per interval is not skipped for a second's jitter.
EARLY = 0.1
# Reported quiet-hold rows are kept this long, then forgotten.
KEEP_REPORTED = timedelta(days=30)


@dataclass
class Summary:
    """What one list's owners will be told."""

    mlist: object
    since: object                        # datetime of the last one, or None
    posts: list = field(default_factory=list)     # HeldPost
    counts: dict = field(default_factory=dict)    # category -> number
    snapshot: dict = field(default_factory=dict)  # today's reason counts
    quiet_rows: list = field(default_factory=list)
    waiting: int = 0                     # every held post of the list

    @property
    def others_waiting(self):
        """Held posts waiting that this summary does not list."""
        return max(self.waiting - len(self.posts), 0)

    @property
    def empty(self):
        return not self.posts and not any(self.counts.values())

    def _page_url(self, page):
        base = policy_for(self.mlist).postorius_url
        if not base:
            return None
        return '{}/lists/{}/{}'.format(
            base.replace('{domain}', self.mlist.mail_host),
            self.mlist.list_id, page)

    def moderation_url(self):
        return self._page_url('held_messages')

    def details_url(self):
        """The list's "Sender authentication" page in Postorius."""
        return self._page_url('sender-authentication/')

    @property
    def subject(self):
        return '{}: {} held post{} waiting, sender authentication ' \
               'summary'.format(self.mlist.fqdn_listname, self.waiting,
                                '' if self.waiting == 1 else 's')

    def text(self):
        since = ('since {:%Y-%m-%d %H:%M} UTC'.format(self.since)
                 if self.since else 'recently')
        lines = ['Sender authentication summary for {}, {}.'.format(
            self.mlist.fqdn_listname, since), '']
        url = self.moderation_url()
        if self.posts:
            if policy_for(self.mlist).owner_notices == 'summary':
                lines += ['These posts are held for moderation.  The list '
                          'sends its owners this', 'summary instead of '
                          'immediate notices.  The messages are not '
                          'attached.', '']
            else:
                lines += ['These posts are held for moderation.  Their '
                          'senders could not be proven,', 'so no immediate '
                          'notice was sent.  The messages are not '
                          'attached.', '']
            shown = self.posts[:get_settings().summary_max_posts]
            for number, post in enumerate(shown, 1):
                verdict = post.verdict
                # Subject, sender and reason come from the post and DNS: a
                # folded value must not add lines (a moderation link).
                lines += [
                    '{:3}. Subject: {}'.format(number, one_line(
                        post.subject)),
                    '     From:    {}'.format(one_line(post.sender)),
                    '     Verdict: {}'.format(
                        'unknown (not seen by the plugin)' if verdict is None
                        else '{} ({})'.format(one_line(explain(verdict)),
                                              verdict.status.value)),
                    '     Held:    {} (request {})'.format(
                        (post.hold_date or '-')[:16].replace('T', ' '),
                        post.request_id),
                    ]
            if len(self.posts) > len(shown):
                lines += ['', '     ... and {} more held posts, not listed '
                          'here; the moderation queue has them all.'.format(
                              len(self.posts) - len(shown))]
            lines.append('')
        others = self.others_waiting
        if others:
            lines += ['{} other held post{} waiting too (listed in an '
                      'earlier summary, or'.format(
                          others, ' is' if others == 1 else 's are'),
                      'announced by an immediate notice).', '']
        if url and self.waiting:
            lines += ['Moderate {} at:'.format(
                'it' if self.waiting == 1 else 'them'), '  ' + url, '']
        if any(self.counts.values()):
            lines += ['What the plugin did quietly {}:'.format(since)]
            for category, words in REPORTED:
                if self.counts.get(category):
                    lines.append('  {:6}  {}'.format(
                        self.counts[category], words))
            lines.append('')
        details = self.details_url()
        if details:
            lines += ['The list\'s "Sender authentication" page shows the '
                      'details:', '  ' + details]
        else:
            lines += ['The site administrator can show you the details.']
        return '\n'.join(lines) + '\n'


def _snapshot_text(counts):
    return ''.join('{}={}\n'.format(r, c) for r, c in sorted(counts.items()))


def _snapshot(text):
    counts = {}
    for line in (text or '').splitlines():
        reason, _, number = line.partition('=')
        if number.isdigit():
            counts[reason] = int(number)
    return counts


def _counts_since(list_id, state, interval, day):
    """(category counts since the last summary, today's reason counts)."""
    store = config.db.store
    query = store.query(DecisionCount).filter(
        DecisionCount.list_id == list_id)
    if state is not None and state.counted_day is not None:
        first, already = state.counted_day, _snapshot(state.counted)
    else:
        # The first summary looks back one interval (at least a day).
        first, already = day - timedelta(days=max(1, interval.days)), {}
    counts = {category: 0 for category, _ in REPORTED}
    snapshot = {}
    for row in query.filter(DecisionCount.day >= first):
        amount = row.count
        if row.day == first:
            amount -= already.get(row.reason, 0)
        if row.day == day:
            snapshot[row.reason] = row.count
        for key in (row.reason, decisions.category_of(row.reason)):
            if key in counts and amount > 0:
                counts[key] += amount
    return counts, snapshot


def compose(mlist, moment=None, force=False):
    """The Summary due for *mlist*, or None (not a summary list, not due)."""
    moment = moment or now()
    policy = policy_for(mlist)
    if not policy.enabled or policy.owner_notices not in SUMMARY_POLICIES:
        return None
    store = config.db.store
    state = store.get(SummaryState, mlist.list_id)
    since = state.last_sent if state is not None else None
    interval = policy.summary_interval
    if (not force and since is not None
            and moment - since < interval * (1 - EARLY)):
        return None
    counts, snapshot = _counts_since(mlist.list_id, state, interval, today())
    rows = store.query(QuietHold).filter(
        QuietHold.list_id == mlist.list_id,
        QuietHold.summarized_at.is_(None)).order_by(QuietHold.id).all()
    waiting = {post.message_id: post for post in held_posts(mlist)}
    posts = [waiting[row.message_id] for row in rows
             if row.message_id in waiting]
    return Summary(mlist=mlist, since=since, posts=posts, counts=counts,
                   snapshot=snapshot, quiet_rows=rows, waiting=len(waiting))


def send(summary, moment=None):
    """Send *summary* to the list owners and remember what it covered."""
    moment = moment or now()
    mlist = summary.mlist
    if not summary.empty:
        notice = OwnerNotification(mlist, summary.subject, summary.text(),
                                   roster=mlist.owners)
        if notice.recipients:
            notice.send(mlist)
            log.info('owner summary sent for %s: %s held posts listed, %s '
                     'waiting, %s', mlist.list_id, len(summary.posts),
                     summary.waiting, ', '.join(
                         '{}={}'.format(k, v)
                         for k, v in summary.counts.items() if v) or
                     'nothing else')
        else:
            log.error('owner summary for %s not sent: the list has no '
                      'owners', mlist.list_id)
    store = config.db.store
    for row in summary.quiet_rows:
        row.summarized_at = moment
    store.query(QuietHold).filter(
        QuietHold.list_id == mlist.list_id,
        QuietHold.summarized_at < moment - KEEP_REPORTED).delete()
    state = store.get(SummaryState, mlist.list_id)
    if state is None:
        state = SummaryState(list_id=mlist.list_id)
        store.add(state)
    if not summary.empty or state.last_sent is None:
        # An empty summary moves nothing forward except the very first
        # time, which starts the counting.
        state.last_sent = moment
    state.counted_day = today()
    state.counted = _snapshot_text(summary.snapshot)


def notify_owners(mlists, *, dry_run=False, force=False):
    """Compose (and unless *dry_run*, send) due summaries.

    Returns [(list_id, Summary, None, or the exception that list raised)].
    Also prunes old statistics.  Each list is committed on its own: a list
    whose summary fails is logged and skipped, and cannot undo what was
    recorded for a summary already sent (which would then go out again on
    every cron run).
    """
    results = []
    for mlist in mlists:
        list_id = mlist.list_id
        try:
            summary = compose(mlist, force=force)
            if summary is not None and not dry_run:
                send(summary)
                config.db.commit()
        except Exception as error:
            log.exception('owner summary for %s failed; the other lists '
                          'go on', list_id)
            if not dry_run:
                config.db.abort()
            summary = error
        results.append((list_id, summary))
    if not dry_run:
        decisions.prune(get_settings().statistics_retention)
    return results
