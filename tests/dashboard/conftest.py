"""Fixtures of the dashboard tests."""
from __future__ import annotations

import pytest

from tests.dashboard.homes import fill


@pytest.fixture
def filled(home):
    fill(home)
    return home
