"""The sandbox's one account and its login sessions (DESIGN: the sandbox; invariant 7).

The account comes from the environment: `BETPIPE_SANDBOX_USER` and `BETPIPE_SANDBOX_PASSWORD`
(the executor logs in with the same two variables). Without them the sandbox accepts a demo
account (user `demo`, password `demo`) and says so in its log — never printing a password.
A login sets an HttpOnly session cookie holding a random token; sessions live in the sandbox's
memory only, so a restarted sandbox has logged everyone out (the executor then logs in again).
The account itself (`Credentials`, the two variables) is `pipeline.bookmakers.account`, shared
with the browser bookmaker that logs in.
"""
from __future__ import annotations

import secrets
import threading
from typing import Mapping

from pipeline.bookmakers.account import (ENV_PASSWORD, ENV_USER, Credentials,  # noqa: F401
                                        missing_variables)

DEMO_USER = "demo"
_DEMO_PASSWORD = "demo"
COOKIE = "sandbox_session"
MAX_SESSIONS = 1000  # the oldest session goes first beyond this


def sandbox_account(env: Mapping[str, str] | None = None) -> tuple[Credentials, bool]:
    """(the account the sandbox accepts, whether it is the demo account)."""
    creds = Credentials.from_env(env)
    return (creds, False) if creds else (Credentials(DEMO_USER, _DEMO_PASSWORD), True)


class Sessions:
    """Login sessions: random token -> user, in memory."""

    def __init__(self, account: Credentials):
        self.account = account
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def login(self, user: str, password: str) -> str | None:
        """A new session token, or None when the credentials are wrong."""
        if not self.account.matches(user, password):
            return None
        token = secrets.token_urlsafe(24)
        with self._lock:
            while len(self._tokens) >= MAX_SESSIONS:
                self._tokens.pop(next(iter(self._tokens)))
            self._tokens[token] = user
        return token

    def user(self, token: str | None) -> str | None:
        if not token:
            return None
        with self._lock:
            return self._tokens.get(token)

    def logout(self, token: str | None) -> None:
        with self._lock:
            self._tokens.pop(token or "", None)

    def end_all(self) -> None:
        """Log everyone out (what a restart does)."""
        with self._lock:
            self._tokens.clear()
