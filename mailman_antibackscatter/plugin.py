"""The Mailman plugin object named by `[plugin.antibackscatter] class:`."""

import dataclasses
import logging
import logging.handlers
import os

from mailman.config import config
from mailman.config.config import external_configuration
from mailman.interfaces.plugin import IPlugin
from mailman.utilities.modules import find_name
from mailman_antibackscatter import patches
from mailman_antibackscatter.app import heartbeat
from mailman_antibackscatter.app.keys import (
    key_file_problem, key_path, read_ring)
from mailman_antibackscatter.app.list_policy import on_list_deleting
from mailman_antibackscatter.app.status import loaded
from mailman_antibackscatter.config import runtime
from mailman_antibackscatter.config.settings import load_settings
from mailman_antibackscatter.model.schema import migrate
from mailman_antibackscatter.rest.root import AntiBackscatterRoot
from public import public
from zope.event import subscribers
from zope.interface import implementer

log = logging.getLogger('mailman.antibackscatter')

RUNNER_CLASSES = {
    'lmtp': 'mailman_antibackscatter.runners.lmtp.AuthenticatingLMTPRunner',
    'command':
        'mailman_antibackscatter.runners.command.AuthenticatedCommandRunner',
    'bounces': 'mailman_antibackscatter.runners.bounce.GatedBounceRunner',
    }
STOCK_RUNNER_CLASSES = {
    'lmtp': 'mailman.runners.lmtp.LMTPRunner',
    'command': 'mailman.runners.command.CommandRunner',
    'bounces': 'mailman.runners.bounce.BounceRunner',
    }
STOCK_OUTGOING = 'mailman.mta.deliver.deliver'
OUTGOING = 'mailman_antibackscatter.mta.deliver.deliver'


def setup_logging(settings):
    """Give the plugin's logger its own file in Mailman's log directory.

    Mailman only configures the loggers its schema knows, so the plugin
    does this itself.  WatchedFileHandler reopens the file after logrotate
    moves it.
    """
    log.setLevel(settings.log_level.upper())
    if not settings.log_file:
        return
    path = os.path.join(config.LOG_DIR, settings.log_file)
    for handler in log.handlers:
        if getattr(handler, 'baseFilename', None) == os.path.abspath(path):
            return
    handler = logging.handlers.WatchedFileHandler(path, encoding='utf-8')
    handler.setFormatter(logging.Formatter(
        fmt=config.logging.root.format, datefmt=config.logging.root.datefmt))
    log.addHandler(handler)
    log.propagate = False


def read_site_configuration(section):
    """(The admin's configuration file as a ConfigParser or None, the
    problem that kept it from being read or None).

    The problem is returned, not logged: the plugin's log file is set up
    only once the settings are known, and the problem belongs there and in
    `status`, not only on stderr.
    """
    path = section.configuration.strip() if section is not None else ''
    if not path:
        return None, None
    try:
        return external_configuration(path), None
    except Exception as error:
        # Keep Mailman running with the protective shipped defaults, and say
        # clearly why the site's file was not used.
        return None, ('cannot read the configuration file {} ({}: {}); '
                      'using the shipped defaults'.format(
                          path, type(error).__name__,
                          ' '.join(str(error).split())))


def built_on(class_path, base_path):
    """Whether the class named class_path is base_path's or a subclass.

    A site that has its own runner builds it on the plugin's (install.md);
    a name that does not import is not, and is reported by the caller.
    """
    try:
        return issubclass(find_name(class_path), find_name(base_path))
    except Exception:
        return False


def runner_overrides(settings):
    """mailman.cfg text that points runners at the plugin's classes.

    A runner class the admin set to something other than Mailman's stock
    class is left alone and reported, rather than silently replaced.
    """
    wanted = {}
    bounces = settings.enabled and settings.bounces_enabled
    if settings.enabled and (settings.door_enabled or bounces):
        # The bounce gate needs the envelope recipient the LMTP runner sees.
        wanted['lmtp'] = RUNNER_CLASSES['lmtp']
    if settings.enabled:
        wanted['command'] = RUNNER_CLASSES['command']
    if bounces:
        wanted['bounces'] = RUNNER_CLASSES['bounces']
    lines = []
    for runner, class_path in wanted.items():
        current = getattr(config, 'runner.' + runner)['class'].strip()
        if current == class_path:
            continue
        if built_on(current, class_path):
            continue
        if current != STOCK_RUNNER_CLASSES[runner]:
            log.error('[runner.%s] class is %s, not Mailman\'s; the plugin '
                      'needs %s (a subclass of it) there', runner, current,
                      class_path)
            continue
        lines.append('[runner.{}]\nclass: {}\n'.format(runner, class_path))
    if bounces:
        current = config.mta.outgoing.strip()
        if current == STOCK_OUTGOING:
            lines.append('[mta]\noutgoing: {}\n'.format(OUTGOING))
        elif current != OUTGOING:
            log.error('[mta] outgoing is %s, not Mailman\'s; the plugin '
                      'needs %s there to sign return paths, so bounces of '
                      'mail sent through yours will be dropped as '
                      'backscatter', current, OUTGOING)
    return '\n'.join(lines)


