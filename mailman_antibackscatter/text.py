# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""One line of bounded length from text a message or DNS supplied.

Every such string (a DKIM d= or s=, a reason built from them, a
Message-ID, an address, a Subject, an XFORWARD value) passes through
one_line() before it reaches a log line, the owners' summary, REST or
Postorius, so that it can neither add lines of its own (a fake log entry,
a second "moderate them at" link) nor grow without bound.  No Mailman
imports: auth/ and web/ use it too.
"""

__all__ = ['MAX_LENGTH', 'one_line']

# Long enough for a verdict reason naming a few signatures, short enough
# that a hostile value cannot make a log line or a summary entry huge.
MAX_LENGTH = 300


def one_line(value, limit=MAX_LENGTH):
    """*value* (str, bytes or anything else) as one line of at most *limit*
    characters: every run of whitespace and non-printable characters (CR,
    LF, other controls, Unicode line and paragraph separators) becomes one
    space, and a longer text ends in '...'.  Linear in *limit*."""
    if value is None:
        return ''
    if isinstance(value, bytes):
        value = value[:limit * 4].decode('utf-8', 'replace')
    text = str(value)[:limit * 4]
    text = ''.join(ch if ch.isprintable() else ' ' for ch in text)
    text = ' '.join(text.split())
    if len(text) > limit:
        text = text[:max(limit - 3, 0)] + '...'
    return text
