"""A small client for the plugin's REST resources in Mailman core.

mailmanclient 3.3.5 knows nothing of plugins, so this uses its public
``Connection`` class with the site's own Postorius settings
(MAILMAN_REST_API_URL/USER/PASS): same credentials, same form-encoded bodies
as Postorius.  Every failure becomes a ``PluginError`` whose message is meant
for the page, never a traceback.
"""

from urllib.error import HTTPError
from urllib.parse import quote

from django.conf import settings
from django.utils.translation import gettext as _
from mailmanclient import MailmanConnectionError
from mailmanclient.restbase.connection import Connection

BASE = 'plugins/antibackscatter/'


class PluginError(Exception):
    """Mailman could not do what the page asked; ``str()`` says why.

    ``field`` names the setting when Mailman's 400 answer names one.
    """

    def __init__(self, message, status=None, field=None, detail=None):
        super().__init__(message)
        self.status = status
        self.field = field
        self.detail = detail


def _describe(error, list_id):
    status = error.code
    reason = str(error.reason or '').strip()
    if status == 400:
        field, sep, rest = reason.partition(':')
        if sep and field and ' ' not in field.strip():
            return PluginError(reason, status, field.strip(), rest.strip())
        return PluginError(reason or _('Mailman refused the values.'), status)
    if status == 404:
        # Either the list is gone or the plugin's REST resources are missing.
        return PluginError(
            _('Mailman does not know the sender authentication settings of '
              '%(list)s: is the mailman-antibackscatter plugin enabled in '
              'Mailman core?') % {'list': list_id}, status)
    if status == 401:
        return PluginError(
            _('Mailman refused the REST credentials of this site '
              '(MAILMAN_REST_API_USER/PASS).'), status)
    return PluginError(
        _('Mailman answered with an error (%(status)s): %(reason)s')
        % {'status': status, 'reason': reason}, status)


class PluginClient:
    """GET/PUT/DELETE the per-list settings, stats and held posts."""

    def __init__(self, connection=None):
        self.connection = connection or Connection(
            '{}/3.1/'.format(settings.MAILMAN_REST_API_URL.rstrip('/')),
            settings.MAILMAN_REST_API_USER, settings.MAILMAN_REST_API_PASS)

    def _call(self, list_id, path, data=None, method=None):
        try:
            response, content = self.connection.call(
                BASE + path, data, method)
        except HTTPError as error:
            raise _describe(error, list_id) from None
        except MailmanConnectionError as error:
            raise PluginError(
                _('Mailman core cannot be reached: %(error)s')
                % {'error': ' '.join(str(a) for a in error.args)}) from None
        return content

    @staticmethod
    def _list(list_id):
        return 'lists/' + quote(list_id, safe='')

    def settings(self, list_id):
        return self._call(list_id, self._list(list_id))

    def replace(self, list_id, overrides):
        """Store exactly ``overrides``; every other option follows the site."""
        if not overrides:
            # An empty PUT body would be indistinguishable from no body.
            return self.reset(list_id)
        return self._call(list_id, self._list(list_id), overrides, 'PUT')

    def reset(self, list_id):
        return self._call(list_id, self._list(list_id), None, 'DELETE')

    def stats(self, list_id, days=30):
        return self._call(list_id, '{}/stats?days={:d}'.format(
            self._list(list_id), days))

    def held(self, list_id):
        return self._call(list_id, self._list(list_id) + '/held')
