# SPDX-License-Identifier: GPL-3.0-or-later
"""The ARC verifier overrides private dkimpy methods: a dkimpy that no
longer has them (or changed their parameters) must fail loudly."""

import dkim
import pytest

from mailman_antibackscatter.auth import Authenticator, arccheck


def test_installed_dkimpy_has_what_the_arc_verifier_overrides():
    arccheck.check_dkimpy()


def test_changed_parameters_fail_loudly(monkeypatch):
    monkeypatch.setattr(dkim.ARC, 'verify_sig_process',
                        lambda self, sig, include_headers, dnsfunc: False)
    with pytest.raises(RuntimeError, match='verify_sig_process'):
        arccheck.check_dkimpy()
    with pytest.raises(RuntimeError, match='unsupported dkimpy'):
        Authenticator()


def test_missing_function_fails_loudly(monkeypatch):
    monkeypatch.delattr(dkim, 'hash_headers')
    with pytest.raises(RuntimeError, match='dkim.hash_headers is gone'):
        arccheck.check_dkimpy()
