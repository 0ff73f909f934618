"""Per-list settings in Mailman's database, and what they change."""

import pytest

from mailman.app.lifecycle import create_list
from mailman.config import config
from mailman.interfaces.usermanager import IUserManager
from mailman.runners.incoming import IncomingRunner
from mailman.testing.helpers import make_testable_runner
from mailman_antibackscatter.app import list_policy
from mailman_antibackscatter.model.schema import (
    SCHEMA_VERSION, migrate, schema_version)
from mailman_antibackscatter.model.tables import ListSetting
from mailman_antibackscatter.config.runtime import get_settings
from mailman_antibackscatter.config.settings import SettingError
from sqlalchemy import text
from zope.component import getUtility

from tests.component.helpers import (
    SPAMMER, enqueue, incoming, recipients_of)


def run_incoming(mlist, msg):
    enqueue('in', mlist, msg, to_list=True)
    make_testable_runner(IncomingRunner, 'in').run()


def test_unset_values_follow_the_site(mailman):
    mlist = create_list('test@example.com')
    assert list_policy.policy_for(mlist) is get_settings()
    info = list_policy.describe(mlist)
    assert info['overrides'] == {}
    assert info['settings'] == info['site_defaults']
    # The component layer's site file sets per_recipient to 3.
    assert info['settings']['ratelimit_per_recipient'] == 3


def test_overrides_are_stored_as_rows_and_applied(mailman):
    mlist = create_list('test@example.com')
    other = create_list('other@example.com')
    list_policy.update(mlist, dict(
        owner_notices='summary', ratelimit_per_domain='9',
        authenticated_membership=False, summary_interval='12h'))
    config.db.commit()
    rows = {(r.key, r.value) for r in config.db.store.query(ListSetting)}
    assert rows == {('owner_notices', 'summary'),
                    ('ratelimit_per_domain', '9'),
                    ('authenticated_membership', 'no'),
                    ('summary_interval', '12h')}
    policy = list_policy.policy_for(mlist.list_id)
    assert policy.owner_notices == 'summary'
    assert policy.ratelimit_per_domain == 9
    assert policy.authenticated_membership is False
    assert policy.summary_interval.total_seconds() == 12 * 3600
    # Untouched keys and other lists follow the site.
    assert policy.answer == get_settings().answer
    assert list_policy.policy_for(other) is get_settings()


def test_update_validates_everything_before_storing(mailman):
    mlist = create_list('test@example.com')
    with pytest.raises(SettingError) as caught:
        list_policy.update(mlist, dict(answer='all',
                                        owner_notices='sometimes'))
    assert str(caught.value) == ('owner_notices: must be one of immediate, '
                                 'not-forged, authenticated-only, summary, '
                                 'none')
    assert list_policy.overrides(mlist) == {}


def test_replace_and_reset(mailman):
    mlist = create_list('test@example.com')
    list_policy.update(mlist, dict(answer='all', forged_member='discard'))
    list_policy.replace(mlist, dict(owner_forged='hold'))
    assert list_policy.overrides(mlist) == dict(owner_forged='hold')
    list_policy.update(mlist, dict(answer='all'))
    list_policy.reset(mlist, ['answer'])
    assert list_policy.overrides(mlist) == dict(owner_forged='hold')
    list_policy.reset(mlist)
    assert list_policy.overrides(mlist) == {}


def test_a_stored_value_no_longer_valid_falls_back_to_the_site(mailman):
    mlist = create_list('test@example.com')
    config.db.store.add(ListSetting(list_id=mlist.list_id, key='answer',
                                    value='everybody'))
    config.db.store.add(ListSetting(list_id=mlist.list_id, key='gone',
                                    value='x'))
    assert list_policy.policy_for(mlist).answer == get_settings().answer
    assert list_policy.overrides(mlist) == {}


def test_migrations_are_idempotent_and_leave_alembic_alone(mailman):
    import alembic.command
    from mailman.database.alembic import alembic_cfg
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    config.db.commit()
    alembic.command.stamp(alembic_cfg, 'head')
    head = ScriptDirectory.from_config(alembic_cfg).get_current_head()
    engine = config.db.engine
    with engine.begin() as connection:
        connection.execute(text('DELETE FROM antibackscatter_schema'))
    assert migrate(engine) == 0
    assert migrate(engine) == SCHEMA_VERSION
    with engine.connect() as connection:
        assert schema_version(connection) == SCHEMA_VERSION
        assert MigrationContext.configure(
            connection).get_current_revision() == head
        assert connection.execute(text(
            'SELECT COUNT(*) FROM antibackscatter_schema')).scalar() == 1


