"""Per-list settings over REST on the real Mailman: the contract the
Postorius page (and any admin script) relies on."""

import itertools

import pytest
import requests

from mailman_antibackscatter.model.schema import SCHEMA_VERSION
from tests.harness.scenario import list_address

pytestmark = pytest.mark.e2e

_numbers = itertools.count(1)
BASE = 'plugins/antibackscatter/lists/'


@pytest.fixture
def list_id(world):
    """A fresh list for each test."""
    return fresh_list(world)


@pytest.fixture
def db_list(any_world):
    """(world, list_id): a fresh list on SQLite, then on PostgreSQL."""
    return any_world, fresh_list(any_world)


def fresh_list(world):
    fqdn = list_address('settings{}'.format(next(_numbers)))
    world.mailman.create_list(fqdn)
    return world.mailman.list_id(fqdn)


def get(world, list_id):
    response = world.mailman.rest('GET', BASE + list_id)
    assert response.status_code == 200, response.text
    return response.json()


def test_needs_credentials(world, list_id):
    url = world.mailman.rest_url + BASE + list_id
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.patch(url, data=dict(answer='all'),
                          timeout=10).status_code == 401


def test_site_defaults_until_overridden(world, list_id):
    info = get(world, list_id)
    assert info['list_id'] == list_id
    assert info['overrides'] == {}
    assert set(info['sources'].values()) == {'site'}
    assert info['settings'] == info['site_defaults']
    assert info['settings']['owner_notices'] == 'not-forged'
    assert info['settings']['enabled'] is True
    assert info['settings']['ratelimit_per_recipient'] == 200   # site file
    assert info['options']['owner_notices'] == dict(
        type='choice', site_only=False, choices=[
            'immediate', 'not-forged', 'authenticated-only', 'summary',
            'none'])
    assert info['options']['enabled']['type'] == 'boolean'
    assert info['options']['ratelimit_per_domain']['type'] == 'integer'
    assert info['options']['summary_interval']['type'] == 'text'
    assert 'http_etag' in info


def test_json_round_trip(db_list):
    world, list_id = db_list
    response = world.mailman.rest('PATCH', BASE + list_id, json=dict(
        owner_notices='summary', authenticated_membership=False,
        ratelimit_per_recipient=3, summary_interval='12h'))
    assert response.status_code == 204, response.text
    info = get(world, list_id)
    assert info['overrides'] == dict(
        owner_notices='summary', authenticated_membership=False,
        ratelimit_per_recipient=3, summary_interval='12h')
    assert info['settings']['owner_notices'] == 'summary'
    assert info['sources']['owner_notices'] == 'list'
    assert info['sources']['answer'] == 'site'
    assert info['site_defaults']['owner_notices'] == 'not-forged'
    # null removes one override; the others stay.
    response = world.mailman.rest('PATCH', BASE + list_id,
                                  json=dict(owner_notices=None))
    assert response.status_code == 204, response.text
    info = get(world, list_id)
    assert 'owner_notices' not in info['overrides']
    assert info['settings']['owner_notices'] == 'not-forged'
    assert info['overrides']['ratelimit_per_recipient'] == 3


def test_form_round_trip_as_postorius_sends_it(db_list):
    world, list_id = db_list
    response = world.mailman.rest('PATCH', BASE + list_id, data=dict(
        answer='not-forged', enabled='no', ratelimit_per_domain='7'))
    assert response.status_code == 204, response.text
    info = get(world, list_id)
    assert info['overrides'] == dict(answer='not-forged', enabled=False,
                                     ratelimit_per_domain=7)
    # '' removes an override of a non-text key.
    response = world.mailman.rest('PATCH', BASE + list_id,
                                  data=dict(enabled=''))
    assert response.status_code == 204, response.text
    assert get(world, list_id)['settings']['enabled'] is True


