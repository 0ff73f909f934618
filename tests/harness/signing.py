# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test helpers: DKIM keys, DKIM signatures and ARC seals (via dkimpy)."""

import base64
import functools
import time

import dkim
import nacl.encoding
import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ['generate_rsa_key', 'generate_ed25519_key', 'dkim_sign', 'arc_seal']


def _b(value):
    return value.encode('ascii') if isinstance(value, str) else value


@functools.lru_cache(maxsize=None)
def generate_rsa_key(bits=2048):
    """Return (private PEM bytes, DNS TXT value); cached per size.

    Sizes below 1024 bits are generated with the 'hazmat' API which refuses
    them in recent cryptography releases, so such keys are built from primes
    found here (tests only need them to be weak, not good)."""
    if bits >= 1024:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    else:
        key = _small_rsa_key(bits)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption())
    pub = key.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, 'v=DKIM1; k=rsa; p=' + base64.b64encode(pub).decode('ascii')


def _small_rsa_key(bits):
    import secrets

    def is_probable_prime(n):
        if n < 2:
            return False
        for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
            if n % p == 0:
                return n == p
        d, s = n - 1, 0
        while d % 2 == 0:
            d //= 2
            s += 1
        for _ in range(20):
            a = secrets.randbelow(n - 3) + 2
            x = pow(a, d, n)
            if x in (1, n - 1):
                continue
            for _ in range(s - 1):
                x = pow(x, 2, n)
                if x == n - 1:
                    break
            else:
                return False
        return True

    def prime(nbits):
        while True:
            c = secrets.randbits(nbits) | (1 << (nbits - 1)) | (1 << (nbits - 2)) | 1
            if is_probable_prime(c) and (c - 1) % 65537:
                return c

    e = 65537
    while True:
        p, q = prime(bits // 2), prime(bits - bits // 2)
        if p != q and (p * q).bit_length() == bits:
            break
    n = p * q
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p, q=q, d=d, dmp1=d % (p - 1), dmq1=d % (q - 1),
        iqmp=pow(q, -1, p), public_numbers=rsa.RSAPublicNumbers(e, n))
    try:
        return numbers.private_key(unsafe_skip_rsa_key_validation=True)
    except TypeError:
        # cryptography before 39 (Debian 12 has 38) always validates.
        return numbers.private_key()


def generate_ed25519_key():
    """Return (private key bytes as dkimpy wants them (base64), TXT value)."""
    signing_key = nacl.signing.SigningKey.generate()
    private = signing_key.encode(encoder=nacl.encoding.Base64Encoder)
    public = signing_key.verify_key.encode(encoder=nacl.encoding.Base64Encoder)
    return private, 'v=DKIM1; k=ed25519; p=' + public.decode('ascii')


class _TimedDKIM(dkim.DKIM):
    """dkimpy signer that can set t= and add x= (dkimpy has no option)."""
    timestamp = None
    expire = None

    def gen_header(self, fields, include_headers, canon_policy, header_name,
                   pk, standardize=False):
        if self.timestamp is not None:
            for i, (key, _value) in enumerate(fields):
                if key == b't':
                    fields[i] = (b't', str(int(self.timestamp)).encode('ascii'))
        if self.expire is not None:
            t = dict(fields).get(b't', str(int(time.time())).encode('ascii'))
            x = (b'x', str(int(t) + int(self.expire)).encode('ascii'))
            fields.insert([k for k, _v in fields].index(b'h'), x)
        return super().gen_header(fields, include_headers, canon_policy,
                                  header_name, pk, standardize)


def _linesep(raw):
    return b'\r\n' if b'\r\n' in raw[:4096] else b'\n'


def dkim_sign(raw, domain, selector, private_key, *, algorithm=b'rsa-sha256',
              length=False, expire_seconds=None, headers=None, timestamp=None,
              canonicalize=(b'relaxed', b'simple')):
    """Return raw with a DKIM-Signature header prepended."""
    linesep = _linesep(raw)
    signer = _TimedDKIM(raw, signature_algorithm=_b(algorithm), linesep=linesep)
    signer.timestamp = timestamp
    signer.expire = expire_seconds
    include = [_b(h) for h in headers] if headers else None
    sig = signer.sign(_b(selector), _b(domain), private_key,
                      canonicalize=canonicalize, include_headers=include,
                      length=length)
    return sig + raw


def arc_seal(raw, domain, selector, private_key, authserv_id, auth_results):
    """Add an ARC set.  ``auth_results`` is the A-R value *without* the
    authserv-id (e.g. 'spf=pass smtp.mailfrom=a@x.org; dkim=pass header.d=x.org');
    it is recorded as this sealer's ARC-Authentication-Results."""
    linesep = _linesep(raw)
    ar = ('Authentication-Results: %s; %s' % (authserv_id, auth_results)).encode('utf-8')
    # Sealed in CRLF form and given the message's line ending afterwards:
    # dkimpy before 1.1.5 (Debian 12 has 1.1.4) seals an LF message wrongly
    # (every verifier says fail); line endings are not part of what is
    # signed, so the seal is the same.
    tmp = (ar + linesep + raw).replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
    headers = dkim.arc_sign(tmp, _b(selector), _b(domain), private_key,
                            _b(authserv_id), linesep=b'\r\n')
    if not headers:
        raise ValueError('dkimpy refused to seal (no matching A-R?)')
    return b''.join(headers).replace(b'\r\n', linesep) + raw
