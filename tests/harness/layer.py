"""Mailman's own ConfigLayer with the plugin enabled, in this process.

Used by the component tests and by bench/bounces.py.  The plugin is enabled
the way a site enables it: a [plugin.antibackscatter] section in the
configuration Mailman reads, pointing at a site file written here.
"""

import contextlib

from pathlib import Path
from unittest import mock


@contextlib.contextmanager
def plugin_config_layer(directory, site_options='', extra_config=''):
    """Set up Mailman's ConfigLayer with the plugin; yields the layer.

    *extra_config* is appended to Mailman's testing configuration (for
    example a [database] section to run the layer on PostgreSQL).
    """
    from mailman.testing import layers
    site_config = Path(directory) / 'antibackscatter.cfg'
    site_config.write_text(site_options)
    plugin = (
        '\n[plugin.antibackscatter]\n'
        'class: mailman_antibackscatter.plugin.AntiBackscatterPlugin\n'
        'enabled: yes\n'
        'component_package: mailman_antibackscatter\n'
        'configuration: {}\n'.format(site_config)) + extra_config
    original = layers.read_text

    def read_text(package, resource, *args, **kws):
        text = original(package, resource, *args, **kws)
        if (package, resource) == ('mailman.testing', 'testing.cfg'):
            text += plugin
        return text

    with mock.patch.object(layers, 'read_text', read_text):
        layers.ConfigLayer.setUp()
    try:
        yield layers.ConfigLayer
    finally:
        layers.ConfigLayer.tearDown()


def generate_key_file():
    """The key file in the layer's var directory, as `mailman antibackscatter
    keys generate` creates it (the plugin never creates one by itself)."""
    from mailman.config import config
    from mailman_antibackscatter.app import keys
    from mailman_antibackscatter.app.bounces import day_number, policy
    keys.generate(config.VAR_DIR, day_number(), policy().tag_lifetime)
