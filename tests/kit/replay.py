"""A step-clock replay through the real decide, execute, track and monitor, one subprocess each."""
from __future__ import annotations

import os
import signal
import subprocess

import orjson

from pipeline.core import clock as clockmod
from pipeline.core.filebus import atomic_write_json
from pipeline.core.paths import Home
from pipeline.core.timefmt import parse_iso
from tests.kit.poll import poll
from tests.kit.programs import BETPIPE
from pipeline.core.paths import REPO

# --------------------------------------------------------------------------- the real programs

class Program:
    def __init__(self, home: Home, name: str, log_dir):
        self.name, self.log_path = name, log_dir / f"{name}.log"
        self._out = open(self.log_path, "wb")
        env = {**os.environ, "BETPIPE_HOME": str(home.root), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([BETPIPE, name], env=env, cwd=REPO, stdout=self._out,
                                     stderr=subprocess.STDOUT)

    def poll(self):
        return self.proc.poll()

    def events(self, event: str) -> list[dict]:
        return [line for raw in self.log_path.read_bytes().splitlines()
                if raw.startswith(b"{") and (line := orjson.loads(raw)).get("event") == event]

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)
        finally:
            self._out.close()


def run_replay(home: Home, tmp_path, config: dict, deadline_s: float = 120) -> dict:
    """Run the real decide, execute, track and monitor on `config` (a step-clock replay) until
    the replay reaches `until`; stop them, check each ended cleanly; the programs by name."""
    atomic_write_json(home.system_config, config)
    clockmod.anchor(home.clock, start=parse_iso(config["clock"]["start"]), speed=1, mode="step")
    programs = [Program(home, name, tmp_path) for name in ("decide", "execute", "track")]
    try:
        monitor = Program(home, "monitor", tmp_path)
        programs.append(monitor)
        poll(lambda: monitor.events("replay.finished"), deadline_s,
                 "the replay to reach `until`", monitor)
        codes = {p.name: p.stop() for p in programs}
    finally:
        for p in programs:
            p.stop()
    assert codes == {"decide": 0, "execute": 0, "track": 0, "monitor": 0}
    return {p.name: p for p in programs}
