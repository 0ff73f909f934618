# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The plugin's schema version, its migrations, and savepoints for its writes.

Mailman's `alembic_version` is never touched, so Mailman upgrades never see
the plugin's tables.  The plugin keeps its own version number in
`antibackscatter_schema` and brings the tables up to date at start-up
(`migrate`, called from the plugin's post_hook in every process).
"""

import logging
import time

from contextlib import contextmanager

from mailman.database.model import Model
from mailman_antibackscatter.model.tables import (
    DecisionCount, ListSetting, QuietHold, SentAnswer, SentMessage,
    SummaryState)
from sqlalchemy import Column, Integer, inspect, text

log = logging.getLogger('mailman.antibackscatter')


class SchemaVersion(Model):
    """The version of the plugin's tables (one row)."""

    __tablename__ = 'antibackscatter_schema'

    id = Column(Integer, primary_key=True)
    version = Column(Integer, nullable=False)


def _create(*models):
    def step(connection):
        Model.metadata.create_all(
            connection, tables=[model.__table__ for model in models])
    return step


# Version -> migration bringing the tables from version-1 to version.  Each
# step must be idempotent: Mailman's test database resets empty every table,
# the schema row included, and the steps run again on existing tables.
MIGRATIONS = {
    1: _create(DecisionCount, SentAnswer),
    2: _create(ListSetting, SummaryState, QuietHold),
    3: _create(SentMessage),
    }
SCHEMA_VERSION = max(MIGRATIONS)


def schema_version(connection):
    """The recorded version, 0 when the plugin's tables were never made."""
    if not inspect(connection).has_table(SchemaVersion.__tablename__):
        return 0
    row = connection.execute(text(
        'SELECT MAX(version) FROM antibackscatter_schema')).first()
    return (row[0] or 0) if row is not None else 0


def _migrate_once(engine):
    with engine.begin() as connection:
        if connection.dialect.name == 'postgresql':
            # One process migrates; the others wait here, then see the
            # new version.  (Key: 'abs' in ASCII.)
            connection.execute(text('SELECT pg_advisory_xact_lock(6382195)'))
        Model.metadata.create_all(
            connection, tables=[SchemaVersion.__table__])
        found = schema_version(connection)
        for version in range(found + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version](connection)
        if found != SCHEMA_VERSION:
            table = SchemaVersion.__table__
            connection.execute(table.delete())
            connection.execute(table.insert().values(
                id=1, version=SCHEMA_VERSION))
            log.info('database tables at schema version %s (were %s)',
                     SCHEMA_VERSION, found)
        return found


def migrate(engine, attempts=5):
    """Bring the plugin's tables to SCHEMA_VERSION; returns the old version.

    Every Mailman process runs this at start-up at the same moment.  On
    PostgreSQL an advisory lock serializes them; on SQLite a process that
    collides with another one's DDL retries after it.
    """
    for attempt in range(attempts):
        try:
            return _migrate_once(engine)
        except Exception:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


@contextmanager
def savepoint(store):
    """The session's connection, for the plugin's own writes in a runner's
    (or REST request's) transaction.

    On PostgreSQL a failed statement aborts the whole transaction, so that
    Mailman could not commit its own work and the message being handled
    would be lost; there the plugin's statements run inside a SAVEPOINT
    that is rolled back alone.  SQLite undoes only the failed statement (and
    pysqlite's SAVEPOINT handling is unreliable), so there they run as they
    are.  Only Core statements are used inside: they run at once, nothing
    of Mailman's pending ORM changes is flushed.
    """
    connection = store.connection()
    if connection.dialect.name == 'sqlite':
        yield connection
        return
    with connection.begin_nested():
        yield connection
