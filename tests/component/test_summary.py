"""The owners' summary and the statistics behind it."""

from datetime import timedelta

from mailman.app.lifecycle import create_list
from mailman.config import config
from mailman.interfaces.usermanager import IUserManager
from mailman.runners.incoming import IncomingRunner
from mailman.testing.helpers import get_queue_messages, make_testable_runner
from mailman.utilities.datetime import now, today
from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.app import list_policy
from mailman_antibackscatter.app import summary
from mailman_antibackscatter.model.tables import DecisionCount, QuietHold
from zope.component import getUtility

from tests.component.helpers import SPAMMER, enqueue, incoming, recipients_of


def run_incoming(mlist, msg):
    enqueue('in', mlist, msg, to_list=True)
    make_testable_runner(IncomingRunner, 'in').run()


def summary_list(policy='authenticated-only'):
    mlist = create_list('test@example.com')
    mlist.admin_immed_notify = True
    mlist.respond_to_post_requests = False
    owner = getUtility(IUserManager).create_address('owner@example.org')
    from mailman.interfaces.member import MemberRole
    mlist.subscribe(owner, MemberRole.owner)
    recipients_of('virgin')
    list_policy.update(mlist, dict(owner_notices=policy))
    return mlist


def test_authenticated_only_summarizes_forged_and_unknown(mailman, dns):
    mlist = summary_list()
    forged, _ = incoming(dns, sender='victim@victim.example',
                         to='test@example.com', client=SPAMMER,
                         subject='cheap pills')
    unknown, _ = incoming(dns, sender='someone@plain.example',
                          to='test@example.com', subject='plain question')
    proven, _ = incoming(dns, sender='bob@example.org', sign=True,
                         to='test@example.com', subject='proven post')
    for msg in (forged, unknown, proven):
        run_incoming(mlist, msg)
    # Only the proven sender's post gets the immediate owner notice.
    sent = recipients_of('virgin')
    assert [(r, s) for r, s in sent] == [
        ({'test-owner@example.com'},
         'test@example.com post from bob@example.org requires approval')]
    assert decisions.totals(mlist.list_id)[
        (mlist.list_id, 'owner-notice-summarized')] == 2
    config.db.commit()
    found = summary.compose(mlist)
    assert [p.subject for p in found.posts] == ['cheap pills',
                                                'plain question']
    assert [p.verdict.status.value for p in found.posts] == ['fail', 'none']
    assert found.counts['notices_suppressed'] == 2
    text = found.text()
    assert 'cheap pills' in text and 'victim@victim.example' in text
    assert 'fail' in text
    assert ('https://example.com/mailman3/lists/test.example.com/'
            'held_messages') in text
    summary.send(found)
    config.db.commit()
    items = get_queue_messages('virgin')
    assert len(items) == 1
    notice = items[0]
    assert set(notice.msgdata['recipients']) == {'owner@example.org'}
    # No forged message rides along.
    assert not notice.msg.is_multipart()
    assert 'cheap pills' in notice.msg.get_payload(decode=True).decode()


def test_nothing_new_sends_nothing_and_it_is_idempotent(mailman, dns):
    mlist = summary_list('summary')
    forged, _ = incoming(dns, sender='victim@victim.example',
                         to='test@example.com', client=SPAMMER)
    run_incoming(mlist, forged)
    assert recipients_of('virgin') == []
    results = summary.notify_owners([mlist])
    assert len(get_queue_messages('virgin')) == 1
    assert results[0][1].posts
    # Again at once: not due.  Forced: due, but nothing new, nothing sent.
    assert summary.notify_owners([mlist]) == [(mlist.list_id, None)]
    forced = summary.notify_owners([mlist], force=True)
    assert forced[0][1].empty
    assert get_queue_messages('virgin') == []
    # Something new after the interval: only the new counts are reported.
    decisions.count(mlist.list_id, 'bounce-backscatter-dropped', 4)
    later = summary.compose(mlist, moment=now() + timedelta(days=1))
    assert later.posts == []
    assert later.counts == {
        'backscatter_suppressed': 0, 'unproven_unanswered': 0,
        'notices_suppressed': 0,
        'posts_discarded': 0, 'commands_ignored': 0, 'bounces_dropped': 4,
        'backscatter_to_list': 0, 'bounce-unrecognized-summarized': 0}
    assert 'bounces dropped' in later.text()


