"""The per-list "Sender authentication" page (list owners and site admins)."""

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _, ngettext_lazy
from mailman_antibackscatter.web import chart
from mailman_antibackscatter.web.client import PluginClient, PluginError
from mailman_antibackscatter.web.forms import SenderAuthenticationForm
from mailman_antibackscatter.web.nav import CURRENT
from postorius.auth.decorators import list_owner_required
from postorius.models import List

CHART_DAYS = 30

# Stats categories shown as totals under the chart, for the owner, each
# with its count in front in the grammatical number the language needs.
TOTALS = (
    ('notices_sent', ngettext_lazy(
        '%(count)d automatic message sent (replies and owner notices)',
        '%(count)d automatic messages sent (replies and owner notices)',
        'count')),
    ('backscatter_suppressed', ngettext_lazy(
        '%(count)d automatic reply not sent to a forged sender '
        '(backscatter stopped)',
        '%(count)d automatic replies not sent to forged senders '
        '(backscatter stopped)', 'count')),
    ('unproven_unanswered', ngettext_lazy(
        '%(count)d automatic reply not sent to a sender who could not be '
        'proven (perhaps real)',
        '%(count)d automatic replies not sent to senders who could not be '
        'proven (perhaps real)', 'count')),
    ('notices_suppressed', ngettext_lazy(
        '%(count)d other automatic message withheld (owner notices left '
        'to the summary, replies over the rate limit)',
        '%(count)d other automatic messages withheld (owner notices left '
        'to the summary, replies over the rate limit)', 'count')),
    ('posts_held_quietly', ngettext_lazy(
        '%(count)d post held quietly', '%(count)d posts held quietly',
        'count')),
    ('posts_discarded', ngettext_lazy(
        '%(count)d post discarded', '%(count)d posts discarded', 'count')),
    ('commands_ignored', ngettext_lazy(
        '%(count)d email command ignored',
        '%(count)d email commands ignored', 'count')),
    ('bounces_genuine', ngettext_lazy(
        '%(count)d genuine bounce accepted',
        '%(count)d genuine bounces accepted', 'count')),
    ('bounces_dropped', ngettext_lazy(
        '%(count)d bounce of mail the list never sent dropped',
        '%(count)d bounces of mail the list never sent dropped', 'count')),
    ('backscatter_to_list', ngettext_lazy(
        '%(count)d delivery report or auto-reply to the list\'s own '
        'addresses dropped',
        '%(count)d delivery reports and auto-replies to the list\'s own '
        'addresses dropped', 'count')),
)


def totals(counts):
    """[(category, text)] for the totals under the chart."""
    return [(key, text % {'count': counts.get(key, 0) or 0})
            for key, text in TOTALS]


def _form(data, current):
    return SenderAuthenticationForm(
        data, options=current.get('options', {}),
        overrides=current.get('overrides', {}),
        site_defaults=current.get('site_defaults', {}))


def _rows(form, current):
    """(field, effective value, 'list'|'site') for the template."""
    effective = current.get('settings', {})
    sources = current.get('sources', {})
    rows = []
    for name in form.fields:
        value = effective.get(name)
        if value is True:
            value = 'yes'
        elif value is False:
            value = 'no'
        rows.append((form[name], value, sources.get(name, 'site')))
    return rows


def _held(entries):
    """Held entries with hold_date as a datetime (the template formats it)."""
    for entry in entries:
        try:
            entry['hold_date'] = datetime.fromisoformat(entry['hold_date'])
        except (KeyError, TypeError, ValueError):
            pass
    return entries


def _try(request, call, *args):
    try:
        return call(*args)
    except PluginError as error:
        messages.error(request, str(error))
        return None


@login_required
@list_owner_required
def list_sender_authentication(request, list_id):
    """Show and change the list's overrides; chart; held posts."""
    mlist = List.objects.get_or_404(fqdn_listname=list_id)
    client = PluginClient()
    list_id = mlist.list_id
    current = _try(request, client.settings, list_id)
    form = None
    if current is not None:
        if request.method == 'POST':
            form = _form(request.POST, current)
            if form.is_valid():
                try:
                    client.replace(list_id, form.overrides())
                except PluginError as error:
                    if error.field in form.fields:
                        form.add_error(error.field, error.detail or str(error))
                    messages.error(request, _(
                        'The settings were not saved: %(error)s')
                        % {'error': error})
                else:
                    messages.success(request, _(
                        'The sender authentication settings have been '
                        'saved.'))
                    return redirect(CURRENT, list_id=list_id)
        else:
            form = _form(None, current)
    # When the settings could not be read, the rest would only repeat why.
    stats = held = None
    if current is not None:
        stats = _try(request, client.stats, list_id, CHART_DAYS)
        held = _try(request, client.held, list_id)
    context = {
        'list': mlist,
        'form': form,
        'rows': _rows(form, current) if form is not None else [],
        'chart_days': CHART_DAYS,
        'chart': chart.render(stats.get('series', [])) if stats else None,
        'totals': totals(stats.get('totals') or {}) if stats else [],
        'held': _held((held or {}).get('entries', [])),
        'held_loaded': held is not None,
    }
    status = 400 if form is not None and form.is_bound else 200
    return render(request, 'antibackscatter/list_sender_authentication.html',
                  context, status=status)
