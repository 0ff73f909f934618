"""The menu item added to Postorius' list menu (no server needed)."""

from django.template.loader import render_to_string
from django.test import override_settings
from django.urls import reverse

from mailman_antibackscatter.web.nav import add_item

LIST_ID = 'club.lists.example.net'


class FakeUser:
    """Only what Postorius' list menu template reads of a user."""

    is_authenticated = True
    is_superuser = False
    is_list_owner = True
    is_list_moderator = False
    show_list_members = True


class MenuList:
    """Only what the menu template reads of a list (no REST calls)."""

    list_id = LIST_ID
    display_name = 'Club'
    fqdn_listname = 'club@lists.example.net'

    def get_held_count(self):
        return 0

    def get_requests_count(self, token_owner=None):
        return 0


def postorius_menu():
    return render_to_string('postorius/menu/list_nav.html', {
        'list': MenuList(), 'current': 'list_settings', 'user': FakeUser(),
        'title': '', 'subtitle': ''})


def test_item_follows_postorius_settings_item():
    html = postorius_menu()
    ours = reverse('antibackscatter_list', kwargs={'list_id': LIST_ID})
    changed = add_item(html, LIST_ID, 'list_settings')
    settings_at = changed.index(reverse('list_settings', args=[LIST_ID]))
    ours_at = changed.index(ours)
    assert settings_at < ours_at
    # Right after the Settings item: nothing of Postorius' in between.
    between = changed[settings_at:ours_at]
    assert between.count('<li') == 1
    assert changed.replace(changed[changed.rindex('<li', 0, ours_at):
                                   changed.index('</li>', ours_at) + 5],
                           '') == html
    assert 'nav-link ">Sender authentication' in changed


def test_item_is_active_on_our_page():
    changed = add_item(postorius_menu(), LIST_ID, 'antibackscatter_list')
    assert 'nav-link active">Sender authentication' in changed


@override_settings(ROOT_URLCONF='tests.web.urls_postorius_only')
def test_menu_untouched_when_our_urls_are_not_included():
    html = postorius_menu()
    assert add_item(html, LIST_ID, 'list_settings') == html
