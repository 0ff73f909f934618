# SPDX-License-Identifier: GPL-3.0-or-later
"""The fuzz tier in the default test run: a fixed, derandomized number of
examples per property (FUZZ_EXAMPLES, default 40); ``make fuzz`` runs the
same properties for as long as asked."""

import os

import pytest
from hypothesis import HealthCheck, settings

from .properties import Context

FIXED = settings(
    max_examples=int(os.environ.get('FUZZ_EXAMPLES', '40')),
    derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=list(HealthCheck))


@pytest.fixture(scope='session')
def fuzz():
    ctx = Context()
    yield ctx
    ctx.close()
