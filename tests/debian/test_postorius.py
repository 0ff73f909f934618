"""The page in Debian 12's own Postorius (1.3.8, Django 3.2).

Debian's python3-django-postorius and the plugin's wheel in Debian's
Python, a minimal Postorius site (tests/debian/postorius_site) in front of
Debian's Mailman with the plugin: a list owner gets the page with its
menu link, and saving stores the override in Mailman.
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.harness.instance import INSTALLS
from tests.harness.scenario import World, list_address

pytestmark = pytest.mark.e2e

LIST = list_address('debian-page')
RENDER = Path(__file__).resolve().parent / 'postorius_site' / 'render.py'


@pytest.fixture(scope='module')
def debian_world():
    root = Path(tempfile.mkdtemp(prefix='antibackscatter-debian-page-'))
    os.chmod(root, 0o755)
    world = World(root, install=INSTALLS['debian'])
    world.start()
    try:
        world.mailman.create_list(LIST)
        world.mailman.add_member(LIST, 'owner@example.org', role='owner')
        yield world
    finally:
        world.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_owner_sees_and_saves_the_page_in_debians_postorius(debian_world):
    mm = debian_world.mailman
    result = subprocess.run(
        ['/usr/bin/python3', '-I', str(RENDER),
         mm.rest_url.rsplit('/3.1/', 1)[0], mm.admin_user, mm.admin_pass,
         mm.list_id(LIST)],
        capture_output=True, text=True, timeout=300, cwd='/')
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout)
    assert (seen['postorius'], seen['django'][:4]) == ('1.3.8', '3.2.')
    assert (seen['get'], seen['post']) == (200, 302)
    # Postorius' list menu carries the link, after Settings.
    assert 'Settings Sender authentication' in seen['text']
    assert 'Automatic replies to forged senders not sent' in seen['text']
    stored = mm.rest('GET', 'plugins/antibackscatter/lists/'
                     + mm.list_id(LIST)).json()
    assert stored['overrides'] == {'answer': 'all'}