def recipients_after_a_forged_post(dns, overrides, *, owner_notice,
                                   hold_notice=True):
    """Whom a held forged post makes Mailman write to, on a list with
    *overrides*: a sorted list of sorted recipient lists."""
    mlist = create_list('test@example.com')
    mlist.admin_immed_notify = owner_notice
    mlist.respond_to_post_requests = hold_notice
    list_policy.update(mlist, overrides)
    forged, _ = incoming(dns, sender='victim@victim.example',
                         to='test@example.com', client=SPAMMER)
    run_incoming(mlist, forged)
    return sorted(sorted(r) for r, _ in recipients_of('virgin'))


def test_owner_notices_immediate_per_list(mailman, dns):
    """The site says not-forged; one list says immediate (stock Mailman)."""
    assert recipients_after_a_forged_post(
        dns, dict(owner_notices='immediate'), owner_notice=True,
        hold_notice=False) == [['test-owner@example.com']]


def test_answer_all_per_list_answers_a_forgery(mailman, dns):
    assert recipients_after_a_forged_post(
        dns, dict(answer='all'), owner_notice=False) == [
            ['victim@victim.example']]


def test_list_switched_off_behaves_like_stock_mailman(mailman, dns):
    assert recipients_after_a_forged_post(
        dns, dict(enabled=False), owner_notice=True) == [
            ['test-owner@example.com'], ['victim@victim.example']]


def test_authenticated_membership_per_list(mailman, dns):
    """Reply-To naming a member makes a member post only where the list
    switched authenticated_membership off (stock Mailman)."""
    from mailman.interfaces.action import Action
    results = {}
    for name, value in (('strict', True), ('loose', False)):
        mlist = create_list('{}@example.com'.format(name))
        mlist.admin_immed_notify = False
        mlist.default_nonmember_action = Action.hold
        anne = getUtility(IUserManager).get_address('anne@example.org') \
            or getUtility(IUserManager).create_address('anne@example.org')
        mlist.subscribe(anne)
        recipients_of('virgin')
        list_policy.update(mlist, dict(authenticated_membership=value))
        msg, _ = incoming(dns, sender='someone@plain.example',
                          to=mlist.posting_address,
                          headers=['Reply-To: anne@example.org'])
        run_incoming(mlist, msg)
        from mailman.interfaces.requests import IListRequests
        results[name] = IListRequests(mlist).count
        recipients_of('virgin')
        recipients_of('pipeline')
    assert results == dict(strict=1, loose=0)


def test_policy_is_read_once_per_message(mailman):
    from mailman_antibackscatter.app.trigger import Trigger, answering
    mlist = create_list('test@example.com')
    list_policy.update(mlist, dict(answer='all'))
    with answering(Trigger(mlist.list_id, '<a@x>', None, 'runner:in')):
        first = list_policy.policy_for(mlist)
        list_policy.update(mlist, dict(answer='not-forged'))
        # Same message: the policy it started with.
        assert list_policy.policy_for(mlist) is first
        assert first.answer == 'all'
    with answering(Trigger(mlist.list_id, '<b@x>', None, 'runner:in')):
        assert list_policy.policy_for(mlist).answer == 'not-forged'
    assert list_policy.policy_for(mlist).answer == 'not-forged'


def test_a_deleted_list_takes_its_settings_along(mailman):
    from mailman.app.lifecycle import remove_list
    mlist = create_list('test@example.com')
    list_policy.update(mlist, dict(answer='all'))
    remove_list(mlist)
    again = create_list('test@example.com')
    assert list_policy.overrides(again) == {}
    assert config.db.store.query(ListSetting).count() == 0


def test_a_list_cannot_switch_on_what_the_site_switched_off(
        mailman, monkeypatch):
    """docs/configuration.md: a list cannot switch the plugin on when the
    site switch is off; REST and the page must not say it is on."""
    import dataclasses
    from mailman_antibackscatter.config import runtime
    mlist = create_list('test@example.com')
    list_policy.update(mlist, dict(enabled='yes', answer='all'))
    monkeypatch.setattr(runtime, '_settings', dataclasses.replace(
        get_settings(), enabled=False))
    policy = list_policy.policy_for(mlist)
    assert policy.enabled is False and policy.answer == 'all'
    info = list_policy.describe(mlist)
    assert info['settings']['enabled'] is False


def test_the_plugins_list_settings_leave_mailmans_own_alone(mailman):
    """install.md, turning it off: owners who set `answer` or
    `owner_notices` need nothing undone, the plugin never changed
    Mailman's own list settings."""
    mlist = create_list('test@example.com')
    mailmans = ('admin_immed_notify', 'respond_to_post_requests',
                'default_member_action', 'default_nonmember_action')
    before = {name: getattr(mlist, name) for name in mailmans}
    list_policy.update(mlist, dict(answer='all', owner_notices='none',
                                   forged_member='discard',
                                   reject_unproven='hold'))
    config.db.commit()
    assert list_policy.policy_for(mlist).answer == 'all'
    assert {name: getattr(mlist, name) for name in mailmans} == before
