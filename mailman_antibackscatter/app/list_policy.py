"""Per-list overrides of the site's policy, and the effective policy of a list.

The option registry below names every option a list may override: its key
(as the CLI, REST and Postorius spell it), where its site default lives in
the configuration file, and its kind.  Values are validated by
`settings.convert`, the same function that validates the site file, so a
value is accepted per list exactly when it would be accepted site-wide.

`policy_for(mlist)` is what the decision points call for every message: the
site settings with the list's overrides applied (a `SiteSettings`, so the
attribute names are the same as the site's).  It costs one indexed query,
made once per message: while a message is being handled (a trigger is
current) the answer is remembered for that trigger.
"""

import dataclasses
import logging

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from mailman.config import config
from mailman.interfaces.listmanager import IListManager, ListDeletingEvent
from mailman_antibackscatter.app.trigger import current
from mailman_antibackscatter.config.runtime import get_settings
from mailman_antibackscatter.config.settings import (
    CHOICES, convert, SettingError)
from mailman_antibackscatter.model.schema import savepoint
from mailman_antibackscatter.model.tables import (
    ListSetting, QuietHold, SummaryState)
from sqlalchemy import select
from zope.component import getUtility

log = logging.getLogger('mailman.antibackscatter')


@dataclass(frozen=True)
class Option:
    """One option a list may override."""

    name: str           # per-list key, and the SiteSettings attribute
    section: str        # where the site default is, in antibackscatter.cfg
    option: str
    kind: str           # 'choice' | 'boolean' | 'integer' | 'text'

    @property
    def choices(self):
        found = CHOICES.get((self.section, self.option))
        return list(found) if found is not None else None

    def parse(self, text):
        """The policy value of stored *text*; raises SettingError."""
        return convert(self.section, self.option, text)

    def to_text(self, value):
        """Stored text for an input *value* (JSON-native or form text).

        Raises SettingError whose message starts with the option's name.
        """
        try:
            if self.kind == 'boolean':
                if isinstance(value, bool):
                    return 'yes' if value else 'no'
                if not isinstance(value, str):
                    raise SettingError('expected true or false')
                text = 'yes' if self.parse(value) else 'no'
            elif self.kind == 'integer':
                if isinstance(value, bool) or not isinstance(value, (int,
                                                                     str)):
                    raise SettingError('expected a whole number >= 0')
                text = str(self.parse(str(value)))
            else:
                if not isinstance(value, str):
                    raise SettingError('expected text')
                self.parse(value)
                text = value.strip()
                if self.kind == 'choice':
                    text = text.lower()
            return text
        except SettingError as error:
            raise SettingError('{}: {}'.format(self.name, error)) from None

    def to_json(self, value):
        """A policy value as JSON-native data (booleans, integers, text)."""
        if isinstance(value, timedelta):
            return format_interval(value)
        return value


OPTIONS = {option.name: option for option in (
    Option('enabled', 'antibackscatter', 'enabled', 'boolean'),
    Option('answer', 'policy', 'answer', 'choice'),
    Option('reject_unproven', 'policy', 'reject_unproven', 'choice'),
    Option('forged_member', 'policy', 'forged_member', 'choice'),
    Option('owner_forged', 'policy', 'owner_forged', 'choice'),
    Option('unproven_commands', 'policy', 'unproven_commands', 'choice'),
    Option('owner_notices', 'policy', 'owner_notices', 'choice'),
    Option('authenticated_membership', 'policy', 'authenticated_membership',
           'boolean'),
    Option('ratelimit_per_recipient', 'ratelimit', 'per_recipient',
           'integer'),
    Option('ratelimit_per_domain', 'ratelimit', 'per_domain', 'integer'),
    Option('summary_interval', 'summary', 'interval', 'text'),
    Option('per_recipient_return_path', 'bounces',
           'per_recipient_return_path', 'boolean'),
    )}

# Options that exist only site-wide, and why (also in docs/site-admin.md).
_SHARED_VERDICT = ('the verdict is computed once per message at the door, '
                   'before any list policy applies')
