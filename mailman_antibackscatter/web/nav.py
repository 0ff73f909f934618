"""A "Sender authentication" item in Postorius' list menu, next to Settings.

Postorius' list menu (template ``postorius/menu/list_nav.html``, drawn by the
``list_nav`` tag of ``nav_helpers``) has no extension point.  Overriding the
template would mean copying it and would depend on INSTALLED_APPS order, so
the tag is wrapped instead (by web/patches.py): Postorius draws its
menu as always, and for list owners and site admins one item is added after
its Settings item (at the end of the menu if that item is not found).  If
this app's URLs are not included, the menu is left as Postorius draws it.
"""

import logging
import re

from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)

CURRENT = 'antibackscatter_list'
_SETTINGS_ITEM_END = '</li>'


def _item(list_id, current):
    try:
        url = reverse(CURRENT, kwargs={'list_id': list_id})
    except NoReverseMatch:
        log.warning('mailman_antibackscatter.web is in INSTALLED_APPS but '
                    'its URLs are not included; no menu link added')
        return ''
    return format_html(
        '<li class="nav-item"><a href="{}" class="nav-link {}">{}</a></li>',
        url, 'active' if current == CURRENT else '',
        _('Sender authentication'))


def add_item(html, list_id, current):
    """``html`` of Postorius' list menu with our item after Settings."""
    item = _item(list_id, current)
    if not item:
        return html
    try:
        settings_url = reverse('list_settings', args=[list_id])
    except NoReverseMatch:
        settings_url = None
    if settings_url:
        match = re.search(r'href="{}"'.format(re.escape(settings_url)), html)
        if match:
            end = html.find(_SETTINGS_ITEM_END, match.end())
            if end >= 0:
                end += len(_SETTINGS_ITEM_END)
                return html[:end] + item + html[end:]
    closing = html.rfind('</ul>')
    if closing >= 0:
        return html[:closing] + item + html[closing:]
    return html


def with_list_menu_link(original):
    """Postorius' ``list_nav`` tag, plus our item for owners and admins."""
    def list_nav(context, current, title='', subtitle=''):
        values = original(context, current, title, subtitle)
        html = render_to_string('postorius/menu/list_nav.html', values)
        user = values.get('user')
        mlist = values.get('list')
        if (user is not None and mlist is not None and (
                user.is_superuser or getattr(user, 'is_list_owner', False))):
            html = add_item(html, mlist.list_id, current)
        return mark_safe(html)
    return list_nav
