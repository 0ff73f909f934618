"""The plugin's process-wide state: site settings, the authenticator, and
why the plugin is not protecting, if it is not.

Loaded once per process (each runner and each REST worker runs the plugin's
hooks).  Code that runs without the plugin loaded (tests, the `check` command
on a bare configuration) gets the shipped defaults.
"""

import threading

from mailman_antibackscatter.auth import Authenticator
from mailman_antibackscatter.config.settings import load_settings

_lock = threading.Lock()
_settings = None
_authenticator = None
_not_protecting = None


def configure(settings):
    """Install *settings* for this process and drop the old authenticator."""
    global _settings, _authenticator
    with _lock:
        _settings = settings
        _authenticator = None


def refuse(reason):
    """Record that this process installed nothing, and why (None: clear)."""
    global _not_protecting
    _not_protecting = reason


def not_protecting():
    """Why the plugin installed nothing in this process, or None."""
    return _not_protecting


def get_settings():
    global _settings
    if _settings is None:
        with _lock:
            if _settings is None:
                _settings = load_settings(None)
    return _settings


def get_authenticator():
    """The process's one `Authenticator` (and so its one DNS cache)."""
    global _authenticator
    settings = get_settings()
    if _authenticator is None:
        with _lock:
            if _authenticator is None:
                _authenticator = Authenticator(settings.engine)
    return _authenticator
