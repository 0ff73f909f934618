"""The owner notification policy on a real Mailman, and the summary sent by
the real `mailman antibackscatter notify-owners` command."""

import itertools
import sqlite3

import pytest

from mailman_antibackscatter.model.schema import SCHEMA_VERSION
from tests.harness.scenario import SPAMMER, list_address

pytestmark = pytest.mark.e2e

VICTIM = 'victim@victim.example'
BOB = 'bob@example.org'
_numbers = itertools.count(1)


@pytest.fixture
def owned_list(world):
    """A fresh list with a personal owner; returns (fqdn, owner)."""
    return make_owned_list(world)


def make_owned_list(world):
    name = 'owners{}'.format(next(_numbers))
    fqdn = list_address(name)
    owner = '{}-boss@example.org'.format(name)
    world.mailman.create_list(fqdn, admin_immed_notify=True)
    world.mailman.add_member(fqdn, owner, role='owner')
    return fqdn, owner


def set_policy(world, fqdn, value):
    response = world.mailman.rest(
        'PATCH', 'plugins/antibackscatter/lists/' +
        world.mailman.list_id(fqdn), data=dict(owner_notices=value))
    assert response.status_code == 204, response.text


def owner_notices_about(world, fqdn, subject):
    return world.answers_about(fqdn.replace('@', '-owner@'),
                               subject=subject)


def test_authenticated_only_summarizes_a_forged_held_post(any_world):
    """On SQLite and on PostgreSQL (the summary's own tables)."""
    world = any_world
    fqdn, owner = make_owned_list(world)
    set_policy(world, fqdn, 'authenticated-only')
    world.send(sender=VICTIM, to=fqdn, client=SPAMMER,
               subject='forged for the summary')
    world.send(sender=BOB, to=fqdn, sign=True, subject='proven held post')
    # The proven sender's held post is notified at once...
    world.sink.wait_for(lambda d: fqdn.replace('@', '-owner@') in d.rcpt_tos
                        and b'proven held post' in d.data)
    world.mailman.wait_idle()
    # ...the forged one is not, and nothing goes to the forged address.
    assert owner_notices_about(world, fqdn, 'forged for the summary') == []
    assert world.answers_about(owner, subject='forged for the summary') == []
    assert world.sent_to(VICTIM) == []
    held = world.mailman.rest('GET', 'plugins/antibackscatter/lists/{}/held'
                              .format(world.mailman.list_id(fqdn))).json()
    verdicts = {e['subject']: e['verdict']['status']
                for e in held['entries']}
    assert verdicts == {'forged for the summary': 'fail',
                        'proven held post': 'pass'}

    result = world.mailman.mailman('antibackscatter', 'notify-owners',
                                   '--list', fqdn)
    assert 'sent' in result.stdout, result.stdout
    delivery = world.sink.wait_for(
        lambda d: owner in d.rcpt_tos and b'forged for the summary' in d.data)
    text = delivery.data.decode('utf-8', 'replace')
    assert 'fail' in text
    assert 'https://{}/mailman3/lists/{}/held_messages'.format(
        fqdn.split('@')[1], world.mailman.list_id(fqdn)) in text
    assert 'message/rfc822' not in text          # never attached
    assert 'proven held post' not in text        # its owners were told
    world.mailman.wait_idle()
    assert world.sent_to(VICTIM) == []

    # Nothing new: a second run sends nothing.
    before = len(world.sink.to(owner))
    again = world.mailman.mailman('antibackscatter', 'notify-owners',
                                  '--list', fqdn, '--force')
    assert 'nothing new' in again.stdout, again.stdout
    world.mailman.wait_idle()
    assert len(world.sink.to(owner)) == before


def test_immediate_behaves_like_mailman(world, owned_list):
    fqdn, owner = owned_list
    set_policy(world, fqdn, 'immediate')
    world.send(sender=VICTIM, to=fqdn, client=SPAMMER,
               subject='forged but notified')
    delivery = world.sink.wait_for(
        lambda d: fqdn.replace('@', '-owner@') in d.rcpt_tos
        and b'forged but notified' in d.data)
    assert b'message/rfc822' in delivery.data      # the post, attached
    world.mailman.wait_idle()
    assert world.sent_to(VICTIM) == []
    # No summary for a list that is told at once.
    result = world.mailman.mailman('antibackscatter', 'notify-owners',
                                   '--list', fqdn, '--dry-run')
    assert result.stdout == ''


def test_cli_show_set_reset_stats(world, owned_list):
    fqdn, _ = owned_list
    mm = world.mailman
    assert 'site default' in mm.mailman('antibackscatter', 'show', fqdn,
                                        'answer').stdout
    mm.mailman('antibackscatter', 'set', fqdn, 'answer', 'not-forged')
    shown = mm.mailman('antibackscatter', 'show', fqdn).stdout
    assert 'not-forged' in shown and 'list' in shown
    rest = mm.rest('GET', 'plugins/antibackscatter/lists/' +
                   mm.list_id(fqdn)).json()
    assert rest['overrides'] == dict(answer='not-forged')
    bad = mm.mailman('antibackscatter', 'set', fqdn, 'answer', 'maybe',
                     check=False)
    assert bad.returncode != 0 and 'answer: must be one of' in bad.stderr
    mm.mailman('antibackscatter', 'reset', fqdn)
    assert mm.rest('GET', 'plugins/antibackscatter/lists/' +
                   mm.list_id(fqdn)).json()['overrides'] == {}
    world.send(sender=VICTIM, to=fqdn, client=SPAMMER)
    mm.wait_idle()
    stats = mm.mailman('antibackscatter', 'stats', fqdn, '--days', '2')
    assert 'owner-notice-suppressed-fail' in stats.stdout, stats.stdout


def test_own_schema_version_and_mailman_alembic_head(world):
    from alembic.script import ScriptDirectory
    from mailman.database.alembic import alembic_cfg
    head = ScriptDirectory.from_config(alembic_cfg).get_current_head()
    path = world.mailman.var_dir / 'data' / 'mailman.db'
    with sqlite3.connect(str(path)) as db:
        assert db.execute('SELECT version_num FROM alembic_version'
                          ).fetchall() == [(head,)]
        assert db.execute('SELECT version FROM antibackscatter_schema'
                          ).fetchall() == [(SCHEMA_VERSION,)]
