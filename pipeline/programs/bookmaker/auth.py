"""The sandbox's one account and its login sessions (DESIGN: the sandbox; invariant 7).

The account comes from the environment: `BETPIPE_SANDBOX_USER` and `BETPIPE_SANDBOX_PASSWORD`
(the executor logs in with the same two variables). Without them the sandbox accepts a demo
account (user `demo`, password `demo`) and says so in its log — never printing a password.
A login sets an HttpOnly session cookie holding a random token; sessions live in the sandbox's
memory only, so a restarted sandbox has logged everyone out (the executor then logs in again).
Passwords are compared in constant time and never kept anywhere but the `Credentials` object,
whose repr hides them.
"""
from __future__ import annotations

import hmac
import os
import secrets
import threading
from dataclasses import dataclass, field
from typing import Mapping

ENV_USER = "BETPIPE_SANDBOX_USER"
ENV_PASSWORD = "BETPIPE_SANDBOX_PASSWORD"
DEMO_USER = "demo"
_DEMO_PASSWORD = "demo"
COOKIE = "sandbox_session"
MAX_SESSIONS = 1000  # the oldest session goes first beyond this


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Credentials | None":
        """The account named by the environment; None unless both variables are set."""
        env = os.environ if env is None else env
        user, password = env.get(ENV_USER, ""), env.get(ENV_PASSWORD, "")
        return cls(user, password) if user and password else None

    def matches(self, user: str, password: str) -> bool:
        ok_user = hmac.compare_digest(user.encode(), self.user.encode())
        ok_password = hmac.compare_digest(password.encode(), self.password.encode())
        return ok_user and ok_password


def missing_variables(env: Mapping[str, str] | None = None) -> list[str]:
    """Which of the two account variables are unset or empty."""
    env = os.environ if env is None else env
    return [name for name in (ENV_USER, ENV_PASSWORD) if not env.get(name)]


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
