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
