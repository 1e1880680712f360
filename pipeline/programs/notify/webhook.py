"""Delivering a message to a Discord or Telegram webhook: the target, one POST, the rate limit
and the backoff. The URL of a Discord webhook and Telegram's bot token are secrets: they come
from the environment (or, for the URL, config `notify.url`) and never appear in a log line,
a data file or an error this module returns — logs name the target by `label` (its host).
"""
from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping
from urllib.parse import urlsplit

import orjson

from pipeline.core.config import NotifyConfig
from pipeline.core.errors import BetpipeError

URL_ENV = "BETPIPE_NOTIFY_URL"
TELEGRAM_TOKEN_ENV = "BETPIPE_TELEGRAM_TOKEN"
TELEGRAM_CHAT_ENV = "BETPIPE_TELEGRAM_CHAT"
TELEGRAM_API = "https://api.telegram.org"
TIMEOUT_S = 10.0
BACKOFF_BASE_S, BACKOFF_CAP_S = 0.5, 60.0


class TargetError(BetpipeError, ValueError):
    """Notifications are asked for but cannot be sent: says what is missing."""


@dataclass(frozen=True)
class Target:
    kind: str  # discord | telegram
    url: str  # where to POST (secret)
    chat_id: str | None
    label: str  # what logs and pages may show
    secrets: tuple[str, ...]

    def __repr__(self) -> str:  # never print the URL by accident
        return f"Target({self.kind}, {self.label})"


def target_from(cfg: NotifyConfig, env: Mapping[str, str] = os.environ) -> Target | None:
    """The webhook to post to; None when none is configured (notifications off)."""
    url = env.get(URL_ENV) or cfg.url
    if cfg.kind == "discord":
        if not url:
            return None
        return Target("discord", url, None, _label("discord", url), (url,))
    token = env.get(TELEGRAM_TOKEN_ENV)
    chat = cfg.chat_id or env.get(TELEGRAM_CHAT_ENV)
    if not token:
        if url or chat:
            raise TargetError(f"notify.kind telegram needs the bot token in ${TELEGRAM_TOKEN_ENV}")
        return None
    if not chat:
        raise TargetError(f"notify.kind telegram needs notify.chat_id or ${TELEGRAM_CHAT_ENV}")
    base = (url or TELEGRAM_API).rstrip("/")
    return Target("telegram", f"{base}/bot{token}/sendMessage", chat, _label("telegram", base),
                  (token,) + ((url,) if url else ()))


def _label(kind: str, url: str) -> str:
    return f"{kind} at {urlsplit(url).hostname or '?'}"


def payload(target: Target, text: str) -> dict:
    if target.kind == "telegram":  # plain text: no parse_mode, so names cannot inject markup
        return {"chat_id": target.chat_id, "text": text, "disable_web_page_preview": True}
    return {"content": text, "allowed_mentions": {"parse": []}}  # no @everyone from a team name


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None  # HTTP status; None when no answer came
    retry_after: float | None = None  # seconds the server asked us to wait (429)
    detail: str = ""


def _retry_after(headers, body: bytes) -> float | None:
    value = headers.get("Retry-After") if headers else None
    try:
        doc = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        doc = {}
    if isinstance(doc, dict):
        value = doc.get("retry_after") or (doc.get("parameters") or {}).get("retry_after") or value
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def redact(text: str, target: Target) -> str:
    for secret in target.secrets:
        text = text.replace(secret, "***")
    return text


def post(target: Target, text: str, timeout: float = TIMEOUT_S) -> Outcome:
    """One POST of `text`; never raises for a network or HTTP problem."""
    req = urllib.request.Request(target.url, data=orjson.dumps(payload(target, text)),
                                 headers={"Content-Type": "application/json",
                                          "User-Agent": "betpipe-notify"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Outcome(True, resp.status)
    except urllib.error.HTTPError as e:
        body = e.read() if e.fp else b""
        after = _retry_after(e.headers, body) if e.code == 429 else None
        return Outcome(False, e.code, after, redact(f"HTTP {e.code} {e.reason}", target))
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return Outcome(False, None, None, redact(f"{type(e).__name__}: {reason}", target))


def backoff_s(failures: int) -> float:
    """Real seconds before retry number `failures` (>= 1): 0.5, 1, 2, … capped at 60."""
    return min(BACKOFF_BASE_S * 2 ** max(0, failures - 1), BACKOFF_CAP_S)


class RateLimiter:
    """A token bucket: `burst` messages at once, then `per_minute` a minute."""

    def __init__(self, per_minute: float, burst: int, now: datetime):
        self.rate, self.capacity = per_minute / 60.0, float(burst)
        self.tokens, self.at = float(burst), now

    def _refill(self, now: datetime) -> None:
        elapsed = max(0.0, (now - self.at).total_seconds())
        self.tokens, self.at = min(self.capacity, self.tokens + elapsed * self.rate), now

    def wait_s(self, now: datetime) -> float:
        """0 when a message may go now, else the real seconds until it may."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: datetime) -> None:
        self._refill(now)
        self.tokens -= 1
