"""The plugin's own tables in Mailman's database, and their schema version.

They live next to Mailman's tables but outside Mailman's alembic history
(Mailman's `alembic_version` is never touched), so Mailman upgrades never see
them.  The plugin keeps its own version number in `antibackscatter_schema`
and brings the tables up to date at start-up (`migrate`, called from the
plugin's post_hook in every process).  Only portable SQLAlchemy types are
used, so the same code runs on SQLite, PostgreSQL and MySQL.
"""

import logging
import time

from contextlib import contextmanager

from mailman.database.model import Model
from sqlalchemy import (
    BigInteger, Column, Date, DateTime, Index, Integer, Unicode, UnicodeText,
    UniqueConstraint, inspect, text)

log = logging.getLogger('mailman.antibackscatter')


class DecisionCount(Model):
    """How often the plugin took one decision for one list on one day."""

    __tablename__ = 'antibackscatter_decision_count'

    id = Column(Integer, primary_key=True)
    list_id = Column(Unicode(255), nullable=False)
    day = Column(Date, nullable=False)
    reason = Column(Unicode(64), nullable=False)
    count = Column(Integer, nullable=False, default=0)

    __table_args__ = (
        Index('ix_antibackscatter_count_list_day', 'list_id', 'day'),
        )


class SentAnswer(Model):
    """One automatic message let through the exit, for the rate limit."""

    __tablename__ = 'antibackscatter_sent_answer'

    id = Column(Integer, primary_key=True)
    recipient = Column(Unicode(255), nullable=False, index=True)
    domain = Column(Unicode(255), nullable=False, index=True)
    sent_at = Column(DateTime, nullable=False, index=True)


class SentMessage(Model):
    """A message the list sent to one recipient, kept for the roll-out.

    Only a 63-bit hash of (Message-ID, recipient) and the day: an untagged
    bounce counts during the grace period only if it quotes a Message-ID
    that hashes, with the address it names, to a row here.  Rows older than
    the grace period are pruned, and the table is capped
    ([bounces] sent_record_max).
    """

    __tablename__ = 'antibackscatter_sent_message'

    id = Column(Integer, primary_key=True)
    digest = Column(BigInteger, nullable=False, index=True)
    day = Column(Date, nullable=False, index=True)



class ListSetting(Model):
    """One per-list override: (list_id, key) -> value, as text.

    One row per overridden key rather than one row per list with a JSON
    blob: an unset key simply has no row (it follows the site default), a
    new option needs no migration, two owners changing different keys never
    overwrite each other, and plain text columns behave the same on every
    database.  Values are stored in the configuration file's spelling
    (`yes`, `10`, `1d`) and validated by settings.convert on the way in and
    out, so a value that a later version no longer accepts falls back to
    the site default instead of breaking the list.
    """

    __tablename__ = 'antibackscatter_list_setting'

    id = Column(Integer, primary_key=True)
    list_id = Column(Unicode(255), nullable=False, index=True)
    key = Column(Unicode(64), nullable=False)
    value = Column(UnicodeText, nullable=False)

    __table_args__ = (
        UniqueConstraint('list_id', 'key',
                         name='uq_antibackscatter_list_setting'),
        )


class SummaryState(Model):
    """What the last owner summary of a list covered (notify-owners).

    `counted_day` and `counted` (reason=count lines) snapshot that day's
    counters at the last summary, so the next one reports only what came
    after, although the counters are kept per day.
    """

    __tablename__ = 'antibackscatter_summary_state'

    list_id = Column(Unicode(255), primary_key=True)
    last_sent = Column(DateTime, nullable=True)
    counted_day = Column(Date, nullable=True)
    counted = Column(UnicodeText, nullable=False, default='')


class QuietHold(Model):
    """A held post whose immediate owner notice was replaced by the summary.

    The post itself stays in Mailman's requests database; this row only
    remembers that the owners have not been told about it yet.
    """

    __tablename__ = 'antibackscatter_quiet_hold'

    id = Column(Integer, primary_key=True)
    list_id = Column(Unicode(255), nullable=False, index=True)
    message_id = Column(Unicode(998), nullable=False)
    recorded_at = Column(DateTime, nullable=False)
    summarized_at = Column(DateTime, nullable=True)


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
    1: _create(DecisionCount, SentAnswer),                  # issue 2
    2: _create(ListSetting, SummaryState, QuietHold),       # issue 4
    3: _create(SentMessage),                                # issue 3
    }
SCHEMA_VERSION = max(MIGRATIONS)
TABLES = (DecisionCount, SentAnswer, ListSetting, SummaryState, QuietHold,
          SentMessage, SchemaVersion)


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


def create_tables(engine):
    """Create or upgrade the plugin's tables (idempotent)."""
    return migrate(engine)


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
