"""A real program of a temporary home, as supervisord runs it, and the polls around it.

Every observation of the program is a poll with a generous deadline (CI runs on a loaded 2-core
machine); keys that appear later are read with `.get()`.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import threading
from pathlib import Path
from typing import Callable

from pipeline.core.filebus import atomic_write_bytes
from pipeline.core.paths import Home
from tests.kit.poll import poll
from tests.kit.programs import BETPIPE, health, log_lines, stop_program

DEADLINE_S = 60


class Program:
    """`betpipe <name>` with BETPIPE_HOME=home; its stdout comes through a pipe (as under
    supervisord) and is copied line by line to `log` by the test, so a file size limit put on
    the program (`limit_file_size`) does not apply to its log."""

    def __init__(self, name: str, home: Home, log: Path):
        self.name, self.home, self.log = name, home, log
        env = {**os.environ, "BETPIPE_HOME": str(home.root), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([BETPIPE, name], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, preexec_fn=_ignore_sigxfsz)
        self._copier = threading.Thread(target=self._copy, daemon=True)
        self._copier.start()

    def _copy(self) -> None:
        with open(self.log, "ab") as out:
            for line in self.proc.stdout:
                out.write(line)
                out.flush()

    def limit_file_size(self, limit: int | None) -> None:
        """The disk full (None: room again): no file the program writes may grow past `limit`
        bytes; write() fails with EFBIG there (SIGXFSZ is ignored)."""
        soft = resource.RLIM_INFINITY if limit is None else limit
        resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, (soft, resource.RLIM_INFINITY))

    def logs(self, event: str) -> list[dict]:
        return [r for r in log_lines(self.log) if r.get("event") == event]

    def count(self, event: str) -> int:
        return len(self.logs(event))

    def wait_log(self, event: str, n: int, what: str) -> dict:
        """The n-th log line of `event` (1-based), once it is there."""
        return poll(lambda: self.logs(event)[n - 1] if self.count(event) >= n else None,
                    DEADLINE_S, f"{self.name}: {what}", self.proc, self.log)

    def health(self) -> dict:
        return health(self.home, self.name)

    def wait_health(self, predicate: Callable[[dict], bool], what: str) -> dict:
        return poll(lambda: (h := self.health()) and predicate(h) and h, DEADLINE_S,
                    f"{self.name}: {what}", self.proc, self.log)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        code = stop_program(self.proc, timeout=DEADLINE_S)
        self._copier.join(10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._copier.join(10)
        self.proc.stdout.close()


def _ignore_sigxfsz() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def place_link(big: Path, target: Path) -> None:
    """Put the (huge) file `big` at `target` atomically, without copying it: a hard link in the
    unwatched .tmp sibling, renamed onto the target (as an atomic snapshot write arrives)."""
    tmp = target.parent / ".tmp" / f"{target.name}.huge"
    tmp.parent.mkdir(exist_ok=True)
    tmp.unlink(missing_ok=True)
    os.link(big, tmp)
    os.replace(tmp, target)


def write_bytes(target: Path, data: bytes) -> None:
    atomic_write_bytes(target, data)
