# SPDX-License-Identifier: GPL-3.0-or-later
"""The lean A-R parser gives what authres gives, or defers to it."""

import authres
import pytest

from mailman_antibackscatter.auth import authresults

VALUES = [
    'mx.example.net; spf=pass smtp.mailfrom=alice@example.com',
    'mx.example.net; spf=pass smtp.mailfrom=alice@example.com; '
    'dkim=pass header.d=example.com header.i=@example.com header.s=s1; '
    'dmarc=pass header.from=example.com',
    'mx.example.net;dkim=fail header.d=example.com;arc=pass',
    '  mx.example.net ;  dkim = pass   header.d=example.com  ',
    'mx.example.net; iprev=pass policy.iprev=192.0.2.1 smtp.helo=mail.example.com',
    'mx.example.net; spf=softfail smtp.helo=mail.example.com',
    'mx.example.net; dkim=pass header.b=AbC+/12= header.d=x.example',
    # authres' territory: the lean parser must defer
    'mx.example.net 1; spf=pass smtp.mailfrom=a@example.com',
    'mx.example.net; none',
    'mx.example.net; spf=pass (sender ok) smtp.mailfrom=a@example.com',
    'mx.example.net; dkim=pass reason="good" header.d=example.com',
    'mx.example.net; DKIM=PASS header.d=example.com',
    'mx.example.net; dkim/1=pass header.d=example.com',
    'mx.example.net; dkim=pass header.i=@',
    'mx.example.net; dkim=pass x-foo.bar=1',
    'mx.example.net; spf=pass smtp.mailfrom="a b"@example.com',
    'mx.example.net; spf=pass;',
    'mx.example.net',
]


def _shape(results):
    return [(r.method, r.result, [('%s.%s' % (p.type, p.name), str(p.value))
                                  for p in r.properties]) for r in results]


@pytest.mark.parametrize('value', VALUES)
def test_lean_parser_matches_authres(value):
    lean = authresults._lean_parse(value)
    try:
        expected = _shape(authres.AuthenticationResultsHeader.parse_value(value).results)
    except Exception:
        expected = None
    if lean is None:
        return        # deferred to authres
    header = authres.AuthenticationResultsHeader.parse_value(value)
    assert lean[0] == header.authserv_id
    assert _shape(lean[1]) == expected
    assert authresults.passes(lean[1]) == authresults.passes(header.results)


def test_lean_parser_handles_the_common_case():
    assert authresults._lean_parse(VALUES[1]) is not None
    assert authresults._lean_parse(VALUES[9]) is None


def test_our_plain_header_reads_back_through_the_lean_parser():
    from mailman_antibackscatter.auth import Status, Verdict, render_verdict
    v = Verdict(from_address='a@example.com', from_status=Status.PASS)
    value = render_verdict(v, 'lists.example.net')
    assert authresults._lean_parse(value) is not None
