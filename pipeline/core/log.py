"""Structured logs: one JSON object per line on stdout, which supervisord captures.

Every line has `ts`, `level` (debug|info|warning|error), `program` and `event`, then the event's
fields. Lines below the config's `log_level` are dropped. `bridge` routes the rest of the process
through the same shape: stdlib `logging` records (uvicorn, watchdog, filelock, asyncio…) become
event `log` with `logger` and `message`; uncaught exceptions (main thread, other threads, objects
being collected) become event `uncaught` / `unraisable`. An exception is always one line: `error`
("Type: message"), `trace` (the innermost frames, `file:line function` joined by " < ") and
`cause` when it was raised from another one.

Values of secret environment variables (names containing PASSWORD, TOKEN, SECRET or KEY, and
BETPIPE_NOTIFY_URL) are masked in every line, so a credential never reaches a log (invariant 7).

`OncePerReason` logs a repeated error once per reason (see its docstring).
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import traceback

import orjson

from pipeline.core.clock import real_now
from pipeline.core.timefmt import iso

LEVELS = ("debug", "info", "warning", "error")
_RANK = {name: i for i, name in enumerate(LEVELS)}
_STDLIB = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}
TRACE_FRAMES = 8  # innermost frames kept in `trace`
MAX_ERROR_CHARS = 2000  # a message longer than this (a browser's call log) is cut

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


def _as_in_json(secrets: list[str]) -> list[str]:
    """Each secret as it is written inside a JSON string too (a quote or backslash escaped)."""
    out = set(secrets)
    out.update(orjson.dumps(s).decode()[1:-1] for s in secrets)
    return sorted(out, key=len, reverse=True)


def _where(filename: str) -> str:
    """A frame's file, short: from the package folder or site-packages on, else its name."""
    for marker in ("/site-packages/", "/pipeline/", "/tests/"):
        at = filename.rfind(marker)
        if at >= 0:
            return filename[at + 1:] if marker != "/site-packages/" else \
                filename[at + len(marker):]
    return os.path.basename(filename)


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "…"


def exception_fields(exc: BaseException) -> dict:
    """`error`, `trace` (innermost frame first) and `cause`: an exception as fields of one line."""
    frames = traceback.extract_tb(exc.__traceback__)[-TRACE_FRAMES:]
    fields = {"error": describe(exc),
              "trace": " < ".join(f"{_where(f.filename)}:{f.lineno} {f.name}"
                                  for f in reversed(frames))}
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if cause is not None:
        fields["cause"] = describe(cause)
    return fields


class Logger:
    def __init__(self, program: str, stream=None, level: str = "info"):
        self.program = program
        self.stream = stream  # None: the sys.stdout of the moment
        self._lock = threading.Lock()
        self._secrets = _as_in_json(secret_values())
        self.set_level(level)

    def set_level(self, level: str) -> None:
        """Drop lines below `level`; stdlib records too, while this Logger is the bridge's."""
        self.level = level
        self._min = _RANK[level]
        if _bridge.log is self:
            logging.getLogger().setLevel(_STDLIB[level])

    def enabled(self, level: str) -> bool:
        return _RANK[level] >= self._min

    def _emit(self, level: str, event: str, fields: dict) -> None:
        if _RANK[level] < self._min:
            return
        record = {"ts": iso(real_now()), "level": level, "program": self.program,
                  "event": event, **fields}
        line = orjson.dumps(record, default=str).decode()
        line = redact(line, self._secrets)
        with self._lock:
            stream = self.stream or sys.stdout
            stream.write(line + "\n")
            stream.flush()

    def debug(self, event: str, **fields) -> None:
        self._emit("debug", event, fields)

    def info(self, event: str, **fields) -> None:
        self._emit("info", event, fields)

    def warning(self, event: str, **fields) -> None:
        self._emit("warning", event, fields)

    def error(self, event: str, **fields) -> None:
        self._emit("error", event, fields)


