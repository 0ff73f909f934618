"""What an admin sees: the CLI and REST of a running Mailman with the plugin."""

import json

import pytest
import requests

from tests.harness.scenario import SPAMMER, list_address

pytestmark = pytest.mark.e2e


def test_status_shows_the_plugin_active(world):
    result = world.mailman.mailman('antibackscatter', 'status', '--json')
    info = json.loads(result.stdout)
    assert info['enabled'] is True
    assert info['runners']['lmtp'].endswith('AuthenticatingLMTPRunner')
    assert all(info['wrapped'].values()), info['wrapped']
    assert info['configuration_problems'] == []
    assert info['dns']['nameservers'] == [
        '127.0.0.1:{}'.format(world.dns.port)]


def test_check_explains_a_forgery(world, tmp_path):
    raw, _ = world.message(sender='victim@victim.example',
                           to=list_address('x'), client=SPAMMER)
    path = tmp_path / 'forged.eml'
    path.write_bytes(raw)
    result = world.mailman.mailman(
        'antibackscatter', 'check', str(path), '--ip', SPAMMER[0],
        '--helo', SPAMMER[1], '--mail-from', 'victim@victim.example')
    assert 'Verdict:      fail' in result.stdout, result.stdout
    assert 'Mailman would answer victim@victim.example: no' in result.stdout
    assert 'Authentication-Results: ' in result.stdout


def test_check_proves_a_signed_message(world, tmp_path):
    raw, _ = world.message(sender='bob@example.org', to=list_address('x'),
                           sign=True)
    path = tmp_path / 'signed.eml'
    path.write_bytes(raw)
    # No --ip: the client is read from the Received header the MTA added.
    result = world.mailman.mailman('antibackscatter', 'check', str(path),
                                   '--json', '--mail-from', 'bob@example.org')
    info = json.loads(result.stdout)
    assert info['status'] == 'pass', info
    assert info['client']['ip'] == '192.0.2.10'
    assert [d['result'] for d in info['dkim']] == ['pass']


def test_rest_needs_credentials_and_reports_status(world):
    url = world.mailman.rest_url + 'plugins/antibackscatter'
    assert requests.get(url, timeout=10).status_code == 401
    response = world.mailman.rest('GET', 'plugins/antibackscatter')
    assert response.status_code == 200
    assert response.json()['enabled'] is True


def test_rest_check(world):
    raw, _ = world.message(sender='victim@victim.example',
                           to=list_address('x'), client=SPAMMER)
    fields = dict(message=raw.decode(), ip=SPAMMER[0], helo=SPAMMER[1],
                  mail_from='victim@victim.example')
    # install.md: form or JSON fields.
    for body in ('data', 'json'):
        response = world.mailman.rest(
            'POST', 'plugins/antibackscatter/check', **{body: fields})
        assert response.status_code == 200, (body, response.text)
        assert response.json()['status'] == 'fail', body
    missing = world.mailman.rest('POST', 'plugins/antibackscatter/check',
                                 data=dict(ip='192.0.2.1'))
    assert missing.status_code == 400
    assert 'message' in missing.text


@pytest.mark.parametrize('body', [
    dict(json=['not', 'an', 'object']),
    dict(json=dict(message=5)),
    dict(json=dict(message='From: a@example.org\n\nhi\n', ip=['x'])),
    ], ids=['json-list', 'message-not-text', 'ip-not-text'])
def test_rest_check_refuses_bad_input_with_400(world, body):
    response = world.mailman.rest('POST', 'plugins/antibackscatter/check',
                                  **body)
    assert response.status_code == 400, response.text
