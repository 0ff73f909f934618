"""The page in Django's test client, against a real Mailman with the plugin.

Permissions are Postorius' own (list owner or site admin; members get 403,
anonymous visitors the login page); settings go to Mailman's REST API and
are read back from it.
"""

import re
import time

from urllib.parse import urlparse

import pytest
from django.urls import reverse

from mailman_antibackscatter.web.client import PluginClient, PluginError
from tests.web.conftest import LIST_ID, plugin_rest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

URL = reverse('antibackscatter_list', kwargs={'list_id': LIST_ID})


def test_anonymous_visitors_are_sent_to_the_login_page(client, core):
    response = client.get(URL)
    assert response.status_code == 302
    target = urlparse(response['Location'])
    assert target.path == reverse('account_login')
    assert URL in target.query


def test_members_who_do_not_own_the_list_get_403(client, core, users):
    client.force_login(users['member'])
    assert client.get(URL).status_code == 403
    assert client.post(URL, {'answer': 'all'}).status_code == 403


def test_owner_and_site_admin_see_the_page(client, core, users,
                                           reset_overrides):
    for who in ('owner', 'admin'):
        client.force_login(users[who])
        response = client.get(URL)
        assert response.status_code == 200, who
        page = response.content.decode()
        assert '<svg' in page and 'antibackscatter-chart' in page
        assert 'Site default (proven)' in page
        assert 'id="antibackscatter-form"' in page
        client.logout()


def test_the_page_loads_nothing_from_outside_nor_static_of_its_own(
        client, core, users, settings):
    """install.md: nothing needs collectstatic, nothing loads from
    outside; what the page loads is Postorius' own."""
    client.force_login(users['owner'])
    page = client.get(URL).content.decode()
    loaded = re.findall(r'<(?:script|img|iframe)[^>]*\ssrc="([^"]*)"', page)
    loaded += re.findall(r'<link[^>]*\shref="([^"]*)"', page)
    assert loaded, page
    assert [url for url in loaded if urlparse(url).netloc] == []
    assert [url for url in loaded if 'antibackscatter' in url] == []


def test_menu_link_on_postorius_list_pages_for_owners_only(client, core,
                                                           users):
    client.force_login(users['owner'])
    page = client.get(reverse('list_settings', args=[LIST_ID])).content
    assert URL.encode() in page
    client.logout()
    client.force_login(users['member'])
    page = client.get(reverse('list_summary', args=[LIST_ID])).content
    assert URL.encode() not in page


def test_saving_stores_the_full_override_set_in_mailman(client, core, users,
                                                        reset_overrides):
    client.force_login(users['owner'])
    response = client.post(URL, {'answer': 'not-forged',
                                 'owner_notices': 'summary'})
    assert response.status_code == 302
    stored = plugin_rest(core).json()
    assert stored['overrides'] == {'answer': 'not-forged',
                                   'owner_notices': 'summary'}
    assert stored['sources']['answer'] == 'list'
    page = client.get(URL).content.decode()
    assert 'have been saved' in page
    assert '<option value="summary" selected>' in page
    # Back to "Site default" for answer: the override is removed (PUT of the
    # full set), the other stays.
    client.post(URL, {'answer': '', 'owner_notices': 'summary'})
    stored = plugin_rest(core).json()
    assert stored['overrides'] == {'owner_notices': 'summary'}
    assert stored['sources']['answer'] == 'site'
    # Everything on the site default: no override left.
    client.post(URL, {})
    assert plugin_rest(core).json()['overrides'] == {}


def test_invalid_input_is_refused_before_mailman(client, core, users,
                                                 reset_overrides):
    client.force_login(users['owner'])
    response = client.post(URL, {'answer': 'everyone-please'})
    assert response.status_code == 400
    assert 'Select a valid choice' in response.content.decode()
    assert plugin_rest(core).json()['overrides'] == {}


def test_mailman_validation_errors_name_the_field(core, reset_overrides):
    with pytest.raises(PluginError) as caught:
        PluginClient().replace(LIST_ID, {'answer': 'everyone-please'})
    assert caught.value.status == 400
    assert caught.value.field == 'answer'
    assert plugin_rest(core).json()['overrides'] == {}


def test_unreachable_mailman_is_a_message_not_a_traceback(core, settings):
    from tests.harness.smtpsink import free_port
    settings.MAILMAN_REST_API_URL = 'http://127.0.0.1:{}'.format(free_port())
    with pytest.raises(PluginError) as caught:
        PluginClient().settings(LIST_ID)
    assert 'cannot be reached' in str(caught.value)


def test_page_when_mailman_is_down_is_postorius_error_page(client, core,
                                                           users, settings):
    from tests.harness.smtpsink import free_port
    settings.MAILMAN_REST_API_URL = 'http://127.0.0.1:{}'.format(free_port())
    client.force_login(users['admin'])
    response = client.get(URL)
    assert response.status_code == 503
    assert 'Mailman REST API not available' in response.content.decode()
    assert 'Traceback' not in response.content.decode()


def test_held_posts_with_their_verdicts(client, core, users, forged_post):
    client.force_login(users['owner'])
    page = client.get(URL).content.decode()
    assert 'ceo@victim.example' in page
    assert 'Forged invoice' in page
    assert '>fail</span>' in page
    # What the verdict means, in words an owner reads, not engine terms.
    assert 'SPF does not allow the sending server' in page
    assert 'aligned with From' not in page
    assert reverse('list_held_messages', args=[LIST_ID]) in page


def test_chart_counts_the_suppressed_notice_and_dropped_bounce(
        client, core, users, forged_post):
    # The bounce gate writes its counters in batches once its queue is idle.
    for _ in range(40):
        stats = plugin_rest(core, suffix='/stats?days=30').json()
        if stats['totals']['bounces_dropped'] >= 1:
            break
        time.sleep(0.25)
    # The hold notice to the forged sender is backscatter; the owners'
    # notice of the forged post is another message withheld.
    assert stats['totals']['backscatter_suppressed'] >= 1
    assert stats['totals']['notices_suppressed'] >= 1
    assert stats['totals']['bounces_dropped'] >= 1
    client.force_login(users['owner'])
    page = client.get(URL).content.decode()
    assert 'Automatic replies to forged senders not sent ({})'.format(
        stats['totals']['backscatter_suppressed']) in page
    assert 'Bounces of mail the list never sent dropped ({})'.format(
        stats['totals']['bounces_dropped']) in page


def test_values_mailman_refuses_are_shown_on_their_field(client, core, users,
                                                         reset_overrides):
    # The form accepts any text for summary_interval; Mailman parses it.
    client.force_login(users['owner'])
    response = client.post(URL, {'answer': 'all',
                                 'summary_interval': 'whenever'})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'The settings were not saved' in page
    assert 'summary_interval' in page
    # The form keeps what the owner typed; nothing was stored.
    assert 'value="whenever"' in page
    assert plugin_rest(core).json()['overrides'] == {}