class OncePerReason:
    """An error logged once per reason, for a loop that meets the same failure on every pass.

    `failed(reason)` logs `event` the first time a reason is seen and stays quiet while the same
    reason repeats; a different reason is logged again, and `cleared()` logs `recovered` (default
    `<event>.cleared`) when a reason was in force. The line after a quiet stretch carries
    `suppressed`: how many times the reason before it repeated unlogged. Both return True when
    they wrote a line. Thread-safe.
    """

    def __init__(self, log: Logger, event: str, *, recovered: str | None = None,
                 level: str = "error"):
        self.log, self.event, self.level = log, event, level
        self.recovered = recovered or f"{event}.cleared"
        self.reason: str | None = None
        self.suppressed = 0
        self._lock = threading.Lock()

    def failed(self, reason: str, **fields) -> bool:
        with self._lock:
            if reason == self.reason:
                self.suppressed += 1
                return False
            extra = {} if self.reason is None else {"suppressed": self.suppressed}
            self.reason, self.suppressed = reason, 0
        self.log._emit(self.level, self.event, {"reason": reason, **fields, **extra})
        return True

    def cleared(self, **fields) -> bool:
        with self._lock:
            if self.reason is None:
                return False
            reason, suppressed = self.reason, self.suppressed
            self.reason, self.suppressed = None, 0
        self.log._emit("info", self.recovered, {"reason": reason, **fields,
                                               "suppressed": suppressed})
        return True


# -- the bridge: stdlib logging and uncaught exceptions through one Logger ----------------------
class _Handler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        log = _bridge.log
        if log is None:
            return
        try:
            message = record.getMessage().rstrip()
        except Exception:  # a call whose arguments do not fit its format
            message = f"{record.msg!r} % {record.args!r}"
        level = ("error" if record.levelno >= logging.ERROR else
                 "warning" if record.levelno >= logging.WARNING else
                 "info" if record.levelno >= logging.INFO else "debug")
        fields = {"logger": record.name, "message": message}
        if record.exc_info and record.exc_info[1] is not None:
            fields.update(exception_fields(record.exc_info[1]))
        try:
            log._emit(level, "log", fields)
        except Exception:  # a closed stream at exit: nothing sensible left to say
            pass

    def handleError(self, record) -> None:  # never a multi-line "--- Logging error ---"
        pass


class _Bridge:
    def __init__(self):
        self.log: Logger | None = None
        self.handler = _Handler()
        self.saved: tuple | None = None

    def uncaught(self, exc_type, exc, tb) -> None:
        if self.log is None or exc is None:
            return
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        self.log.error("uncaught", thread=threading.current_thread().name,
                       **exception_fields(exc))

    def thread_uncaught(self, args) -> None:
        if args.exc_type is SystemExit or self.log is None or args.exc_value is None:
            return  # as the default hook: a thread's SystemExit ends it quietly
        self.log.error("uncaught", thread=args.thread.name if args.thread else None,
                       **exception_fields(args.exc_value))

    def unraisable(self, u) -> None:
        if self.log is None or u.exc_value is None:
            return
        try:
            where = repr(u.object)
        except Exception:
            where = type(u.object).__name__
        self.log.warning("unraisable", message=u.err_msg or "Exception ignored in", object=where,
                         **exception_fields(u.exc_value))


_bridge = _Bridge()


def bridge(log: Logger) -> None:
    """Route this process's stdlib logging, warnings and uncaught exceptions through `log`.

    The root logger gets the one JSON handler (others are removed: no plain-text copy) at
    `log`'s level; the last call wins. `unbridge(log)` puts the previous hooks back.
    """
    root = logging.getLogger()
    if _bridge.saved is None:
        _bridge.saved = (sys.excepthook, threading.excepthook, sys.unraisablehook,
                         list(root.handlers), root.level)
    _bridge.log = log
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(_bridge.handler)
    root.setLevel(_STDLIB[log.level])
    logging.captureWarnings(True)  # warnings.warn -> logger "py.warnings"
    sys.excepthook = _bridge.uncaught
    threading.excepthook = _bridge.thread_uncaught
    sys.unraisablehook = _bridge.unraisable


def unbridge(log: Logger) -> None:
    if _bridge.log is not log or _bridge.saved is None:
        return
    root = logging.getLogger()
    sys.excepthook, threading.excepthook, sys.unraisablehook, handlers, level = _bridge.saved
    root.removeHandler(_bridge.handler)
    root.setLevel(level)
    for h in handlers:
        root.addHandler(h)
    logging.captureWarnings(False)
    _bridge.log, _bridge.saved = None, None
