"""The settings form, built from the options Mailman says it has.

Mailman's GET answer lists every per-list option with its type and choices,
the site default and the list's own value; the form shows one field per
option with a first choice "Site default (...)" (or an empty box) that means
"follow the site".  ``overrides()`` turns a valid form into the full set of
form-encoded overrides for a PUT.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

SITE_DEFAULT = ''

# Labels and help texts for list owners.  Options Mailman adds later still
# get a field (label from the key), so nothing is ever hidden.
OPTION_TEXT = {
    'enabled': (
        _('Protect this list'),
        _('"No" turns sender authentication off for this list only: Mailman '
          'then answers every sender and accepts every bounce, as it does '
          'without the plugin.')),
    'answer': (
        _('Who may get automatic replies'),
        _('Hold notices, rejection notices, auto-replies and command replies '
          'go only to senders whose address is proven by SPF or DKIM '
          '("proven"). "Not forged" also answers senders whose domain '
          'publishes nothing, which a spammer can abuse; "everyone" is '
          'Mailman without protection.')),
    'reject_unproven': (
        _('Rejected posts from unproven senders'),
        _('A post Mailman would reject (for example from a non-member) whose '
          'sender cannot be answered safely: discard it quietly, or hold it '
          'for the moderators without telling anyone.')),
    'forged_member': (
        _('Posts forged in the name of a member'),
        _("A post that claims to come from a member but fails the member's "
          'domain checks: hold it quietly for a moderator, discard it, or '
          'accept it as Mailman would.')),
    'owner_forged': (
        _('Forged mail to the list owners'),
        _('Mail to the -owner address that fails its sender checks: discard '
          'it, hold it, or forward it to the owners as Mailman would.')),
    'unproven_commands': (
        _('Email commands from unproven senders'),
        _('Subscribe, unsubscribe and other commands sent by email from a '
          'sender that is not proven: ignore them (nobody can then subscribe '
          'or unsubscribe someone else by forging their address) or process '
          'them as Mailman would.')),
    'owner_notices': (
        _('Telling the owners about held posts'),
        _('"Immediate" sends a notice for every held post, as Mailman does; '
          '"not forged" skips senders that fail their checks; "authenticated '
          'only" notifies at once only for proven senders and lists the rest '
          'in the summary; "summary" sends one periodic message instead; '
          '"none" sends nothing (look at the held messages page).')),
    'authenticated_membership': (
        _('Recognise members by their proven address only'),
        _('Yes: a post counts as a member post only when its author (From, '
          'or a proven envelope sender) is a member. No: as Mailman, any of '
          'From, envelope sender, Reply-To or Sender being a member is '
          'enough, so one forged header makes spam a member post.')),
    'ratelimit_per_recipient': (
        _('Replies per address'),
        _('Automatic replies one address may get per period.')),
    'ratelimit_per_domain': (
        _('Replies per domain'),
        _('Automatic replies one domain may get per period.')),
    'summary_interval': (
        _('How often the owners get the summary'),
        _('At most one summary of quietly held posts per this period, and '
          'only when there is something new: for example 12h, 1d or 1w.')),
    'per_recipient_return_path': (
        _('A return path of its own for every recipient'),
        _('Yes: each member gets a return path of their own (one '
          'transaction per member for the mail server), so a delivery '
          'report can only count against the member it was made for. No: '
          'one copy goes to many members of a domain with a shared return '
          'path; a report may then raise the bounce score of a member it '
          'names, but only a bounce of a probe sent to that member can '
          'disable them.')),
}

CHOICE_TEXT = {
    'proven': _('proven senders only'),
    'not-forged': _('not forged'),
    'all': _('everyone'),
    'discard': _('discard'),
    'hold': _('hold quietly'),
    'accept': _('accept'),
    'forward': _('forward to the owners'),
    'ignore': _('ignore'),
    'process': _('process'),
    'immediate': _('immediate'),
    'authenticated-only': _('authenticated only'),
    'summary': _('summary'),
    'none': _('none'),
}

HELP_LINK_NOTE = _('Your site administrator sets the site default.')


def _shown(value):
    """A value as the page shows it (booleans as yes/no)."""
    if value is True:
        return 'yes'
    if value is False:
        return 'no'
    if value is None:
        return ''
    return str(value)


def _choice_label(value):
    text = CHOICE_TEXT.get(value)
    if not text:
        return value
    if value.replace('-', ' ') in str(text):
        return text
    # The configuration's own word too, as the site default shows it.
    return '{} ({})'.format(text, value)


class SenderAuthenticationForm(forms.Form):
    """One field per per-list option of Mailman's GET answer."""

    def __init__(self, data=None, *, options, overrides, site_defaults,
                 **kwargs):
        super().__init__(data, **kwargs)
        for key, spec in options.items():
            field = self._field(key, spec, site_defaults.get(key))
            if field is None:
                continue
            # Bootstrap 5 classes, as Postorius' own forms use.
            field.widget.attrs.setdefault('class', 'form-select' if isinstance(
                field, forms.ChoiceField) else 'form-control')
            self.fields[key] = field
            self.initial[key] = (
                _shown(overrides[key]) if key in overrides else SITE_DEFAULT)

    @staticmethod
    def _field(key, spec, default):
        label, help_text = OPTION_TEXT.get(
            key, (key.replace('_', ' ').capitalize(), HELP_LINK_NOTE))
        kind = spec.get('type')
        default_text = _('Site default (%(value)s)') % {
            'value': _shown(default)}
        if kind == 'boolean':
            return forms.ChoiceField(
                label=label, help_text=help_text, required=False,
                choices=[(SITE_DEFAULT, default_text),
                         ('yes', _('yes')), ('no', _('no'))])
        if kind == 'choice':
            return forms.ChoiceField(
                label=label, help_text=help_text, required=False,
                choices=[(SITE_DEFAULT, default_text)] + [
                    (value, _choice_label(value))
                    for value in spec.get('choices') or ()])
        if kind == 'integer':
            return forms.IntegerField(
                label=label, help_text=help_text, required=False,
                min_value=0, widget=forms.NumberInput(
                    attrs={'placeholder': default_text}))
        if kind == 'text':
            return forms.CharField(
                label=label, help_text=help_text, required=False,
                strip=True, widget=forms.TextInput(
                    attrs={'placeholder': default_text}))
        return None

    def overrides(self):
        """The full set of overrides, form-encoded (empty: follow the site)."""
        result = {}
        for key, value in self.cleaned_data.items():
            if value is None or value == SITE_DEFAULT:
                continue
            result[key] = str(value)
        return result
