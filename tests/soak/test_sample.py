"""The soak's measurements and figures (pipeline.harness.soak.sample, .plan): pure functions, this
process and real child processes, each checked against /proc read here independently."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.core.config import Config
from pipeline.harness.soak import plan
from pipeline.harness.soak.sample import browser_pids, fd_change, program_figures, sample_pid, slope
from tests.kit.poll import poll


def _status(pid: int, field: str) -> str:
    text = Path(f"/proc/{pid}/status").read_text()
    return next(line.split(":", 1)[1].split()[0] for line in text.splitlines()
                if line.startswith(field + ":"))


def test_this_process_is_sampled_and_a_gone_pid_is_none(tmp_path):
    got = sample_pid(os.getpid())
    assert got["pid"] == os.getpid() and got["rss_mb"] > 5
    vmrss_mb = int(_status(os.getpid(), "VmRSS")) / 1024  # kB, read independently
    assert abs(got["rss_mb"] - vmrss_mb) < 8  # the process moves a little between the reads
    assert got["threads"] == int(_status(os.getpid(), "Threads"))
    assert got["fds"] == len(os.listdir("/proc/self/fd"))  # each counts the fd it lists with
    assert got["fd_targets"]
    with open(tmp_path / "held", "w"):
        assert sample_pid(os.getpid())["fds"] == got["fds"] + 1
    assert sample_pid(2**22 + 7) is None


def _sleeper(*args: str) -> subprocess.Popen:
    """A real process whose command line carries `args` (as a browser's carries its flags)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *args])


def test_browsers_are_found_by_their_profile_under_the_home_never_by_name(tmp_path):
    home = tmp_path / "h"
    procs = [_sleeper(f"--user-data-dir={home}/data/browser/monitor"),
             _sleeper(f"--user-data-dir={tmp_path}/other/data/browser/monitor"),
             _sleeper("--headless")]
    try:
        assert browser_pids(home / "data" / "browser") == [procs[0].pid]
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert browser_pids(home / "data" / "browser") == []


def test_a_zombie_is_not_sampled():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    poll(lambda: _status(child.pid, "State") == "Z", 30, "the child to exit unreaped (State Z)")
    assert _status(child.pid, "State") == "Z"  # exited, not yet reaped
    try:
        assert sample_pid(child.pid) is None
    finally:
        child.wait()


def test_slope_is_least_squares():
    assert slope([(0, 1), (1, 3), (2, 5)]) == pytest.approx(2.0)
    assert slope([(0, 1), (1, 2), (2, 1), (3, 2)]) == pytest.approx(0.2)
    assert slope([(1, 5)]) is None and slope([(1, 5), (1, 6)]) is None


def test_fd_change_names_what_was_opened_and_closed():
    start = ["/h/data/x.lock", "socket:[1]", "pipe:[7]"]
    end = ["socket:[99]", "pipe:[8]", "/h/data/bet-record.jsonl.lock", "socket:[100]"]
    assert fd_change(start, end) == {"new": ["/h/data/bet-record.jsonl.lock", "socket"],
                                     "gone": ["/h/data/x.lock"]}


def sample(day, rss, fds=6, threads=7, pid=1):
    return {"sim_day": day, "pid": pid, "rss_mb": rss, "fds": fds, "threads": threads,
            "fd_targets": ["socket:[1]"] * fds}


def test_figures_take_the_slope_of_the_second_half_and_the_start_after_the_warmup():
    samples = [sample(0, 30, fds=5), sample(1, 50), sample(2, 40), sample(3, 42), sample(4, 44)]
    fig = program_figures(samples, sim_days=4, warmup_days=0.5)
    assert fig["max_rss_mb"] == 50 and fig["rss_slope_mb_per_sim_day"] == pytest.approx(2.0)
    assert fig["slope_samples"] == 3 and fig["start_sim_day"] == 1
    assert fig["fds"] == {"first": 5, "start": 6, "end": 6, "max": 6}
    assert "fds_changed" not in fig and fig["restarts"] == 0


def test_a_new_pid_is_a_restart_and_a_leak_is_named():
    samples = [sample(0, 30), sample(1, 30), sample(2, 31, fds=7, pid=2)]
    samples[-1]["fd_targets"][-1] = "/h/data/leak.json"
    fig = program_figures(samples, sim_days=2)
    assert fig["pids"] == [1, 2] and fig["restarts"] == 1
    assert fig["fds_changed"] == {"new": ["/h/data/leak.json"], "gone": []}
    assert program_figures([], 2) == {"samples": 0}


def test_the_plan_is_a_valid_config_with_two_sessions_of_every_plan(tmp_path):
    files = [tmp_path / "E0_2019-20.csv"]
    files[0].write_text("Div\n")
    cfg = plan.soak_config(files, sim_days=30, seed=1, sandbox_port=1, dashboard_port=2)
    model = Config.model_validate(cfg)
    assert [s.staking.plan for s in model.sessions].count("ladder") == 2
    assert {s.staking.plan for s in model.sessions} == set(plan.PLANS)
    assert model.clock.mode == "step" and model.source.kind == "replay" and model.mode == "paper"
    assert cfg["source"]["replay"]["until"] == "2019-09-08T12:00:00Z"
    assert plan.sessions(1) == plan.sessions(1) != plan.sessions(2)
    fast = Config.model_validate(plan.soak_config(files, 30, 1, 1, 2, speed=3600))
    assert fast.clock.mode == "anchored" and fast.clock.speed == 3600
    assert fast.source.kind == "sandbox" and fast.source.interval_s == 3600  # a poll a real s
    assert fast.sessions == model.sessions
    assert plan.season_files(tmp_path) == files
    with pytest.raises(ValueError, match="E0_2019-20.csv"):
        plan.season_files(tmp_path / "none")
