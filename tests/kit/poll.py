"""The one way a test waits: poll a predicate until it holds or a generous deadline passes."""
from __future__ import annotations

import time
from pathlib import Path

DEADLINE_S = 30.0  # a default that a loaded 2-core machine still meets


def poll(predicate, deadline_s: float = DEADLINE_S, what: str = "a condition", proc=None,
         log=None, *, every: float = 0.05):
    """Call `predicate` every `every` s until it returns something truthy, and return that.

    Fails (AssertionError naming `what`) after `deadline_s`, or at once when `proc` (anything
    with `.poll()`, e.g. a Popen) has exited. The failure shows `log`: a log file's tail, the
    tails of every *.log in a folder, or the text a callable returns; without `log`, a `proc`
    with a `log_path` shows that file, and an exited one with a piped stdout shows its output.
    """
    deadline = time.monotonic() + deadline_s
    exited = None
    while True:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            exited = proc.poll()
            break
        if time.monotonic() >= deadline:
            break
        time.sleep(every)
    why = (f"the process exited ({exited}) while waiting for {what}" if exited is not None
           else f"timed out after {deadline_s}s waiting for {what}")
    raise AssertionError(f"{why}\n{_tail(log, proc)}")


def _tail(log, proc) -> str:
    if log is None and proc is not None:
        log = getattr(proc, "log_path", None)
        if log is None and getattr(proc, "stdout", None) is not None and proc.poll() is not None:
            try:
                return str(proc.stdout.read())[-3000:]
            except (OSError, ValueError):
                return ""
    if callable(log):
        return str(log())
    if isinstance(log, Path):
        if log.is_dir():
            return str({p.name: p.read_text()[-1500:] for p in sorted(log.glob("*.log"))})
        if log.exists():
            return log.read_text()[-3000:]
    return ""
