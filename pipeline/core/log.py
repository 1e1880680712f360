"""Structured logs: one JSON object per line on stdout, which supervisord captures.

Values of secret environment variables (names containing PASSWORD, TOKEN, SECRET or KEY, and
BETPIPE_NOTIFY_URL) are masked in every line, so a credential never reaches a log (invariant 7).
"""
from __future__ import annotations

import os
import sys
import threading

import orjson

from pipeline.core.clock import real_now
from pipeline.core.timefmt import iso

_SECRET_MARKERS = ("PASSWORD", "TOKEN", "SECRET", "KEY")
# a secret whose variable's name does not say so: a Discord webhook's URL is its credential.
# (The bookmaker account's user name is a secret too, but a short common word: it is left out
# of log lines at the source rather than replaced in every path and word that contains it.)
_SECRET_NAMES = ("BETPIPE_NOTIFY_URL",)


def secret_values() -> list[str]:
    """Longest first, so a secret inside another (a token in a URL) cannot leave a part."""
    return sorted((v for k, v in os.environ.items()
                   if (k in _SECRET_NAMES or any(m in k.upper() for m in _SECRET_MARKERS))
                   and len(v) >= 4), key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    for value in secrets if secrets is not None else secret_values():
        text = text.replace(value, "***")
    return text


class Logger:
    def __init__(self, program: str, stream=None):
        self.program = program
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()
        self._secrets = secret_values()

    def _emit(self, level: str, event: str, fields: dict) -> None:
        record = {"ts": iso(real_now()), "level": level, "program": self.program,
                  "event": event, **fields}
        line = orjson.dumps(record, default=str).decode()
        line = redact(line, self._secrets)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def info(self, event: str, **fields) -> None:
        self._emit("info", event, fields)

    def warning(self, event: str, **fields) -> None:
        self._emit("warning", event, fields)

    def error(self, event: str, **fields) -> None:
        self._emit("error", event, fields)
