"""What every program shares: home, log, health, clock, config, one scheduler, clean shutdown.

The log is the process's only output: stdlib logging and uncaught exceptions go through it as
JSON lines too (`log.bridge`), at the config's `log_level` (applied on every config reload).

A program is a thin loop around pure functions; `Runtime` gives it its surroundings. A program
whose clock anchor or config is missing or invalid stays up in a failing state (health says why)
and retries, rather than exiting into supervisord's FATAL.
"""
from __future__ import annotations

import gc
import signal
import threading

from reactivex.scheduler import EventLoopScheduler

from pipeline.core import jsonl
from pipeline.core.clock import Clock, ClockError, load_clock
from pipeline.core.config import Config, ConfigHolder
from pipeline.core.health import Health
from pipeline.core.log import Logger, OncePerReason, bridge, unbridge
from pipeline.core.paths import Home

RETRY_REAL_S = 0.5


class Runtime:
    def __init__(self, program: str, home: Home | None = None, clock: Clock | None = None):
        self.program = program
        self.home = (home or Home.from_env()).ensure()
        self.log = Logger(program)
        jsonl.report_to(lambda path, line, reason: self.log.warning(
            "file.line_skipped", file=str(path), line=line, reason=reason))
        bridge(self.log)
        self.stopping = threading.Event()
        if clock is None:  # the first beat carries the home's time when its anchor is there
            try:
                clock = load_clock(self.home.clock)
            except ClockError:
                pass
        self.clock = clock
        self.health = Health(self.home, program, clock)
        self.holder = ConfigHolder(self.home.system_config)
        self.scheduler = EventLoopScheduler()
        self._reported: str | None = None  # the fail/degrade reason in force
        self._config_problem = OncePerReason(self.log, "config.invalid",
                                             recovered="config.recovered")

    @property
    def config(self) -> Config:
        assert self.holder.config is not None, "config not loaded yet"
        return self.holder.config

    def install_signals(self) -> None:
        def on_signal(signum, _frame):
            self.log.info("stopping", signal=signal.Signals(signum).name)
            self.stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def fail(self, reason: str, *, beat: bool = True) -> None:
        """Health failing with `reason`, logged once per distinct reason."""
        if reason != self._reported:
            self.log.error("failing", reason=reason)
            self._reported = reason
        self.health.set("failing", reason, beat=beat)

    def degrade(self, reason: str) -> None:
        """Health degraded with `reason` (running, but impaired), logged once per reason.

        Like `fail`, the reason stands through `reload_config` until `recover` clears it.
        """
        if reason != self._reported:
            self.log.warning("degraded", reason=reason)
            self._reported = reason
        self.health.set("degraded", reason)

    def recover(self) -> None:
        """Clear a `fail`/`degrade` reason: health ok again, unless the config file is bad."""
        if self._reported is not None and self.holder.error is None:
            self.log.info("recovered", reason=self._reported)
            self._reported = None
            self.health.ok()

    def reload_config(self) -> bool:
        """Re-read system-config.json; True when a new good config took effect.

        A bad file is logged once (file, JSON path, reason) and keeps the last good config;
        health says why until a good file is back.
        """
        changed = self.holder.reload()
        err = self.holder.error
        if err is not None:
            self._config_problem.failed(str(err), file=err.file, path=err.json_path,
                                        running=self.holder.version or None)
            self.health.set("failing" if self.holder.config is None else "degraded", str(err))
            return changed
        if self._config_problem.cleared(config_version=self.holder.version):
            if self._reported is None:
                self.health.ok()
        if changed:
            self.log.set_level(self.config.log_level)
            self.log.info("config.loaded", config_version=self.holder.version,
                          log_level=self.config.log_level)
        return changed

    def start(self) -> bool:
        """Beat at once, then wait for a clock anchor and a good config. False if stopped."""
        self.install_signals()
        self.log.info("started", home=str(self.home.root))
        self._try_clock(beat=False)  # so the first beat already says whether a clock is missing
        self.health.start()
        while not self.stopping.is_set():
            if self.clock is None and not self._try_clock(beat=True):
                self.stopping.wait(RETRY_REAL_S)
                continue
            self.reload_config()
            if self.holder.config is not None:
                if self.holder.error is None and self._reported is not None:
                    self.recover()
                gc.collect()  # start-up's garbage, then its objects (modules: ~65,000) out of
                gc.freeze()  # every later collection (a full one took 10-100 ms: a pass's tail)
                return True
            self.stopping.wait(RETRY_REAL_S)
        return False

    def _try_clock(self, *, beat: bool) -> bool:
        try:
            self.clock = load_clock(self.home.clock)
        except ClockError as e:
            self.fail(str(e), beat=beat)
            return False
        self.health.set_clock(self.clock)
        return True

    def wait(self, real_seconds: float) -> bool:
        """Sleep unless stopping; True when a stop was asked for."""
        return self.stopping.wait(real_seconds)

    def close(self) -> None:
        self.health.stop()
        try:
            self.health.info["stopped"] = True
            self.health.beat()
        except Exception:
            pass
        self.scheduler.dispose()
        self.log.info("stopped")
        unbridge(self.log)
