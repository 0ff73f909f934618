"""The plugin's own tables in Mailman's database.

They live next to Mailman's tables but outside Mailman's alembic history;
`model/schema.py` creates and upgrades them.  Only portable SQLAlchemy types
are used, so the same code runs on SQLite and PostgreSQL.
"""

from mailman.database.model import Model
from sqlalchemy import (
    BigInteger, Column, Date, DateTime, Index, Integer, Unicode, UnicodeText,
    UniqueConstraint)


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
