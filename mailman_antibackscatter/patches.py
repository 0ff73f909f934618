"""Every change the plugin makes to Mailman's own behaviour, in one place.

`install()` runs from the plugin's post_hook in every Mailman process.  It
wraps four Mailman functions (one of them in the three modules that import
it by name) and replaces five built-in components by subclasses.  Each target is checked first (it must exist and have the
signature it has in Mailman 3.3.10): if a Mailman upgrade moved or changed
one, start-up logs an error naming it and `tests/component/test_patches.py`
fails, instead of the protection silently going away.
"""

import importlib
import inspect
import logging

from dataclasses import dataclass

from mailman_antibackscatter.app.notifications import guarded_send
from mailman_antibackscatter.app.list_policy import policy_for
from mailman_antibackscatter.config.runtime import get_settings
from mailman_antibackscatter.auth import Status
from mailman_antibackscatter.app.trigger import (
    MSGDATA_KEY, Trigger, answering, current, verdict_of)

log = logging.getLogger('mailman.antibackscatter')
MARK = '_antibackscatter_original'


class PatchTargetError(RuntimeError):
    """A Mailman function the plugin wraps is missing or has changed."""


@dataclass(frozen=True)
class Target:
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
        function = self.current()
        original = getattr(function, MARK, function)
        found = tuple(inspect.signature(original).parameters)
        if found != self.parameters:
            raise PatchTargetError('{} has parameters {}, expected {}'.format(
                self, found, self.parameters))
        return original


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
# Not wrapped, but relied upon: mta/deliver.py calls Mailman's deliver()
# with its two delivery agents swapped for tagging subclasses, which works
# only while deliver() looks them up as module globals at call time.
OUTGOING = Target('mailman.mta.deliver', '', 'deliver',
                  ('mlist', 'msg', 'msgdata'))
OUTGOING_AGENTS = ('Deliver', 'BulkDelivery')


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


def _process_one_file_wrapper(original):
    def _process_one_file(self, msg, msgdata):
        # Site-level: which processes answer is not a list's choice; a list
        # that switched the plugin off is let through at each decision.
        settings = get_settings()
        if not settings.enabled or self.name not in settings.answering_runners:
            return original(self, msg, msgdata)
        verdict = verdict_of(msg, msgdata, settings.engine.authserv_id)
        trigger = Trigger(
            list_id=msgdata.get('listid', ''),
            message_id=str(msg.get('message-id', '')),
            verdict=verdict, where='runner:' + self.name)
        with answering(trigger):
            return original(self, msg, msgdata)
    return _process_one_file


def _handle_message_wrapper(original):
    def handle_message(mlist, id, action, comment=None, forward=None):
        with answering(_held_trigger(mlist, id, forward)):
            return original(mlist, id, action, comment, forward)
    return handle_message


def _pipeline_reject_wrapper(original):
    """A pipeline reject of an undecided (temperror) sender holds instead.

    Mailman drops a message whose pipeline raised RejectMessage and bounces
    it; the exit already stops the bounce to an unproven sender, but a DNS
    failure must never cost a message, so that one is held.
    """
    def bounce_message(mlist, msg, error=None):
        trigger = current()
        if (trigger is not None and trigger.verdict is not None
                and policy_for(mlist).enabled
                and trigger.status_for(msg.sender) is Status.TEMPERROR):
            from mailman.app.moderator import hold_message
            from mailman_antibackscatter.app import decisions
            hold_message(mlist, msg,
                         {MSGDATA_KEY: trigger.verdict.to_dict()},
                         'Rejected by a content filter ({}); held because '
                         'DNS trouble kept the sender unproven'.format(error))
            decisions.record(
                'pipeline-reject-held-temperror', list_id=mlist.list_id,
                message_id=str(msg.get('message-id', '')),
                verdict=trigger.verdict, action='hold')
            return None
        return original(mlist, msg, error)
    return bounce_message


def _held_trigger(mlist, request_id, forward=None):
    """The trigger for a moderator's decision on held post *request_id*."""
    from mailman_antibackscatter.app.moderator import held_post
    verdict, message_id = None, ''
    try:
        post = held_post(mlist, request_id)
        if post is not None:
            verdict, message_id = post.verdict, post.message_id
    except Exception:
        log.exception('could not read the verdict of held request %s on %s',
                      request_id, mlist.list_id)
    return Trigger(list_id=mlist.list_id, message_id=message_id,
                   verdict=verdict, where='moderator',
                   # A moderator's own "forward to" addresses are no answer.
                   chosen=frozenset(a.lower() for a in (forward or ())))


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
    done = []
    if _wrap(RUNNER, _process_one_file_wrapper):
        done.append(str(RUNNER))
    if _wrap(SEND, guarded_send):
        done.append(str(SEND))
    if _wrap(PIPELINE_REJECT, _pipeline_reject_wrapper):
        done.append(str(PIPELINE_REJECT))
    for target in MODERATOR:
        if _wrap(target, _handle_message_wrapper):
            done.append(str(target))
    return done


def uninstall_wrappers():
    """Undo install_wrappers (used by tests)."""
    for target in TARGETS:
        current = target.current()
        original = getattr(current, MARK, None)
        if original is not None:
            setattr(target.container(), target.name, original)


def install_components(config):
    """Replace built-in chains and rules by the plugin's subclasses."""
    from mailman_antibackscatter.chains.owner import AuthenticatedOwnerChain
    from mailman_antibackscatter.chains.posting import (
        AuthenticatedPostingChain)
    from mailman_antibackscatter.chains.reject import AuthenticatedRejectChain
    from mailman_antibackscatter.rules.moderation import (
        AuthenticatedMemberModeration, AuthenticatedNonmemberModeration)
    # The moderation rules are always replaced: each list decides with
    # authenticated_membership whether they look at the author only.
    replacements = [
        (config.chains, AuthenticatedPostingChain),
        (config.chains, AuthenticatedOwnerChain),
        (config.chains, AuthenticatedRejectChain),
        (config.rules, AuthenticatedMemberModeration),
        (config.rules, AuthenticatedNonmemberModeration),
        ]
    done = []
    for registry, component_class in replacements:
        name = component_class.name
        if name not in registry:
            raise PatchTargetError('built-in component {!r} missing'.format(
                name))
        if not isinstance(registry[name], component_class):
            registry[name] = component_class()
            done.append(name)
    return done


def install(config):
    """Install everything; logs what was changed.  Raises PatchTargetError."""
    for target in TARGETS:
        target.check()
    if get_settings().bounces_enabled:
        check_outgoing()
    wrapped = install_wrappers()
    replaced = install_components(config)
    if wrapped or replaced:
        log.info('installed: wrapped %s; replaced %s',
                 ', '.join(wrapped) or 'nothing',
                 ', '.join(replaced) or 'nothing')
