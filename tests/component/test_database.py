"""The plugin's tables on the database Mailman runs on: SQLite and PostgreSQL.

`create_tables` runs in every Mailman process at start-up, on databases
that already have the tables, so it must be idempotent and touch nothing
but its own tables, on both back ends Mailman supports here.
"""

import datetime

import pytest

from mailman.config import config
from mailman.database.model import Model
from mailman_antibackscatter import decisions
from mailman_antibackscatter.model import TABLES, DecisionCount, create_tables
from mailman.app.lifecycle import create_list
from sqlalchemy import create_engine, func, inspect, insert, select, text

OURS = {model.__tablename__ for model in TABLES}


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


def test_create_tables_is_idempotent_and_keeps_rows(engine):
    create_tables(engine)
    assert set(inspect(engine).get_table_names()) == OURS
    with engine.begin() as connection:
        connection.execute(insert(DecisionCount.__table__).values(
            list_id='test.example.com', day=datetime.date(2026, 1, 2),
            reason='reject-unproven-discarded', count=3))
    create_tables(engine)
    create_tables(engine)
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) == OURS
    indexes = {index['name'] for index in inspector.get_indexes(
        DecisionCount.__tablename__)}
    assert 'ix_antibackscatter_count_list_day' in indexes
    with engine.connect() as connection:
        total = connection.execute(
            select(func.sum(DecisionCount.__table__.c.count))).scalar()
    assert total == 3


def test_create_tables_leaves_mailmans_schema_alone(engine):
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
    create_tables(engine)
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
    decisions.count(list_id, reason)
    config.db.commit()
    counted, go_on, errors = threading.Event(), threading.Event(), []

    def other_runner():
        # config.db.store is per thread: this is another session.
        try:
            decisions.count(list_id, reason)
            counted.set()
            go_on.wait(30)
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


def test_a_failed_count_leaves_mailmans_transaction_usable(mailman, request):
    """decisions.py promises a failed count never affects the message.

    On PostgreSQL a failed statement aborts the whole transaction, so the
    runner's own work (here: creating a list) can no longer be committed.
    Known open problem: a savepoint would isolate the count, but the ORM's
    begin_nested() flushes Mailman's pending changes first.
    """
    if config.db.engine.dialect.name == 'postgresql':
        request.applymarker(pytest.mark.xfail(
            strict=True, reason='a failed statement aborts the runner\'s '
            'transaction on PostgreSQL (open problem, see docstring)'))
    table = DecisionCount.__tablename__
    with config.db.engine.begin() as connection:
        connection.execute(text('ALTER TABLE {} RENAME TO {}_away'.format(
            table, table)))
    try:
        decisions.count('test.example.com', 'answer-suppressed-fail')
        create_list('kept@example.com')
        config.db.commit()
    finally:
        config.db.abort()
        with config.db.engine.begin() as connection:
            connection.execute(text('ALTER TABLE {}_away RENAME TO {}'.format(
                table, table)))
    assert config.db.store.execute(text(
        "SELECT count(*) FROM mailinglist WHERE list_name = 'kept'")
        ).scalar() == 1
