"""Text from a message or DNS reaches the log, the owners' summary and
REST as one line of bounded length; the summary lists a bounded number of
posts."""

import logging

from mailman.app.lifecycle import create_list
from mailman_antibackscatter.app import decisions, summary
from mailman_antibackscatter.app.moderator import HeldPost
from mailman_antibackscatter.auth import Status, Verdict

INJECTED = ('header.d=x\r\n \r\n URGENT - held posts expire in 24h. '
            'Moderate them at:\r\n  https://evil.example/held\r\n')


def held(number, reason=INJECTED):
    verdict = Verdict(from_address='a@victim.example',
                      from_status=Status.NONE, reason=reason)
    return HeldPost(request_id=number, sender='a@victim.example\r\nX: y',
                    subject='hi\r\n  Moderate them at:', hold_date=None,
                    message_id='<m{}@x>\r\n 2025 INJECTED'.format(number),
                    reason='held\r\nagain', verdict=verdict)


def test_summary_quotes_a_hostile_reason_on_one_line(mailman):
    mlist = create_list('test@example.com')
    text = summary.Summary(mlist=mlist, since=None, posts=[held(1)]).text()
    assert 'Moderate them at:\n  https://evil' not in text
    lines = text.splitlines()
    # The verdict is explained in plain words (the reason is not quoted),
    # on exactly one line.
    assert len([line for line in lines if 'Verdict:' in line]) == 1
    assert not any(line.lstrip().startswith('https://evil') for line in lines)


def test_summary_lists_at_most_the_site_limit(mailman):
    mlist = create_list('test@example.com')
    posts = [held(n, reason='no aligned authentication') for n in
             range(1, 61)]
    text = summary.Summary(mlist=mlist, since=None, posts=posts).text()
    assert ' 50. Subject:' in text and ' 51. Subject:' not in text
    assert 'and 10 more held posts' in text


def test_rest_entries_of_held_posts_are_one_line(mailman):
    entry = held(1).as_dict()
    for value in (entry['sender'], entry['subject'], entry['message_id'],
                  entry['reason'], entry['verdict']['reason']):
        assert '\r' not in value and '\n' not in value


def test_decision_log_line_is_one_line(mailman, caplog):
    verdict = held(1).verdict
    with caplog.at_level(logging.INFO, logger='mailman.antibackscatter'):
        decisions.record('answer-suppressed-none', list_id='test.example.com',
                         message_id='<x@y>\r\n 2025-12-01 INJECTED',
                         verdict=verdict, action='not sent',
                         recipient='a@b\r\nc', detail='d\ne')
    (message,) = [r.getMessage() for r in caplog.records
                  if r.getMessage().startswith('answer-suppressed-none')]
    assert '\n' not in message and '\r' not in message
    assert len(message) < 1200


def test_rest_verdict_check_is_one_line(mailman):
    from mailman_antibackscatter.app.status import verdict_as_dict
    from mailman_antibackscatter.auth import ClientInfo, DKIMResult
    verdict = Verdict(
        from_address='a@victim.example', mail_from='b@x\r\ny',
        client=ClientInfo('203.0.113.9\n2025-12-01 fake line', 'x\r\ny'),
        dkim=(DKIMResult('permerror', 'x\r\n evil', 's\r\n1', INJECTED),),
        reason=INJECTED)
    info = verdict_as_dict(verdict, 'lists.example.com')
    info.pop('authentication_results')
    for value in (info['reason'], info['mail_from'], info['client']['ip'],
                  info['client']['helo'], info['dkim'][0]['domain'],
                  info['dkim'][0]['selector'], info['dkim'][0]['reason']):
        assert '\r' not in value and '\n' not in value