def test_lists_without_a_summary_policy_are_skipped(mailman):
    mlist = create_list('test@example.com')
    assert summary.compose(mlist) is None        # site default not-forged
    list_policy.update(mlist, dict(owner_notices='none'))
    assert summary.compose(mlist) is None


def test_a_moderated_post_is_not_listed(mailman, dns):
    mlist = summary_list('summary')
    forged, _ = incoming(dns, sender='victim@victim.example',
                         to='test@example.com', client=SPAMMER)
    run_incoming(mlist, forged)
    from mailman.app.moderator import handle_message
    from mailman.interfaces.action import Action
    from mailman.interfaces.requests import IListRequests
    request = list(IListRequests(mlist).held_requests)[0]
    handle_message(mlist, request.id, Action.discard)
    found = summary.compose(mlist)
    assert found.posts == []
    summary.send(found)
    assert config.db.store.query(QuietHold).filter(
        QuietHold.summarized_at.is_(None)).count() == 0


def test_statistics_series_and_categories(mailman):
    mlist = create_list('test@example.com')
    store = config.db.store
    day = today()
    for back, reason, amount in (
            (0, 'answer-suppressed-fail', 2), (0, 'notice-sent-in', 5),
            (0, 'owner-notice-summarized', 3), (0, 'ratelimit-recipient', 1),
            (1, 'bounce-backscatter-dropped', 3), (1, 'bounce-genuine', 1),
            (2, 'reject-unproven-discarded', 1),
            (2, 'forged-member-held', 1), (2, 'command-ignored-fail', 6),
            (2, 'command-held-temperror', 1),
            (2, 'pipeline-reject-held-temperror', 1),
            (9, 'answer-suppressed-none', 7)):
        store.add(DecisionCount(list_id=mlist.list_id, reason=reason,
                                day=day - timedelta(days=back),
                                count=amount))
    series, totals, reasons = decisions.daily(mlist.list_id, 3)
    assert [d['day'] for d in series] == [
        (day - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert totals == dict(notices_sent=5, backscatter_suppressed=2,
                          unproven_unanswered=0, notices_suppressed=4,
                          posts_held_quietly=2, posts_discarded=1,
                          commands_ignored=7, bounces_genuine=1,
                          bounces_dropped=3, backscatter_to_list=0)
    assert series[1]['bounces_dropped'] == 3
    assert 'answer-suppressed-none' not in reasons
    # Retention: what is older goes.
    assert decisions.prune(timedelta(days=5)) == 1
    assert decisions.daily(mlist.list_id, 30)[1][
        'backscatter_suppressed'] == 2


def test_forged_and_unproven_senders_are_counted_apart(mailman):
    """An answer withheld from a forged sender is backscatter stopped; one
    withheld from a sender who is merely unproven is a cost to a possibly
    real sender, and is counted as that."""
    mlist = create_list('test@example.com')
    for reason, amount in (('answer-suppressed-fail', 3),
                           ('answer-suppressed-none', 2),
                           ('answer-suppressed-temperror', 1),
                           ('answer-suppressed-no-verdict', 1)):
        decisions.count(mlist.list_id, reason, amount)
    totals = decisions.daily(mlist.list_id, 1)[1]
    assert totals['backscatter_suppressed'] == 3
    assert totals['unproven_unanswered'] == 4


def test_the_summary_goes_through_the_exit_as_an_owner_notice(mailman, dns):
    """Sent inside a forged message's handling, the exit would hold it back
    like any owner notice; sent by notify-owners (no trigger) it passes."""
    from mailman_antibackscatter.app.trigger import Trigger, answering
    mlist = summary_list('summary')
    forged, verdict = incoming(dns, sender='victim@victim.example',
                               to='test@example.com', client=SPAMMER)
    run_incoming(mlist, forged)
    found = summary.compose(mlist)
    assert found.posts
    with answering(Trigger(mlist.list_id, '<other@x>', verdict,
                           'runner:in')):
        summary.send(found)
    assert get_queue_messages('virgin') == []
    summary.send(found)
    assert len(get_queue_messages('virgin')) == 1


def test_a_forged_subject_cannot_write_lines_of_its_own(mailman, dns):
    """A folded Subject is quoted on one line: a forger must not be able to
    add a 'Moderate them at:' link of their own to the summary."""
    mlist = summary_list()
    forged, _ = incoming(
        dns, sender='victim@victim.example', to='test@example.com',
        client=SPAMMER, subject='cheap pills\r\n Moderate them at:\r\n'
        '  https://evil.example/login')
    run_incoming(mlist, forged)
    config.db.commit()
    text = summary.compose(mlist).text()
    quoted = [line for line in text.splitlines() if 'evil.example' in line
              or 'cheap pills' in line]
    assert len(quoted) == 1, text
    assert quoted[0].startswith('  1. Subject: cheap pills Moderate them at: '
                                'https://evil.example/login'), text


def test_counts_do_not_call_a_proven_sender_unproven(mailman, dns):
    """With `summary`, the owner notice of a proven sender's held post is
    left to the summary too; the summary must not report it as a message
    withheld from an unproven sender."""
    mlist = summary_list('summary')
    proven, _ = incoming(dns, sender='bob@example.org', sign=True,
                         to='test@example.com', subject='proven post')
    run_incoming(mlist, proven)
    config.db.commit()
    found = summary.compose(mlist)
    assert [p.verdict.status.value for p in found.posts] == ['pass']
    assert found.counts['notices_suppressed'] == 1
    text = found.text()
    assert 'not sent to unproven senders' not in text
    assert 'could not be proven' not in text


def test_one_failing_list_neither_blocks_nor_repeats_the_others(
        mailman, dns, monkeypatch):
    """notify-owners runs for every list from cron.  A list whose summary
    cannot be made must not stop the others, nor undo what was recorded for
    a list whose summary already went out (it would be sent again on every
    run)."""
    first = summary_list('summary')
    forged, _ = incoming(dns, sender='victim@victim.example',
                         to='test@example.com', client=SPAMMER)
    run_incoming(first, forged)
    broken = create_list('broken@example.com')
    list_policy.update(broken, dict(owner_notices='summary'))
    decisions.count(broken.list_id, 'bounce-backscatter-dropped', 2)
    config.db.commit()
    original = summary.held_posts

    def held_posts(mlist):
        if mlist.list_id == broken.list_id:
            raise RuntimeError('unreadable held post')
        return original(mlist)
    monkeypatch.setattr(summary, 'held_posts', held_posts)
    results = summary.notify_owners([first, broken])
    assert results[0][1].posts
    assert isinstance(results[1][1], RuntimeError)
    assert len(get_queue_messages('virgin')) == 1
    config.db.abort()              # what the CLI does when a list failed
    assert summary.notify_owners([first], force=True)[0][1].empty
    assert get_queue_messages('virgin') == []


def test_the_subject_counts_every_post_waiting(mailman, dns):
    """Posts reported in an earlier summary and posts whose owners got an
    immediate notice still wait: the subject counts all of them, and the
    body says how many it does not list again."""
    mlist = summary_list()
    for number in range(2):
        forged, _ = incoming(dns, sender='victim@victim.example',
                             to='test@example.com', client=SPAMMER,
                             subject='forged {}'.format(number))
        run_incoming(mlist, forged)
    summary.send(summary.compose(mlist))
    config.db.commit()
    proven, _ = incoming(dns, sender='bob@example.org', sign=True,
                         to='test@example.com', subject='proven post')
    forged, _ = incoming(dns, sender='victim@victim.example',
                         to='test@example.com', client=SPAMMER,
                         subject='forged again')
    for msg in (proven, forged):
        run_incoming(mlist, msg)
    config.db.commit()
    later = summary.compose(mlist, moment=now() + timedelta(days=1))
    assert [p.subject for p in later.posts] == ['forged again']
    assert later.subject.startswith(
        'test@example.com: 4 held posts waiting')
    text = later.text()
    assert '3 other held posts are waiting too' in text
    # Owners cannot run Mailman's command line: nothing tells them to.
    assert 'mailman antibackscatter' not in text
    assert ('https://example.com/mailman3/lists/test.example.com/'
            'sender-authentication/') in text
