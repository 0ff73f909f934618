# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plain-language explanations of verdicts, for list owners.

The verdict's ``reason`` is written for administrators and logs ("spf=fail
for d aligned with From d"); owners deciding on a held post need to read
what it means for the sender.  Names that come from the message or from DNS
are cut to one short line, so a hostile value cannot add lines or links.
"""

from .verdict import Status

__all__ = ['explain']

# The longest name quoted from a message or from DNS.
MAX_NAME = 80


def _name(value):
    text = ' '.join(str(value or '').split())
    return text if len(text) <= MAX_NAME else text[:MAX_NAME - 3] + '...'


def _server(verdict):
    client = verdict.client
    return ' ({})'.format(_name(client.ip)) if client and client.ip else ''


def explain(verdict):
    """One or two sentences on why *verdict* proves, disproves or leaves
    open its From address."""
    if verdict.from_address is None:
        return 'Not proven: the message has no single From address ({}).' \
            .format(_name(verdict.reason) or 'none could be read')
    domain = _name(verdict.from_address.rpartition('@')[2])
    status, reason = verdict.from_status, verdict.reason or ''
    spf = verdict.spf
    if status is Status.PASS:
        if reason.startswith('spf=pass') and spf is not None:
            return "Proven: {}'s SPF allows the sending server{}.".format(
                _name(spf.domain), _server(verdict))
        if reason.startswith('dkim=pass'):
            signer = next((d.domain for d in verdict.dkim
                           if d.result == 'pass'), domain)
            return ('Proven: the message carries a valid signature (DKIM) '
                    'of {}.'.format(_name(signer)))
        if verdict.arc is not None and verdict.arc.trusted:
            return ('Proven: {}, a forwarder this site trusts, reports '
                    'that the message passed its checks for {}.'.format(
                        _name(verdict.arc.sealer), domain))
        return ("Proven: this site's own mail server reports that the "
                'message passed its checks for {}.'.format(domain))
    if status is Status.FAIL:
        if reason.startswith('spf=fail') and spf is not None:
            return ("Forged: {}'s SPF does not allow the sending "
                    'server{}.'.format(_name(spf.domain), _server(verdict)))
        policy = verdict.dmarc_policy or 'reject'
        return ('Forged: {} asks receivers to {} mail that none of its '
                'checks (SPF, DKIM) confirm, and none confirms this '
                'one.'.format(domain, policy))
    if status is Status.TEMPERROR:
        return ("Not proven: {}'s DNS did not answer when the message "
                'arrived; the sender may be real.'.format(domain))
    if (spf is not None and spf.result != 'none') or verdict.dkim:
        return ('Not proven: no check (SPF, DKIM) confirms the sender, and '
                '{} does not ask receivers to refuse such mail (DMARC); '
                'the sender may be real.'.format(domain))
    return ('Not proven: {} publishes nothing (SPF, DKIM, DMARC) that '
            'proves or disproves the sender; the sender may be '
            'real.'.format(domain))
