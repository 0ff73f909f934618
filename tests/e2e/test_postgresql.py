"""A real Mailman with the plugin on a real PostgreSQL server.

The server is Debian's PostgreSQL, started by the test run on loopback
(tests/conftest.py).  The same scenario runs on the SQLite Mailman of the
other e2e tests (``world``) and on one whose database is PostgreSQL
(``pg_world``); what the senders receive and what the plugin counts must be
the same, and the counters must really be in PostgreSQL, next to Mailman's
own tables, with Mailman's alembic revision untouched.
"""

import pytest
import psycopg2

from mailman.database.model import Model
from tests.harness.postgres import PostgresServer
from tests.harness.scenario import SPAMMER
from tests.e2e.test_paths import (
    BOB, OWNER, VICTIM, address, forged_then_authentic, settle)

pytestmark = [pytest.mark.e2e, pytest.mark.postgresql]

OURS = {name for name in Model.metadata.tables
        if name.startswith('antibackscatter_')}
REJECT = address('dbreject')
HOLD = address('dbhold')


def mailman_alembic_head():
    """The revision Mailman stamps on a database it creates."""
    from alembic.script import ScriptDirectory
    from mailman.database.alembic import alembic_cfg
    return ScriptDirectory.from_config(alembic_cfg).get_current_head()


def answers(world, lists):
    """What each party received from these lists: (to, Subject) pairs."""
    seen = []
    for delivery in world.sink.deliveries:
        text = delivery.data.decode('utf-8', 'replace')
        if any(name.split('@')[0] in text for name in lists):
            seen.extend((rcpt, str(delivery.message.get('Subject', '')))
                        for rcpt in delivery.rcpt_tos)
    return sorted(seen)


def counters(world, list_fqdn):
    response = world.mailman.rest(
        'GET', 'plugins/antibackscatter/stats',
        params={'list_id': world.mailman.list_id(list_fqdn)})
    assert response.status_code == 200, response.text
    return {e['reason']: e['count'] for e in response.json()['entries']}


def scenario(world):
    """Reject bounce and moderator reject, each forged and authentic.

    Returns what was sent and counted, for comparing back ends.
    """
    mm = world.mailman
    mm.create_list(REJECT, default_nonmember_action='reject')
    mm.create_list(HOLD)
    for fqdn in (REJECT, HOLD):
        mm.add_member(fqdn, OWNER, role='owner')
    forged_then_authentic(world, REJECT, subject='db reject me',
                          expect=b'db reject me')
    # Held posts live in Mailman's database with the door's verdict, until
    # a moderator rejects them: only the proven sender hears about it.
    world.send(sender=VICTIM, to=HOLD, client=SPAMMER,
               subject='db forged held')
    world.send(sender=BOB, to=HOLD, sign=True, subject='db authentic held')
    settle(world)
    held = {h['subject']: h['request_id'] for h in mm.held(HOLD)}
    assert set(held) == {'db forged held', 'db authentic held'}, held
    for request_id in held.values():
        mm.moderate(HOLD, request_id, 'reject')
    world.sink.wait_for(lambda d: d.sent_to(BOB)
                        and b'db authentic held' in d.data)
    settle(world)
    assert world.sent_to(VICTIM) == []
    return dict(answers=answers(world, (REJECT, HOLD)),
                reject=counters(world, REJECT), hold=counters(world, HOLD))


@pytest.fixture(scope='module')
def outcomes(world, pg_world):
    return scenario(world), scenario(pg_world)


def test_same_behaviour_on_sqlite_and_postgresql(outcomes):
    on_sqlite, on_postgresql = outcomes
    assert on_postgresql == on_sqlite
    # And that behaviour is the protected one.
    # (The reject bounce to the proven sender is counted as sent.)
    assert on_postgresql['reject'] == {'reject-unproven-discarded': 1,
                                       'notice-sent-in': 1}
    recipients = {rcpt for rcpt, _subject in on_postgresql['answers']}
    assert BOB in recipients and VICTIM not in recipients


def test_counters_and_rate_limit_rows_are_in_postgresql(
        outcomes, pg_world, postgres):
    _, on_postgresql = outcomes
    with psycopg2.connect(pg_world.database_url) as connection:
        with connection.cursor() as cursor:
            cursor.execute(
                'SELECT reason, SUM(count) FROM '
                'antibackscatter_decision_count WHERE list_id = %s '
                'GROUP BY reason', (pg_world.mailman.list_id(REJECT),))
            stored = dict(cursor.fetchall())
            cursor.execute('SELECT DISTINCT recipient FROM '
                           'antibackscatter_sent_answer')
            answered = {row[0] for row in cursor.fetchall()}
    connection.close()
    assert stored == on_postgresql['reject']
    assert BOB in answered and VICTIM not in answered


def test_plugin_tables_beside_mailmans_and_alembic_untouched(
        pg_world, postgres):
    tables = postgres.tables('e2e_world')
    assert OURS <= tables
    assert {'mailinglist', 'address', 'alembic_version'} <= tables
    versions = postgres.psql('SELECT version_num FROM alembic_version',
                             database='e2e_world').split()
    assert versions == [mailman_alembic_head()]


def test_mailman_command_on_the_populated_database(outcomes, pg_world,
                                                   postgres):
    """Every `mailman` command runs the plugin's migrate again."""
    def schema():
        return (postgres.tables('e2e_world'),
                postgres.psql('SELECT version_num FROM alembic_version',
                              database='e2e_world'))
    before = schema()
    listed = pg_world.mailman.mailman('lists').stdout
    assert REJECT in listed and HOLD in listed
    assert schema() == before


def test_server_requires_the_password_and_cleans_up():
    server = PostgresServer(user='someone', database='somedb')
    with server:
        root, port = server.root, server.port
        with psycopg2.connect(server.url) as connection:
            with connection.cursor() as cursor:
                cursor.execute('SELECT current_user, current_database()')
                assert cursor.fetchone() == ('someone', 'somedb')
        connection.close()
        wrong = server.url.replace(server.password, 'wrong')
        with pytest.raises(psycopg2.OperationalError,
                           match='password authentication failed'):
            psycopg2.connect(wrong)
        # The superuser is reachable over the socket only, never over TCP.
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(host=server.host, port=port, user='postgres',
                             dbname='postgres', password='')
        assert (server.create_database('another')
                == server.url_for('another'))
        assert 'another' in server.psql(
            'SELECT datname FROM pg_database').split()
    assert not root.exists()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(host='127.0.0.1', port=port, user='someone',
                         dbname='somedb', password=server.password,
                         connect_timeout=2)