def test_put_replaces_and_delete_resets(db_list):
    world, list_id = db_list
    world.mailman.rest('PATCH', BASE + list_id,
                       json=dict(answer='all', forged_member='discard'))
    response = world.mailman.rest('PUT', BASE + list_id,
                                  data=dict(owner_forged='hold'))
    assert response.status_code == 204, response.text
    assert get(world, list_id)['overrides'] == dict(owner_forged='hold')
    response = world.mailman.rest('DELETE', BASE + list_id)
    assert response.status_code == 204, response.text
    assert get(world, list_id)['overrides'] == {}


@pytest.mark.parametrize('body, field', [
    (dict(owner_notices='sometimes'), 'owner_notices: must be one of '
     'immediate, not-forged, authenticated-only, summary, none'),
    (dict(enabled='perhaps'), 'enabled:'),
    (dict(ratelimit_per_recipient=-1), 'ratelimit_per_recipient:'),
    (dict(ratelimit_per_recipient=True), 'ratelimit_per_recipient:'),
    (dict(summary_interval='soon'), 'summary_interval:'),
    (dict(nosuch='x'), 'nosuch: unknown option'),
    (dict(nameservers='127.0.0.1'), 'nameservers: site-only'),
    ])
def test_bad_values_are_400_naming_the_field(world, list_id, body, field):
    response = world.mailman.rest('PATCH', BASE + list_id, json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()['description']
    # Nothing of a rejected request is stored.
    assert get(world, list_id)['overrides'] == {}


def test_a_bad_value_stores_nothing_of_the_request(db_list):
    world, list_id = db_list
    response = world.mailman.rest('PATCH', BASE + list_id, data=dict(
        answer='all', owner_notices='bogus'))
    assert response.status_code == 400
    assert 'owner_notices' in response.json()['description']
    assert get(world, list_id)['overrides'] == {}


def test_unknown_list_is_404(world):
    for method in ('GET', 'PATCH', 'PUT', 'DELETE'):
        response = world.mailman.rest(method, BASE + 'nosuch.example.net',
                                      json={})
        assert response.status_code == 404, (method, response.text)
    for tail in ('/stats', '/held'):
        response = world.mailman.rest(
            'GET', BASE + 'nosuch.example.net' + tail)
        assert response.status_code == 404, (tail, response.text)


def test_stats_shape(db_list):
    world, list_id = db_list
    response = world.mailman.rest('GET', BASE + list_id + '/stats?days=7')
    assert response.status_code == 200, response.text
    info = response.json()
    assert info['days'] == 7 and info['list_id'] == list_id
    assert len(info['series']) == 7
    assert info['series'][0]['day'] < info['series'][-1]['day']
    assert set(info['totals']) == set(info['categories'])
    assert 'bounces_dropped' in info['categories']
    assert all(day[c] == 0 for day in info['series']
               for c in info['categories'])
    default = world.mailman.rest('GET', BASE + list_id + '/stats').json()
    assert default['days'] == 30 and len(default['series']) == 30
    for bad in ('0', '401', 'x'):
        response = world.mailman.rest(
            'GET', BASE + list_id + '/stats?days=' + bad)
        assert response.status_code == 400
        assert 'days' in response.json()['description']


def test_held_of_an_empty_list(db_list):
    world, list_id = db_list
    response = world.mailman.rest('GET', BASE + list_id + '/held')
    assert response.status_code == 200, response.text
    assert response.json()['entries'] == []
    assert response.json()['total_size'] == 0


@pytest.mark.postgresql
def test_overrides_are_rows_in_postgresql(pg_world):
    import psycopg2
    list_id = fresh_list(pg_world)
    response = pg_world.mailman.rest(
        'PATCH', BASE + list_id, data=dict(owner_notices='summary'))
    assert response.status_code == 204, response.text
    with psycopg2.connect(pg_world.database_url) as connection:
        with connection.cursor() as cursor:
            cursor.execute('SELECT key, value FROM '
                           'antibackscatter_list_setting WHERE list_id = %s',
                           (list_id,))
            rows = cursor.fetchall()
            cursor.execute('SELECT version FROM antibackscatter_schema')
            versions = cursor.fetchall()
    connection.close()
    assert rows == [('owner_notices', 'summary')]
    assert versions == [(SCHEMA_VERSION,)]
