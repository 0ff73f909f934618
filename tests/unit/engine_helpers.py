# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared helpers for the engine unit tests."""

import email.utils


def make_message(from_='Alice <alice@example.com>', to='list@lists.example.net',
                 subject='Hello', body='Hello world.\r\n', extra=(),
                 linesep='\r\n'):
    lines = list(extra)
    if from_ is not None:
        lines.append('From: %s' % from_)
    lines += ['To: %s' % to, 'Subject: %s' % subject,
              'Date: %s' % email.utils.formatdate(1700000000),
              'Message-ID: <1234@example.com>']
    text = linesep.join(lines) + linesep + linesep + body.replace('\r\n', linesep)
    return text.encode('utf-8')
