"""The plugin's own tables in Mailman's database.

They are created by the plugin at start-up (`create_tables`), next to
Mailman's tables but outside Mailman's alembic history, so Mailman upgrades
and `mailman` database migrations never see them.
"""

from mailman.database.model import Model
from sqlalchemy import Column, Date, DateTime, Index, Integer, Unicode


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


TABLES = (DecisionCount, SentAnswer)


def create_tables(engine):
    """Create the plugin's tables if they are missing (idempotent)."""
    Model.metadata.create_all(
        engine, tables=[model.__table__ for model in TABLES])