SITE_ONLY = {
    'authserv_id': _SHARED_VERDICT,
    'trusted_authserv_ids': _SHARED_VERDICT,
    'trusted_arc_sealers': _SHARED_VERDICT,
    'internal_networks': _SHARED_VERDICT,
    'local_hops': _SHARED_VERDICT,
    'alignment': _SHARED_VERDICT,
    'min_key_bits': _SHARED_VERDICT,
    'spf': _SHARED_VERDICT,
    'dkim': _SHARED_VERDICT,
    'arc': _SHARED_VERDICT,
    'public_suffix_list': _SHARED_VERDICT,
    'nameservers': 'DNS servers and caches are shared by all lists',
    'timeout': 'DNS servers and caches are shared by all lists',
    'cache_size': 'DNS servers and caches are shared by all lists',
    'door': 'the LMTP door is one server for all lists',
    'xforward': 'the LMTP door is one server for all lists',
    'xforward_peers': 'the LMTP door is one server for all lists',
    'workers': 'the LMTP door is one server for all lists',
    'command_temperror': 'the door answers before a list policy is read',
    'command_defer_limit': 'the door answers before a list policy is read',
    'answering_runners': 'it says which Mailman processes are checked',
    'ratelimit_enabled': 'one rate limit table is shared by all lists',
    'window': 'one rate limit table is shared by all lists',
    'postorius_url': 'one web interface serves the site',
    'retention': 'statistics are pruned site-wide',
    'tag_lifetime': 'one key ring signs and checks the tags of all lists',
    'grace_period': 'the roll-out of signed return paths is site-wide',
    'sent_record_max': 'one sent-message record serves all lists',
    'file': 'the plugin has one log',
    'level': 'the plugin has one log',
    }


