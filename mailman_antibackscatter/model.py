"""The plugin's own tables in Mailman's database.

They are created by the plugin at start-up (`create_tables`), next to
Mailman's tables but outside Mailman's alembic history, so Mailman upgrades
and `mailman` database migrations never see them.
"""

from mailman.database.model import Model
from sqlalchemy import (
    BigInteger, Column, Date, DateTime, Index, Integer, Unicode)


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


TABLES = (DecisionCount, SentAnswer, SentMessage)


def create_tables(engine):
    """Create the plugin's tables if they are missing (idempotent)."""
    Model.metadata.create_all(
        engine, tables=[model.__table__ for model in TABLES])
