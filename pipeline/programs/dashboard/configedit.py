"""Switching a session on or off from the dashboard: the token check. The config edit itself is
pipeline/core/configedit.py (shared with `betpipe session …`)."""
from __future__ import annotations

import hmac
import os

from pipeline.core.configedit import EditRefused, toggle_session  # noqa: F401  (the app's)

TOKEN_ENV = "BETPIPE_DASHBOARD_TOKEN"


def check_token(given: str | None, env=os.environ) -> str:
    """ok | disabled (no token set: writes off) | forbidden (missing or wrong; constant time)."""
    want = env.get(TOKEN_ENV)
    if not want:
        return "disabled"
    if given is None:
        return "forbidden"
    return "ok" if hmac.compare_digest(given.encode(), want.encode()) else "forbidden"