def format_interval(interval):
    """timedelta -> the shortest '2w', '1d', '12h', '30m' or '90s' form."""
    seconds = int(interval.total_seconds())
    for unit, size in (('w', 604800), ('d', 86400), ('h', 3600), ('m', 60)):
        if seconds and seconds % size == 0:
            return '{}{}'.format(seconds // size, unit)
    return '{}s'.format(seconds)


def option(name):
    """The Option called *name*; SettingError naming it otherwise."""
    found = OPTIONS.get(name)
    if found is not None:
        return found
    if name in SITE_ONLY:
        raise SettingError('{}: site-only ({}); set it in the site '
                           'configuration file'.format(name, SITE_ONLY[name]))
    raise SettingError('{}: unknown option; per-list options are {}'.format(
        name, ', '.join(OPTIONS)))


def find_list(identifier):
    """A mailing list by List-Id or, as Mailman's REST accepts, fqdn name."""
    manager = getUtility(IListManager)
    if '@' in identifier:
        return manager.get(identifier)
    return manager.get_by_list_id(identifier)


def list_id_of(mlist_or_list_id):
    return getattr(mlist_or_list_id, 'list_id', mlist_or_list_id)


def stored(list_id):
    """{key: text} of the overrides stored for *list_id*."""
    # A Core select on the session's connection: it never flushes (and so
    # never fails on) the runner's own pending changes, and costs a fraction
    # of an ORM query; every message asks.  In a savepoint, so that a failed
    # read (which policy_for survives) does not abort the runner's
    # transaction on PostgreSQL.
    table = ListSetting.__table__
    with savepoint(config.db.store) as connection:
        rows = connection.execute(
            select(table.c.key, table.c.value).where(
                table.c.list_id == list_id)).all()
    return {key: value for key, value in rows}


def overrides(mlist_or_list_id):
    """{key: value} of the list's valid overrides (JSON-native values)."""
    result = {}
    for key, text in stored(list_id_of(mlist_or_list_id)).items():
        found = OPTIONS.get(key)
        if found is None:
            continue
        try:
            result[key] = found.to_json(found.parse(text))
        except SettingError:
            continue
    return result


def site_defaults():
    """{key: value} of the site's values of the per-list options."""
    site = get_settings()
    return {key: opt.to_json(getattr(site, key))
            for key, opt in OPTIONS.items()}


# (trigger, {list_id: policy}) of the message being handled.
_memo = ContextVar('antibackscatter_policy_memo', default=None)


def policy_for(mlist_or_list_id):
    """The effective settings of a list: the site's, with its overrides.

    Never raises: if the overrides cannot be read, the site settings apply
    (and the error is logged), so the plugin keeps protecting.
    """
    list_id = list_id_of(mlist_or_list_id)
    if not list_id:
        return get_settings()
    trigger = current()
    memo = _memo.get()
    if trigger is None:
        return _effective(list_id)
    if memo is None or memo[0] is not trigger:
        memo = (trigger, {})
        _memo.set(memo)
    if list_id not in memo[1]:
        memo[1][list_id] = _effective(list_id)
    return memo[1][list_id]


def _effective(list_id):
    site = get_settings()
    try:
        texts = stored(list_id)
    except Exception:
        log.exception('cannot read the settings of %s; using the site '
                      'settings', list_id)
        return site
    changes = {}
    for key, text in texts.items():
        found = OPTIONS.get(key)
        if found is None:
            continue
        try:
            changes[key] = found.parse(text)
        except SettingError as error:
            log.error('list %s: stored %s %r is not valid (%s); using the '
                      'site default', list_id, key, text, error)
    if not site.enabled:
        # A list may switch the plugin off, never on against the site.
        changes.pop('enabled', None)
    return dataclasses.replace(site, **changes) if changes else site


def validate(values, *, form=False):
    """{key: text or None (remove)} for input *values*; SettingError names
    the first bad key.  With *form*, '' removes a non-text override."""
    result = {}
    for key, value in values.items():
        found = option(key)
        if value is None or (form and value == '' and found.kind != 'text'):
            result[key] = None
        else:
            result[key] = found.to_text(value)
    return result


def _rows(list_id):
    """{key: ListSetting}, including changes not yet flushed."""
    return {row.key: row for row in config.db.store.query(ListSetting).filter(
        ListSetting.list_id == list_id)}


def update(mlist_or_list_id, values, *, form=False):
    """Set (or, for None, remove) some overrides.  Validates all first."""
    checked = validate(values, form=form)
    list_id = list_id_of(mlist_or_list_id)
    store = config.db.store
    rows = _rows(list_id)
    for key, text in checked.items():
        row = rows.get(key)
        if text is None:
            if row is not None:
                store.delete(row)
        elif row is None:
            store.add(ListSetting(list_id=list_id, key=key, value=text))
        else:
            row.value = text
    # Readers use no_autoflush (runners must not flush their own pending
    # changes early), so make these visible to them now.
    store.flush()
    if checked:
        log.info('list %s: settings %s', list_id, ', '.join(
            '{}={}'.format(k, 'site default' if v is None else v)
            for k, v in sorted(checked.items())))


def replace(mlist_or_list_id, values, *, form=False):
    """Make *values* the complete set of overrides; others are removed."""
    checked = validate(values, form=form)
    removed = {key: None for key in _rows(list_id_of(mlist_or_list_id))
               if key not in checked and key in OPTIONS}
    update(mlist_or_list_id, dict(removed, **values), form=form)


def reset(mlist_or_list_id, keys=None):
    """Remove the named overrides (all of them when *keys* is None)."""
    if keys is not None:
        update(mlist_or_list_id, {key: None for key in keys})
        return
    list_id = list_id_of(mlist_or_list_id)
    config.db.store.query(ListSetting).filter(
        ListSetting.list_id == list_id).delete()
    log.info('list %s: all settings follow the site defaults', list_id)


def describe(mlist_or_list_id):
    """Everything about a list's settings, as REST and the CLI show it."""
    list_id = list_id_of(mlist_or_list_id)
    defaults = site_defaults()
    mine = overrides(list_id)
    policy = policy_for(list_id)
    return dict(
        list_id=list_id,
        settings={key: opt.to_json(getattr(policy, key))
                  for key, opt in OPTIONS.items()},
        overrides=mine,
        site_defaults=defaults,
        sources={key: 'list' if key in mine else 'site' for key in OPTIONS},
        options={key: dict(type=opt.kind, choices=opt.choices,
                           site_only=False)
                 for key, opt in OPTIONS.items()},
        )


def forget_list(list_id):
    """Remove a deleted list's settings and summary state.

    Its statistics stay (they age out with the retention time), but a new
    list created later under the same List-Id must not inherit the old
    list's policy.
    """
    store = config.db.store
    for model in (ListSetting, QuietHold, SummaryState):
        store.query(model).filter(model.list_id == list_id).delete()


def on_list_deleting(event):
    """zope.event subscriber, installed by the plugin's post_hook."""
    if isinstance(event, ListDeletingEvent):
        forget_list(event.mailing_list.list_id)
