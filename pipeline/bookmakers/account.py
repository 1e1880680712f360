"""The live bookmaker's account and address, shared by the sandbox bookmaker program (which
accepts the account) and the browser bookmaker that execute drives (which logs in with it).

The account comes from the environment: `BETPIPE_SANDBOX_USER` and `BETPIPE_SANDBOX_PASSWORD`.
Passwords are compared in constant time and never kept anywhere but the `Credentials` object,
whose repr hides them. `bookmaker_url(config)`: config `execute.url`, else the sandbox's port.
"""
from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field
from typing import Mapping

from pipeline.core.config import Config

ENV_USER = "BETPIPE_SANDBOX_USER"
ENV_PASSWORD = "BETPIPE_SANDBOX_PASSWORD"


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
