"""REST: a list's settings, statistics and held posts.

    /3.1/plugins/antibackscatter/lists/{list_id}          GET PATCH PUT DELETE
    /3.1/plugins/antibackscatter/lists/{list_id}/stats    GET ?days=N
    /3.1/plugins/antibackscatter/lists/{list_id}/held     GET

Bodies may be JSON or form-encoded (Postorius' client sends forms); errors
are Mailman-style falcon errors whose description names the field.
"""

from mailman.rest.helpers import (
    bad_request, child, etag, no_content, not_found, okay)
from mailman_antibackscatter.app import decisions, list_policy
from mailman_antibackscatter.app.moderator import held_posts
from mailman_antibackscatter.config.settings import SettingError

MAX_DAYS = 400


def body_of(request):
    """(values, is_form) from a JSON or form-encoded body."""
    if (request.content_type or '').startswith('application/json'):
        media = request.get_media(default_when_empty={})
        if not isinstance(media, dict):
            raise SettingError('body: expected a JSON object')
        return media, False
    return dict(request.params), True


class _OfList:
    """A resource of one list; 404 when there is no such list."""

    def __init__(self, mlist, identifier):
        self.mlist, self.identifier = mlist, identifier

    def _missing(self, response):
        if self.mlist is None:
            not_found(response, 'No such mailing list: {}'.format(
                self.identifier))
            return True
        return False


class Lists(_OfList):
    """lists/{list_id}[/stats|/held]: GET PATCH PUT DELETE the settings."""

    def on_get(self, request, response):
        if self._missing(response):
            return
        okay(response, etag(list_policy.describe(self.mlist)))

    def _change(self, request, response, action):
        if self._missing(response):
            return
        try:
            values, form = body_of(request)
            action(self.mlist, values, form=form)
        except SettingError as error:
            bad_request(response, str(error))
            return
        except ValueError as error:          # unparseable JSON
            bad_request(response, 'body: {}'.format(error))
            return
        no_content(response)

    def on_patch(self, request, response):
        self._change(request, response, list_policy.update)

    def on_put(self, request, response):
        self._change(request, response, list_policy.replace)

    def on_delete(self, request, response):
        if self._missing(response):
            return
        list_policy.reset(self.mlist)
        no_content(response)

    @child()
    def stats(self, context, segments):
        return Stats(self.mlist, self.identifier), []

    @child()
    def held(self, context, segments):
        return Held(self.mlist, self.identifier), []


class Stats(_OfList):
    """GET ?days=N (default 30, 1..400): per-day category counts."""

    def on_get(self, request, response):
        if self._missing(response):
            return
        raw = request.get_param('days') or '30'
        try:
            days = int(raw)
            if not 1 <= days <= MAX_DAYS:
                raise ValueError
        except ValueError:
            bad_request(response, 'days: must be a whole number from 1 to '
                        '{}, got {!r}'.format(MAX_DAYS, raw))
            return
        series, totals, reasons = decisions.daily(self.mlist.list_id, days)
        okay(response, etag(dict(
            list_id=self.mlist.list_id, days=days,
            categories=list(decisions.CATEGORIES), series=series,
            totals=totals, reasons=reasons)))


class Held(_OfList):
    """GET: the list's held posts with the door's verdicts."""

    def on_get(self, request, response):
        if self._missing(response):
            return
        entries = [post.as_dict() for post in held_posts(self.mlist)]
        okay(response, etag(dict(entries=entries, total_size=len(entries))))
