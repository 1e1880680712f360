"""One base for betpipe's own exceptions, and what "never reached the bookmaker" means.

`BetpipeError(message, file=..., field=..., reason=...)`: each of file / field / reason is
optional (None when it does not apply); `reason` defaults to the message. Without a message,
str() is "file: field: reason" of those given. Every exception class of pipeline/ derives from
it; those that callers catch as a builtin keep that base too, after it
(`class BadFile(BetpipeError, ValueError)`), and every message stays as it was.

Never reached the bookmaker: an attempt that failed before anything was sent (no page touched,
no request made, or the executor died before the call) certainly placed no bet. Its BET_FAILED
line says so by the start of its `reason` (one of NEVER_REACHED; the contract's lines keep the
prefix), `never_reached(reason)` reads it back, and in code it is the exception `NotPlaced`
(its `kind` the prefix) or `Placement.never_reached`.
"""
from __future__ import annotations

# BET_FAILED reasons (prefixes) of attempts that never reached the bookmaker: the executor died
# before the call (reconciled as not found), or the site could not be reached before the bet
# was sent. They count towards no MaxAttempts limit but MAX_TRIES (strategies.controls).
UNREACHABLE = "unreachable"  # a bookmaker answer: nothing was sent (backoff, then a probe)
NOT_FOUND = "not_found_on_reconcile"  # the bookmaker never had the bet
BROWSER_ERROR = "browser_error"  # no page could be had, or it failed before the click
NEVER_REACHED = (NOT_FOUND, BROWSER_ERROR, UNREACHABLE)


def never_reached(reason: object) -> bool:
    """A BET_FAILED reason of an attempt that never reached the bookmaker."""
    return str(reason or "").startswith(NEVER_REACHED)


class BetpipeError(Exception):
    """The base of every betpipe exception: names the file, the field and the reason where
    they are known."""
    file: str | None = None
    field: str | None = None
    reason: str | None = None

    def __init__(self, *args, file=None, field=None, reason=None):
        if not args and (file, field, reason) != (None, None, None):
            args = (": ".join(str(p) for p in (file, field, reason) if p is not None),)
        super().__init__(*args)
        self.file = None if file is None else str(file)
        self.field = field
        self.reason = reason if reason is not None else (str(args[0]) if args else None)


class NotPlaced(BetpipeError):
    """The attempt never reached the bookmaker, so it certainly placed no bet: `kind` is the
    reason prefix its BET_FAILED line carries (one of NEVER_REACHED), `failure` that line's
    reason ("kind: message", or the kind alone without a message)."""
    kind = BROWSER_ERROR

    def __init__(self, *args, kind: str | None = None, **kw):
        super().__init__(*args, **kw)
        if kind is not None:
            if kind not in NEVER_REACHED:
                raise ValueError(f"NotPlaced kind {kind!r} is none of {NEVER_REACHED}")
            self.kind = kind

    @property
    def failure(self) -> str:
        text = str(self)
        return f"{self.kind}: {text}" if text else self.kind
