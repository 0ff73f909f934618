"""The Debian-package tier: only with ``--mailman-install=debian``.

``make test-debian`` installs Debian 12's mailman3 and the plugin's wheel
(tests/debian/install.sh) and then runs these tests and the end-to-end
answer-path and bounce tests against Debian's Mailman.
"""

import pytest


@pytest.fixture(scope='session', autouse=True)
def _debian_install_only(request):
    if request.config.getoption('--mailman-install') != 'debian':
        pytest.skip('checks the Debian-package install: run with '
                    '--mailman-install=debian (make test-debian)')
