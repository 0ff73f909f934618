# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Message parsing: the header block, addresses and Received headers.

The raw header block is parsed once, keeping byte offsets, so that every
later step (DKIM, stamping) works on the bytes as received.
"""

import datetime
import email.utils
import ipaddress
import re

from .psl import normalize_domain

__all__ = ['Header', 'parse_headers', 'parse_received', 'parse_address',
           'parse_from', 'parse_received_spf', 'domain_of',
           'normalize_mail_from', 'received_time', 'MAX_FROM_BYTES']

# A From field longer than this is not parsed (the stdlib's address parser
# is super-linear on some inputs); a real one, even with a long encoded
# display name, is far shorter.
MAX_FROM_BYTES = 4096


class Header:
    """One header field: name, unfolded str value and its raw byte span.

    The value may be given as the raw value bytes instead (``raw_value``);
    it is then decoded and unfolded on first use (most headers of a message
    are never looked at)."""
    __slots__ = ('name', 'lname', '_value', '_raw_value', 'start', 'end')

    def __init__(self, name, value, start, end, raw_value=None):
        self.name = name
        self.lname = name.lower()
        self._value = value
        self._raw_value = raw_value
        self.start = start
        self.end = end

    @property
    def value(self):
        value = self._value
        if value is None:
            value = self._value = _UNFOLD.sub(
                '', _decode(self._raw_value).rstrip('\r\n')).strip()
            self._raw_value = None
        return value

    def __repr__(self):
        return '<Header %s: %r>' % (self.name, self.value[:40])


_FIELD_NAME = re.compile(rb'([\x21-\x39\x3b-\x7e]+)[ \t]*:')
_UNFOLD = re.compile(r'\r?\n(?=[ \t])')


def _decode(value):
    try:
        return value.decode('utf-8')
    except UnicodeDecodeError:
        return value.decode('latin-1')


def parse_headers(raw):
    """Return (headers, body_offset, linesep, problems).

    headers: list of Header in order; body_offset: index of the first body
    byte (len(raw) if there is no body); problems: list of strings describing
    malformed lines (those lines are kept inside the previous header's span
    so that the bytes are never lost).
    """
    headers = []
    problems = []
    linesep = b'\r\n' if b'\r\n' in raw[:4096] else b'\n'
    pos = 0
    n = len(raw)
    current = None  # [name, start, value_start]
    body_offset = n

    def finish(end):
        name, start, vstart = current
        headers.append(Header(name, None, start, end, raw[vstart:end]))

    while pos < n:
        eol = raw.find(b'\n', pos)
        line_end = n if eol < 0 else eol + 1
        stripped = raw[pos:line_end].rstrip(b'\r\n')
        if not stripped:
            body_offset = line_end
            break
        if b'\r' in stripped:
            # Python's parser (Mailman's) ends a line there too: the door
            # and Mailman would read different headers.
            problems.append('bare CR in header line %r' % stripped[:40])
        if stripped[:1] in (b' ', b'\t'):
            if current is None:
                problems.append('continuation line before the first header')
        else:
            m = _FIELD_NAME.match(stripped)
            if m is None:
                if pos == 0 and stripped.startswith(b'From '):
                    pos = line_end
                    continue
                problems.append('malformed header line %r' % stripped[:40])
            else:
                if current is not None:
                    finish(pos)
                current = [m.group(1).decode('ascii'), pos, pos + m.end()]
        pos = line_end
    if current is not None:
        finish(pos)
    return headers, body_offset, linesep, problems


def parse_address(value):
    """Return the single lowercased addr-spec in a From-like value or None
    (also for a value over MAX_FROM_BYTES: getaddresses is super-linear)."""
    if len(value) > MAX_FROM_BYTES:
        return None
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:
        return None
    addrs = [addr for _name, addr in pairs if addr]
    if len(addrs) != 1:
        return None
    addr = addrs[0].strip().lower()
    local, at, domain = addr.rpartition('@')
    if not at or not local or not domain.strip('.'):
        return None
    try:
        ace = domain.strip('.').encode('idna').decode('ascii')
    except UnicodeError:
        return None
    if not all(_LABEL.match(label) for label in ace.split('.')):
        return None
    return addr


_LABEL = re.compile(r'^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$')


def parse_from(raw, headers):
    """Return (address, problem) for the author of a message.

    address is the single valid address of the only From header, else None
    and problem says why (a From header that is not UTF-8 counts as
    invalid)."""
    from_headers = [h for h in headers if h.lname == 'from']
    if not from_headers:
        return None, 'message has no From header'
    if len(from_headers) > 1:
        return None, 'message has %d From headers' % len(from_headers)
    header = from_headers[0]
    if header.end - header.start > MAX_FROM_BYTES:
        return None, 'From header longer than %d bytes' % MAX_FROM_BYTES
    try:
        raw[header.start:header.end].decode('utf-8')
        address = parse_address(header.value)
    except UnicodeDecodeError:
        address = None
    if address is None:
        return None, 'From header does not hold exactly one valid address'
    return address, None


def domain_of(address):
    """The normalized domain of an address (or of a bare domain); ''."""
    if not address or '@' not in address:
        return normalize_domain(address) if address else ''
    return normalize_domain(address.rpartition('@')[2])


def normalize_mail_from(mail_from):
    """The envelope sender as we compare it: lower case, without <>."""
    if mail_from is None:
        return None
    if isinstance(mail_from, bytes):
        mail_from = mail_from.decode('utf-8', 'replace')
    mail_from = mail_from.strip()
    if mail_from.startswith('<') and mail_from.endswith('>'):
        mail_from = mail_from[1:-1].strip()
    return mail_from.lower()


# -- Received ----------------------------------------------------------------

# Words that may follow the from-clause of a Received header (RFC 5321
# section 4.4); anything else there makes the clause unreadable.
_AFTER_FROM = frozenset(('by', 'via', 'with', 'id', 'for'))
_BRACKET_IP = re.compile(r'\[(?:IPv6:)?([0-9A-Fa-f:.]+)\](?::\d+)?', re.I)
# Exim's words inside its TCP info that the client chose.
_CLIENT_WORDS = re.compile(r'(?:helo|ident)=\S*', re.I)
_HELO_EQ = re.compile(r'helo=([^\s()]+)', re.I)
_COMMENTS = re.compile(r'\([^()]*\)')
# Longest comment read in a from-clause; TCP info is far shorter.
_MAX_COMMENT = 1000


def _ip(text):
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip)


def _comment_at(text, pos):
    """(inner text without nested comments, end) of the comment starting
    at text[pos] == '(', or (None, pos) if it is unterminated or long."""
    depth, index, inner = 0, pos, []
    limit = min(len(text), pos + _MAX_COMMENT)
    while index < limit:
        char = text[index]
        if char == '\\':
            index += 2
            continue
        if char == '(':
            depth += 1
        elif char == ')':
            depth -= 1
            if depth == 0:
                return ''.join(inner), index + 1
        elif depth == 1:
            inner.append(char)
        index += 1
    return None, pos


def _from_clause(value):
    """(first word, [comments]) of a Received from-clause, or None when the
    value has no from-clause or one we cannot read."""
    text = value.lstrip()
    if text[:4].lower() != 'from' or text[4:5] not in (' ', '\t'):
        return None
    pos = len(text) - len(text[4:].lstrip())
    end = pos
    while end < len(text) and not text[end].isspace() and text[end] != '(':
        end += 1
    first = text[pos:end]
    comments = []
    pos = end
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text) or text[pos] == ';':
            break
        if text[pos] == '(':
            inner, pos = _comment_at(text, pos)
            if inner is None:
                return None
            comments.append(inner)
            continue
        word = text[pos:pos + 5].split(None, 1)[0].lower()
        if word not in _AFTER_FROM:
            return None
        break
    return first, comments


def parse_received(value):
    """Return (ip, helo) of the client a Received value records, or
    (None, None) if it records none we can be sure of.

    The address is read only from what the receiving MTA wrote itself, its
    TCP info: ``from HELO (rdns [IP])`` (Postfix, Sendmail), ``from rdns
    ([IP]:port helo=HELO)`` or ``from [IP] (helo=HELO)`` (Exim), ``from
    NAME (IP)`` (Exchange).  The HELO name is the client's choice and is
    never read as the address; TCP info naming two addresses names none.
    """
    clause = _from_clause(value)
    if clause is None or not clause[0]:
        return None, None
    first, comments = clause
    tcp_info = comments[0] if comments else ''
    m_helo = _HELO_EQ.search(tcp_info)
    helo = m_helo.group(1) if m_helo else first
    found = _BRACKET_IP.findall(_CLIENT_WORDS.sub(' ', tcp_info))
    if len(found) > 1:
        return None, None
    if found:
        ip = _ip(found[0])
    elif _ip(tcp_info.strip()):
        ip = _ip(tcp_info.strip())          # Exchange
    elif _BRACKET_IP.fullmatch(first):
        # Exim without a host name writes the address first; its TCP info
        # then has no address of its own.
        ip = _ip(_BRACKET_IP.fullmatch(first).group(1))
        helo = m_helo.group(1) if m_helo else None
    else:
        ip = None
    if not ip:
        return None, None
    return ip, helo or None


def received_time(value):
    """The POSIX time a Received value ends with (after its last ';'),
    or None if it has no date we can read."""
    date = value.rpartition(';')[2].strip()
    if not date or len(date) > 100:
        return None
    try:
        when = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        # -0000 (RFC 5322: UTC, local zone unknown), or no zone at all
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


# A Received-SPF value is the result, a comment and key=value pairs
# (RFC 7208 9.1).  Our hosts write short ones; anything past these bounds
# is not looked at.
MAX_RECEIVED_SPF_CHARS = 4096
MAX_RECEIVED_SPF_PAIRS = 32

# One token each, consumed left to right, so the scan is linear: a quoted
# string, a comment, a run of anything else but white space, '=', ';', '"'
# and '(' , or one of those characters.
_RSPF_TOKEN = re.compile(r'"[^"]*"?|\([^()]*\)?|[^\s=;"(]+|\s+|.', re.S)
_RSPF_KEY = re.compile(r'[A-Za-z][A-Za-z0-9_-]*\Z')


def parse_received_spf(value):
    """Return (result, {key: value}) for a Received-SPF value; the first
    of repeated keys counts.  Linear in the length of the value, and only
    its first MAX_RECEIVED_SPF_CHARS characters are read."""
    tokens = [t for t in _RSPF_TOKEN.findall(value[:MAX_RECEIVED_SPF_CHARS])
              if not t[:1].isspace() and t[:1] != '(']
    result = ''
    if tokens and tokens[0].isalpha() and tokens[0].isascii():
        result = tokens.pop(0).lower()
    pairs = {}
    index = 0
    while index + 2 < len(tokens) and len(pairs) < MAX_RECEIVED_SPF_PAIRS:
        key, equals, pvalue = tokens[index:index + 3]
        if equals == '=' and _RSPF_KEY.match(key) and pvalue not in '=;':
            pairs.setdefault(key.lower(), pvalue.strip('"'))
            index += 3
        else:
            index += 1
    return result, pairs
