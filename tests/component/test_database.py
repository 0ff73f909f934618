"""The plugin's tables on the database Mailman runs on: SQLite and PostgreSQL.

`migrate` runs in every Mailman process at start-up, on databases
that already have the tables, so it must be idempotent and touch nothing
but its own tables, on both back ends Mailman supports here.
"""

import datetime

import pytest
from mailman.app.lifecycle import create_list
from mailman.config import config
from mailman.database.model import Model
from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.model.schema import migrate
from mailman_antibackscatter.model.tables import DecisionCount
from sqlalchemy import create_engine, func, insert, inspect, select, text

OURS = {name for name in Model.metadata.tables
        if name.startswith('antibackscatter_')}


@pytest.fixture(params=['sqlite', 'postgresql'])
def engine(request, tmp_path):
    if request.param == 'sqlite':
        url = 'sqlite:///{}'.format(tmp_path / 'mailman.db')
    else:
        url = request.getfixturevalue('postgres_url')
    engine = create_engine(url, future=True)
    try:
        yield engine
    finally:
        engine.dispose()


def test_migrate_is_idempotent_and_keeps_rows(engine):
    migrate(engine)
    assert set(inspect(engine).get_table_names()) == OURS
    with engine.begin() as connection:
        connection.execute(insert(DecisionCount.__table__).values(
            list_id='test.example.com', day=datetime.date(2026, 1, 2),
            reason='reject-unproven-discarded', count=3))
    migrate(engine)
    migrate(engine)
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) == OURS
    indexes = {index['name'] for index in inspector.get_indexes(
        DecisionCount.__tablename__)}
    assert 'ix_antibackscatter_count_list_day' in indexes
    with engine.connect() as connection:
        total = connection.execute(
            select(func.sum(DecisionCount.__table__.c.count))).scalar()
    assert total == 3


def test_migrate_leaves_mailmans_schema_alone(engine):
    # A Mailman database as `mailman` leaves it: its tables and its
    # alembic stamp (the revision is only a marker here).
    mailman_tables = [table for table in Model.metadata.sorted_tables
                      if table.name not in OURS]
    Model.metadata.create_all(engine, tables=mailman_tables)
    with engine.begin() as connection:
        connection.execute(text(
            'CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)'))
        connection.execute(text(
            "INSERT INTO alembic_version VALUES ('8cc1f79f4459')"))
    before = set(inspect(engine).get_table_names())
    migrate(engine)
    after = set(inspect(engine).get_table_names())
    assert after - before == OURS
    with engine.connect() as connection:
        versions = connection.execute(
            text('SELECT version_num FROM alembic_version')).scalars().all()
    assert versions == ['8cc1f79f4459']


def test_layer_runs_on_the_requested_database(mailman, request):
    """--mailman-database really moves Mailman (and our counters) there."""
    wanted = request.config.getoption('--mailman-database')
    assert config.db.engine.dialect.name == wanted
    assert OURS <= set(inspect(config.db.engine).get_table_names())
    decisions.count('test.example.com', 'owner-forged-discarded')
    decisions.count('test.example.com', 'owner-forged-discarded')
    config.db.commit()
    assert decisions.totals('test.example.com') == {
        ('test.example.com', 'owner-forged-discarded'): 2}


def test_counts_from_concurrent_transactions_add_up(mailman):
    """Two runners counting the same reason at once: neither count is lost.

    The other transaction reads the counter, then this one counts and
    commits, then the other commits: a read-modify-write would store 2.
    """
    import threading
    list_id, reason = 'test.example.com', 'answer-suppressed-fail'
    sqlite = config.db.engine.dialect.name == 'sqlite'
    decisions.count(list_id, reason)
    config.db.commit()
    counted, go_on, errors = threading.Event(), threading.Event(), []

    def other_runner():
        # config.db.store is per thread: this is another session.
        try:
            decisions.count(list_id, reason)
            counted.set()
            # On PostgreSQL the main thread's UPDATE waits for this one's
            # row lock and cannot say go on: commit after a short wait.
            go_on.wait(30 if sqlite else 2)
            config.db.commit()
        except Exception as error:          # reported below
            errors.append(error)
        finally:
            counted.set()
            config.db.store.close()

    thread = threading.Thread(target=other_runner)
    thread.start()
    counted.wait(30)
    decisions.count(list_id, reason)
    config.db.commit()
    go_on.set()
    thread.join(30)
    assert errors == []
    assert decisions.totals(list_id) == {(list_id, reason): 3}


def test_counts_in_one_transaction_add_up(mailman):
    list_id, reason = 'test.example.com', 'reject-unproven-discarded'
    decisions.count(list_id, reason)
    config.db.commit()
    decisions.count(list_id, reason)
    decisions.count(list_id, reason, amount=2)
    config.db.commit()
    assert decisions.totals(list_id) == {(list_id, reason): 4}


def _count_decision():
    decisions.count('test.example.com', 'answer-suppressed-fail')


def _rate_limit():
    from mailman_antibackscatter.app import ratelimit
    from mailman_antibackscatter.config.runtime import get_settings
    with pytest.raises(Exception):
        ratelimit.allow('victim@example.net', get_settings())


def _quiet_hold():
    from mailman_antibackscatter.app.notifications import remember_quiet_hold
    with pytest.raises(Exception):
        remember_quiet_hold('test.example.com', '<held@example.net>')


def _list_policy():
    # Read for every message; a failure falls back to the site settings.
    from mailman_antibackscatter.app.list_policy import policy_for
    from mailman_antibackscatter.config.runtime import get_settings
    assert policy_for('test.example.com') is get_settings()


@pytest.mark.parametrize('table, write', [
    (DecisionCount.__tablename__, _count_decision),
    ('antibackscatter_sent_answer', _rate_limit),
    ('antibackscatter_quiet_hold', _quiet_hold),
    ('antibackscatter_list_setting', _list_policy),
    ], ids=['count', 'ratelimit', 'quiet-hold', 'list-policy'])
def test_a_failed_write_of_ours_leaves_mailmans_transaction_usable(
        mailman, table, write):
    """The plugin's own writes never cost Mailman its transaction.

    On PostgreSQL a failed statement aborts the whole transaction, so the
    runner's own work (here: two new lists, one still pending in the ORM
    when our write fails) could no longer be committed and the message
    being handled would be lost; model.savepoint isolates our statements.
    """
    with config.db.engine.begin() as connection:
        connection.execute(text('ALTER TABLE {} RENAME TO {}_away'.format(
            table, table)))
    try:
        create_list('kept@example.com')
        write()
        create_list('kept2@example.com')
        config.db.commit()
    finally:
        config.db.abort()
        with config.db.engine.begin() as connection:
            connection.execute(text('ALTER TABLE {}_away RENAME TO {}'.format(
                table, table)))
    assert config.db.store.execute(text(
        "SELECT count(*) FROM mailinglist WHERE list_name LIKE 'kept%'")
        ).scalar() == 2
