"""The live bookmaker's account and address, shared by the sandbox bookmaker program (which
accepts the account) and the browser bookmaker that execute drives (which logs in with it).

The account comes from the environment: `BETPIPE_SANDBOX_USER` and `BETPIPE_SANDBOX_PASSWORD`
(`credentials_problem` says exactly which is missing, never a value).
Passwords are compared in constant time and never kept anywhere but the `Credentials` object,
whose repr hides them. `bookmaker_url(config)`: config `execute.url`, else the sandbox's port; `sandbox_history(url)`:
every bet the site accepted, over HTTP (no login, no browser: reconciliation reads it).
"""
from __future__ import annotations

import hmac
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Mapping

import orjson

from pipeline.bookmakers import HistoryUnavailable
from pipeline.core.config import Config

ENV_USER = "BETPIPE_SANDBOX_USER"
ENV_PASSWORD = "BETPIPE_SANDBOX_PASSWORD"
HISTORY_TIMEOUT_S = 10.0


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


def bookmaker_url(config: Config) -> str:
    return (config.execute.url or f"http://127.0.0.1:{config.sandbox.port}").rstrip("/")


def credentials_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why live mode cannot log in (which variables are missing), None when it can."""
    missing = missing_variables(env)
    if not missing:
        return None
    names = " and ".join(f"${m}" for m in missing)
    return (f"mode 'live' needs the bookmaker's credentials in the environment, and {names} "
            f"{'is' if len(missing) == 1 else 'are'} not set: nothing is placed. Set them in "
            f"the environment execute starts in and restart it, or set mode 'paper'")


def sandbox_history(url: str, timeout: float = HISTORY_TIMEOUT_S) -> list[dict]:
    """Every bet the sandbox accepted, from its JSON view `GET {url}/api/bets`."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/api/bets", timeout=timeout) as resp:
            doc = orjson.loads(resp.read())
    except (urllib.error.URLError, OSError, orjson.JSONDecodeError) as e:
        raise HistoryUnavailable(f"GET {url}/api/bets: {type(e).__name__}: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("bets"), list):
        raise HistoryUnavailable(f"GET {url}/api/bets: no list of bets in the answer")
    return doc["bets"]