@public
@implementer(IPlugin)
class AntiBackscatterPlugin:
    """Authenticate every incoming message; answer only proven senders."""

    # Set by Mailman to the section name (normally 'antibackscatter').
    name = 'antibackscatter'

    def pre_hook(self):
        section = getattr(config, 'plugin.' + self.name, None)
        site, unreadable = read_site_configuration(section)
        settings = load_settings(site)
        if unreadable:
            settings = dataclasses.replace(
                settings, problems=(unreadable,) + settings.problems)
        setup_logging(settings)
        for problem in settings.problems:
            log.error('configuration: %s', problem)
        runtime.configure(settings)
        runtime.refuse(None)
        if not settings.enabled:
            log.info('disabled by its configuration file')
            self._keep_decoding_tags(settings)
            return
        # Every target first: a moved one must leave stock Mailman, not a
        # site whose runners are the plugin's but whose exit is not.
        try:
            patches.check_mailman(bounces=settings.bounces_enabled)
        except patches.PatchTargetError as error:
            runtime.refuse('this Mailman differs from the one the plugin '
                           'supports: {}'.format(error))
            log.error('NOT PROTECTING, nothing installed: %s',
                      runtime.not_protecting())
            return
        overrides = runner_overrides(settings)
        if overrides:
            config.push('antibackscatter-runners', overrides)
        if not settings.bounces_enabled:
            self._keep_decoding_tags(settings)

    def _keep_decoding_tags(self, settings):
        """With the gate off, keep the bounce runner that decodes tags.

        Mail sent while return paths were signed bounces for days after;
        stock Mailman would misread its tagged return paths and lose those
        bounces.  The gate's runner, switched off, hands Mailman each valid
        tag as Mailman's own VERP address (runners/bounce.py); tags expire
        after tag_lifetime, and from then on it is stock Mailman.  Nothing
        else is installed.  A site that never signed (no tag key) gets
        nothing.
        """
        if not os.path.exists(key_path(config.VAR_DIR)):
            return
        if not read_ring(config.VAR_DIR).keys:
            return
        try:
            patches.check_mailman(bounces=False)
        except patches.PatchTargetError as error:
            log.error('bounce tags of mail already sent are not decoded: '
                      'this Mailman differs from the one the plugin '
                      'supports: %s', error)
            return
        current = getattr(config, 'runner.bounces')['class'].strip()
        if current == RUNNER_CLASSES['bounces']:
            return
        if current != STOCK_RUNNER_CLASSES['bounces']:
            log.error('[runner.bounces] class is %s, not Mailman\'s: bounce '
                      'tags of mail already sent are not decoded', current)
            return
        config.push('antibackscatter-rollback', '[runner.bounces]\n'
                    'class: {}\n'.format(RUNNER_CLASSES['bounces']))
        log.info('bounce gate off; tagged return paths of the last %s days '
                 'are still decoded for Mailman\'s own bounce processing',
                 settings.tag_lifetime_days)

    def post_hook(self):
        try:
            self._install()
        finally:
            runner = heartbeat.runner_name()
            if runner is not None:
                heartbeat.write(*runner, loaded(runner[0]))

    def _install(self):
        settings = runtime.get_settings()
        if not settings.enabled or runtime.not_protecting():
            return
        migrate(config.db.engine)
        problem = key_file_problem(config.VAR_DIR)
        if problem:
            log.error('configuration: %s', problem)
        if on_list_deleting not in subscribers:
            subscribers.append(on_list_deleting)
        try:
            patches.install_mailman(config)
        except patches.PatchTargetError as error:
            # Only a registry entry can still be missing here (chains and
            # rules exist only after pre_hook); say so where admins look.
            runtime.refuse(str(error))
            log.error('NOT PROTECTING: %s', error)
            raise

    @property
    def resource(self):
        return AntiBackscatterRoot()
