# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every object of another library that the plugin rebinds, in one place.

Mailman: four functions are wrapped (one of them in the three modules that
import it by name), five built-in chains and rules are replaced by
subclasses, and for the length of one call the delivery agents of
`deliver()` and the switchboards of the LMTP handler are swapped.  pyspf: its
module-level `DNSLookup` (auth/spfcheck.py routes it through our
resolver).  (Postorius' `list_nav` tag is wrapped by web/patches.py: the
web distribution does not contain this module.)

`check_mailman()` checks Mailman's version and every target in Mailman and
in the libraries auth/ relies on first: Mailman must be a 3.3 release from
3.3.8 on, each target must exist with the parameters it has in the
supported versions, and so must every method the plugin's subclasses
override (the dkimpy ones are checked by auth/arccheck.py).  The plugin's
pre_hook calls it before it installs anything, so an upgrade that moved a
target leaves the site with stock Mailman and a log line naming the
target, never with half of the protection.

Nothing here imports Mailman at module level: each target is imported
when it is checked, so a missing one is reported as a PatchTargetError
naming it rather than as a failed import of this module.
"""

import importlib
import inspect
import logging
import re
import threading

from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger('mailman.antibackscatter')
MARK = '_antibackscatter_original'


class PatchTargetError(RuntimeError):
    """A Mailman function the plugin wraps is missing or has changed."""


@dataclass(frozen=True)
class Target:
    """A function or method of another library, by module and name."""

    module: str
    owner: str          # class name, or '' for a module-level function
    name: str
    parameters: tuple   # expected parameter names, in order

    def __str__(self):
        return '.'.join(p for p in (self.module, self.owner, self.name) if p)

    def container(self):
        module = importlib.import_module(self.module)
        return getattr(module, self.owner) if self.owner else module

    def current(self):
        try:
            return getattr(self.container(), self.name)
        except (ImportError, AttributeError) as error:
            raise PatchTargetError('{} not found: {}'.format(self, error))

    def check(self):
        """The unwrapped function; PatchTargetError if moved or changed."""
        function = self.current()
        original = getattr(function, MARK, function)
        found = tuple(inspect.signature(original).parameters)
        if found != self.parameters:
            raise PatchTargetError('{} has parameters {}, expected {}'.format(
                self, found, self.parameters))
        return original


# -- Mailman: the versions ----------------------------------------------------

# Each is tested with its own library versions (tests/matrix.py).  A later
# 3.3 release is accepted when every target still has its shape, so a site
# can take a security release; 3.4 may change anything, and 3.3.7 and older
# run with libraries the plugin does not support.
TESTED_MAILMAN = ('3.3.8', '3.3.9', '3.3.10')
OLDEST_MAILMAN = (3, 3, 8)
MAILMAN_SERIES = (3, 3)


def check_mailman_version(version=None):
    """Mailman's version (``mailman.version.VERSION`` unless given) if the
    plugin supports it; PatchTargetError saying why not otherwise."""
    if version is None:
        version = importlib.import_module('mailman.version').VERSION
    match = re.match(r'(\d+)\.(\d+)\.(\d+)', version)
    if match is None:
        raise PatchTargetError('Mailman version {!r} cannot be read'.format(
            version))
    found = tuple(int(part) for part in match.groups())
    if found[:2] != MAILMAN_SERIES or found < OLDEST_MAILMAN:
        raise PatchTargetError(
            'Mailman {} is not supported (supported: {}.{}.{} and later '
            '{}.{} releases; tested: {})'.format(
                version, *OLDEST_MAILMAN, *MAILMAN_SERIES,
                ', '.join(TESTED_MAILMAN)))
    return version


# -- Mailman: wrapped functions ---------------------------------------------

RUNNER = Target('mailman.core.runner', 'Runner', '_process_one_file',
                ('self', 'msg', 'msgdata'))
SEND = Target('mailman.email.message', 'UserNotification', 'send',
              ('self', 'mlist', 'add_precedence', '_kws'))
HANDLE_MESSAGE = ('mlist', 'id', 'action', 'comment', 'forward')
# handle_message is imported by name in two modules; each binding is wrapped.
MODERATOR = (
    Target('mailman.app.moderator', '', 'handle_message', HANDLE_MESSAGE),
    Target('mailman.rest.post_moderation', '', 'handle_message',
           HANDLE_MESSAGE),
    Target('mailman.commands.eml_confirm', '', 'handle_message',
           HANDLE_MESSAGE),
    )
# The pipeline's reaction to RejectMessage (filter_action=reject).
PIPELINE_REJECT = Target('mailman.core.pipelines', '', 'bounce_message',
                         ('mlist', 'msg', 'error'))
TARGETS = (RUNNER, SEND, PIPELINE_REJECT) + MODERATOR

# -- Mailman: methods the plugin's subclasses override ------------------------

_MSG = ('self', 'mlist', 'msg', 'msgdata')
_SMTP = ('self', 'server', 'session', 'envelope')
# (The posting chain extends BuiltInChain._link_descriptions; importing it
# fails when that is gone, see _component_classes.)
OVERRIDDEN = (
    Target('mailman.chains.owner', 'BuiltInOwnerChain', '_process', _MSG),
    Target('mailman.chains.reject', 'RejectChain', '_process', _MSG),
    Target('mailman.rules.moderation', 'MemberModeration', 'check', _MSG),
    Target('mailman.rules.moderation', 'NonmemberModeration', 'check', _MSG),
    Target('mailman.runners.command', 'CommandRunner', '_dispose', _MSG),
    Target('mailman.runners.bounce', 'BounceRunner', '_dispose', _MSG),
    Target('mailman.runners.bounce', 'BounceRunner', '_do_periodic',
           ('self',)),
    Target('mailman.core.runner', 'Runner', '_snooze', ('self', 'filecnt')),
    Target('mailman.core.runner', 'Runner', '_clean_up', ('self',)),
    Target('mailman.runners.lmtp', 'LMTPHandler', 'handle_DATA', _SMTP),
    # Mailman's @transactional wrapper hides the real parameters.
    Target('mailman.runners.lmtp', 'LMTPHandler', '_handle_DATA',
           ('args', 'kws')),
    Target('mailman.runners.lmtp', 'LMTPController', 'factory', ('self',)),
    )

# Built-in components replaced by subclasses: (registry, class path).
COMPONENTS = (
    ('chains', 'mailman_antibackscatter.chains.posting',
     'AuthenticatedPostingChain'),
    ('chains', 'mailman_antibackscatter.chains.owner',
     'AuthenticatedOwnerChain'),
    ('chains', 'mailman_antibackscatter.chains.reject',
     'AuthenticatedRejectChain'),
    ('rules', 'mailman_antibackscatter.rules.moderation',
     'AuthenticatedMemberModeration'),
    ('rules', 'mailman_antibackscatter.rules.moderation',
     'AuthenticatedNonmemberModeration'),
    )

# Not wrapped, but swapped during one call: mta/deliver.py runs Mailman's
# deliver() with its two delivery agents replaced by tagging subclasses,
# which works only while deliver() looks them up as module globals.
OUTGOING = Target('mailman.mta.deliver', '', 'deliver',
                  ('mlist', 'msg', 'msgdata'))
OUTGOING_AGENTS = ('Deliver', 'BulkDelivery')


def _component_classes():
    """[(registry name, the plugin's class)] of the replaced components."""
    found = []
    for registry, module, name in COMPONENTS:
        try:
            found.append((registry,
                          getattr(importlib.import_module(module), name)))
        except (ImportError, AttributeError) as error:
            raise PatchTargetError('{}.{} cannot be loaded: {}'.format(
                module, name, error))
    return found


def check_outgoing():
    """Raise PatchTargetError unless the agent swap can still work."""
    original = OUTGOING.check()
    module = OUTGOING.container()
    for name in OUTGOING_AGENTS:
        if not isinstance(getattr(module, name, None), type):
            raise PatchTargetError('{}.{} not found'.format(
                OUTGOING.module, name))
        if name not in original.__code__.co_names:
            raise PatchTargetError('{} no longer looks up {} at call '
                                   'time'.format(OUTGOING, name))


def check_bounce_processor():
    """Raise PatchTargetError unless verp_probes_forced() can still work."""
    BOUNCE_PROCESSOR.check()
    module = importlib.import_module(BOUNCE_PROCESSOR.module)
    if getattr(module, 'config', None) is None:
        raise PatchTargetError('{} no longer reads the module global '
                               'config'.format(BOUNCE_PROCESSOR.module))


def check_mailman(bounces=True):
    """Check Mailman's version and every target; raises PatchTargetError
    naming the first that moved.  Changes nothing; returns the version."""
    from mailman_antibackscatter.auth.arccheck import check_dkimpy
    version = check_mailman_version()
    for target in TARGETS + OVERRIDDEN + (SPF_LOOKUP,):
        target.check()
    try:
        check_dkimpy()
    except RuntimeError as error:
        raise PatchTargetError(str(error))
    for registry, component_class in _component_classes():
        base = component_class.__mro__[1]
        if getattr(base, 'name', None) != component_class.name:
            raise PatchTargetError('{} no longer subclasses Mailman\'s '
                                   '{!r}'.format(component_class.__name__,
                                                 component_class.name))
    if bounces:
        check_outgoing()
        check_bounce_processor()
    if version not in TESTED_MAILMAN:
        log.warning('Mailman %s is not one of the tested versions (%s); '
                    'every patch target has the expected shape',
                    version, ', '.join(TESTED_MAILMAN))
    return version


def _wrap(target, make_wrapper):
    original = target.check()
    if getattr(target.current(), MARK, None) is not None:
        return False                        # already installed
    wrapper = make_wrapper(original)
    setattr(wrapper, MARK, original)
    wrapper.__name__ = original.__name__
    wrapper.__qualname__ = original.__qualname__
    setattr(target.container(), target.name, wrapper)
    return True


def install_wrappers():
    """Wrap the Mailman functions; returns the names wrapped."""
    # Imported here: these modules need Mailman, this one must not.
    from mailman_antibackscatter.app.moderator import (
        hold_undecided_reject, moderator_decision)
    from mailman_antibackscatter.app.notifications import guarded_send
    from mailman_antibackscatter.app.trigger import answering_runner
    wrappers = [(RUNNER, answering_runner), (SEND, guarded_send),
                (PIPELINE_REJECT, hold_undecided_reject)]
    wrappers += [(target, moderator_decision) for target in MODERATOR]
    return [str(target) for target, make_wrapper in wrappers
            if _wrap(target, make_wrapper)]


def install_components(config):
    """Replace built-in chains and rules by the plugin's subclasses."""
    # The moderation rules are always replaced: each list decides with
    # authenticated_membership whether they look at the author only.
    done = []
    for registry_name, component_class in _component_classes():
        registry = getattr(config, registry_name)
        name = component_class.name
        if name not in registry:
            raise PatchTargetError('built-in component {!r} missing'.format(
                name))
        if not isinstance(registry[name], component_class):
            registry[name] = component_class()
            done.append(name)
    return done


def install_mailman(config):
    """Install every Mailman change; logs what was changed."""
    wrapped = install_wrappers()
    replaced = install_components(config)
    if wrapped or replaced:
        log.info('installed: wrapped %s; replaced %s',
                 ', '.join(wrapped) or 'nothing',
                 ', '.join(replaced) or 'nothing')


# -- Mailman: swapped for the length of one call ------------------------------

# Reentrant: a probe sent while the bounce processor is swapped must not
# deadlock should it ever deliver in the same thread.
_swap_lock = threading.RLock()


@contextmanager
def delivery_agents(deliver_class, bulk_class):
    """Mailman's deliver() uses these two agents while the block runs.

    The outgoing runner delivers one message at a time; the lock keeps any
    other thread of the process out while the module globals are swapped.
    """
    from mailman.mta import deliver as stock
    with _swap_lock:
        saved = stock.Deliver, stock.BulkDelivery
        stock.Deliver, stock.BulkDelivery = deliver_class, bulk_class
        try:
            yield
        finally:
            stock.Deliver, stock.BulkDelivery = saved


# Mailman's bounce processor decides between a probe and disabling on the
# module global `config`'s [mta] verp_probes.
BOUNCE_PROCESSOR = Target('mailman.model.bounce', 'BounceProcessor',
                          'process_event', ('args', 'kws'))


class _SectionWith:
    """A config section with some of its options answered differently."""

    def __init__(self, section, options):
        self._section, self._options = section, options

    def __getattr__(self, name):
        if name in self._options:
            return self._options[name]
        return getattr(self._section, name)


class _ConfigWith:
    """Mailman's config with one section answered by _SectionWith."""

    def __init__(self, config, section, options):
        self._config = config
        self._replaced = section, _SectionWith(getattr(config, section),
                                               options)

    def __getattr__(self, name):
        if name == self._replaced[0]:
            return self._replaced[1]
        return getattr(self._config, name)


@contextmanager
def verp_probes_forced():
    """Mailman's bounce processor sees `[mta] verp_probes: yes` while the
    block runs, whatever the site set (the bounce runner is one thread)."""
    module = importlib.import_module(BOUNCE_PROCESSOR.module)
    with _swap_lock:
        saved = module.config
        module.config = _ConfigWith(saved, 'mta', dict(verp_probes='yes'))
        try:
            yield
        finally:
            module.config = saved


@contextmanager
def switchboard(name, make_replacement):
    """`config.switchboards[name]` is `make_replacement(stock)` while the
    block runs (in the one thread that queues the message)."""
    from mailman.config import config
    stock = config.switchboards[name]
    config.switchboards[name] = make_replacement(stock)
    try:
        yield
    finally:
        config.switchboards[name] = stock


# -- pyspf ------------------------------------------------------------------

# pyspf has no per-query resolver hook: spf.query.dns calls this function
# from inside its own cache, CNAME and void-lookup logic.
SPF_LOOKUP = Target('spf', '', 'DNSLookup',
                    ('name', 'qtype', 'tcpfallback', 'timeout'))


def route_pyspf_dns(make_lookup):
    """`spf.DNSLookup` becomes `make_lookup(original)`, once per process.

    Raises PatchTargetError when pyspf no longer has it as expected.
    """
    return _wrap(SPF_LOOKUP, make_lookup)
