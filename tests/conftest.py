"""Fixtures shared by every test."""
from __future__ import annotations

import pytest

from pipeline.core.paths import Home


@pytest.fixture
def home(tmp_path) -> Home:
    """A fresh temporary BETPIPE_HOME with its folders."""
    return Home(tmp_path / "home").ensure()
