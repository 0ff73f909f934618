# SPDX-License-Identifier: GPL-3.0-or-later
"""Every property of tests/fuzz/properties.py, for a fixed number of
examples."""

import pytest

from .conftest import FIXED
from .properties import PROPERTIES


@pytest.mark.parametrize('prop', PROPERTIES, ids=lambda p: p.__name__)
def test_property(fuzz, prop):
    FIXED(prop)(fuzz)
