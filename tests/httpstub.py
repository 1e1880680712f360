"""Moved to tests/kit/http.py; this name stays for branches in flight. Import tests.kit."""
from tests.kit.http import Quiet, only, reply, serve  # noqa: F401
