"""REST resources under /3.1/plugins/antibackscatter/ (Mailman's auth)."""

import json

from mailman.rest.helpers import bad_request, child, etag, NotFound, okay
from mailman_antibackscatter.app import decisions
from mailman_antibackscatter.app.list_policy import find_list
from mailman_antibackscatter.app.status import status, verdict_as_dict
from mailman_antibackscatter.auth import ClientInfo
from mailman_antibackscatter.config.runtime import (
    get_authenticator, get_settings)
from mailman_antibackscatter.rest.lists import Lists


class AntiBackscatterRoot:
    """GET: what is installed and in force."""

    def on_get(self, request, response):
        okay(response, etag(status()))

    @child()
    def stats(self, context, segments):
        return Stats(), []

    @child()
    def check(self, context, segments):
        return Check(), []

    @child()
    def lists(self, context, segments):
        if not segments:
            return NotFound(), []
        identifier = segments.pop(0)
        return Lists(find_list(identifier), identifier), segments


class Stats:
    """GET: decision counters, optionally ?list_id=...."""

    def on_get(self, request, response):
        list_id = request.get_param('list_id')
        totals = sorted(decisions.totals(list_id).items())
        counts = [dict(list_id=lid, reason=reason, count=amount)
                  for (lid, reason), amount in totals]
        okay(response, etag(dict(entries=counts, total_size=len(counts))))


class Check:
    """POST a raw message (field `message`); returns the verdict."""

    def on_post(self, request, response):
        params = dict(request.params)
        if not params and request.content_length:
            try:
                params = json.loads(request.bounded_stream.read() or b'{}')
            except ValueError:
                bad_request(response, b'Body is neither form data nor JSON')
                return
        if not isinstance(params, dict):
            bad_request(response, b'Body: expected a JSON object')
            return
        message = params.get('message')
        if not message:
            bad_request(response, b'Missing field: message')
            return
        for name in ('message', 'ip', 'helo', 'mail_from'):
            if not isinstance(params.get(name, ''), (str, type(None))):
                bad_request(response, '{}: expected text'.format(
                    name).encode())
                return
        client = None
        if params.get('ip'):
            client = ClientInfo(ip=params['ip'], helo=params.get('helo'),
                                source='header')
        verdict = get_authenticator().authenticate(
            message.encode('utf-8', 'surrogateescape'),
            params.get('mail_from'), client)
        okay(response, etag(verdict_as_dict(
            verdict, get_settings().engine.authserv_id)))
