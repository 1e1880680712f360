"""Logs: every line a process writes is one JSON object — its own events, stdlib logging (uvicorn,
watchdog, asyncio), warnings and uncaught exceptions in any thread — at the config's log_level,
secrets masked; a repeated error is logged once per reason."""
from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import orjson
import pytest

from pipeline.core import clock as clockmod
from pipeline.core.config import ConfigError, parse_config
from pipeline.core.filebus import atomic_write_json
from pipeline.core.log import Logger, OncePerReason
from pipeline.core.runtime import Runtime

REPO = Path(__file__).resolve().parents[2]
WEBHOOK = "https://discord.example/api/webhooks/42/s3cr3t-hook"
PASSWORD = 'pa"ss\\word'  # a quote and a backslash: written escaped inside a JSON string

# A program's whole output: a real uvicorn server whose app raises (uvicorn logs the traceback),
# watchdog's overflow warning, asyncio's handler, a warning, a thread that raises, a debug
# record, then an uncaught exception (raised from another) that ends the main thread.
PROBE = textwrap.dedent('''
    import asyncio, logging, socket, sys, threading, time, urllib.error, urllib.request, warnings
    from pipeline.core.log import Logger, bridge
    from pipeline.core.webserve import QuietServer, uvicorn_config

    log = Logger("probe", level=sys.argv[1])
    bridge(log)
    log.info("probe.started")

    async def app(scope, receive, send):
        raise RuntimeError("handler broke, url " + sys.argv[2])

    server = QuietServer(uvicorn_config(app))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    serving = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    serving.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/" % sock.getsockname()[1], timeout=30)
    except urllib.error.HTTPError as e:
        log.info("probe.answer", status=e.code)
    server.should_exit = True
    serving.join(30)

    logging.getLogger("watchdog.observers.inotify").warning(
        "Inotify queue overflowed; reconciling recursive watches below %r", "/home/data")
    loop = asyncio.new_event_loop()
    loop.call_exception_handler({"message": "Task exception was never retrieved",
                                 "exception": ValueError("in a task")})
    loop.close()
    warnings.warn("an old call", DeprecationWarning, stacklevel=1)
    logging.getLogger("filelock").debug("lock acquired, password %s", sys.argv[3])

    def boom():
        raise OSError("disk gone, password " + sys.argv[3])

    worker = threading.Thread(target=boom, name="worker-1")
    worker.start()
    worker.join()
    try:
        {}["seq"]
    except KeyError as e:
        raise ValueError("bad ledger line") from e
''')


def run_probe(level: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    env = {**os.environ, "BETPIPE_NOTIFY_URL": WEBHOOK, "BETPIPE_SANDBOX_PASSWORD": PASSWORD,
           "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "default"}
    done = subprocess.run([sys.executable, "-c", PROBE, level, WEBHOOK, PASSWORD], env=env,
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    lines = [orjson.loads(line) for line in done.stdout.splitlines()]  # each must parse
    return done, lines


def by_event(lines: list[dict], event: str) -> list[dict]:
    return [line for line in lines if line["event"] == event]


def test_stdlib_logging_and_uncaught_exceptions_are_json_lines_with_secrets_masked():
    done, lines = run_probe("info")
    assert done.returncode == 1  # the uncaught exception still ends the process as an error
    assert done.stderr == ""  # no plain text, no multi-line traceback anywhere
    assert len(lines) == len(done.stdout.splitlines()) >= 7
    for line in lines:
        assert {"ts", "level", "program", "event"} <= line.keys(), line
        assert line["program"] == "probe" and line["level"] in ("info", "warning", "error")
    assert by_event(lines, "probe.answer")[0]["status"] == 500

    stdlib = by_event(lines, "log")
    by_logger = {line["logger"]: line for line in stdlib}
    asgi = by_logger["uvicorn.error"]  # uvicorn's "Exception in ASGI application" + traceback
    assert asgi["level"] == "error" and "ASGI" in asgi["message"]
    assert asgi["error"] == "RuntimeError: handler broke, url ***"
    assert "app" in asgi["trace"] and "\n" not in asgi["trace"]
    overflow = by_logger["watchdog.observers.inotify"]
    assert overflow["level"] == "warning"
    assert overflow["message"] == "Inotify queue overflowed; reconciling recursive watches " \
                                  "below '/home/data'"
    task = by_logger["asyncio"]
    assert task["level"] == "error" and task["error"] == "ValueError: in a task"
    assert "an old call" in by_logger["py.warnings"]["message"]
    assert "filelock" not in by_logger  # a debug record, below log_level info

    thread, main = by_event(lines, "uncaught")
    assert (thread["thread"], thread["error"]) == ("worker-1", "OSError: disk gone, password ***")
    assert thread["trace"].startswith("<string>:") and "boom" in thread["trace"]
    assert (main["thread"], main["error"]) == ("MainThread", "ValueError: bad ledger line")
    assert main["cause"] == "KeyError: 'seq'"

    # the webhook URL and the password appear nowhere, raw or as written inside JSON
    assert "s3cr3t" not in done.stdout and "webhooks" not in done.stdout
    assert "ss\\" not in done.stdout and "pa\\\"ss" not in done.stdout


def test_log_level_debug_lets_debug_records_through_masked():
    done, lines = run_probe("debug")
    assert done.returncode == 1 and done.stderr == ""
    debug = [line for line in by_event(lines, "log") if line["logger"] == "filelock"]
    assert debug == [{**debug[0], "level": "debug", "message": "lock acquired, password ***"}]
    assert PASSWORD not in done.stdout


def test_log_level_is_validated_and_applied_on_reload(home, capsys):
    hooks = (sys.excepthook, threading.excepthook, logging.getLogger().level)
    assert parse_config(b'{"log_level": "warning"}', Path("c.json")).log_level == "warning"
    assert parse_config(b"{}", Path("c.json")).log_level == "info"
    with pytest.raises(ConfigError) as bad:
        parse_config(b'{"log_level": "verbose"}', Path("c.json"))
    assert bad.value.json_path == "$.log_level" and "'debug'" in bad.value.reason

    clockmod.anchor(home.clock, start=clockmod.real_now(), speed=1)
    atomic_write_json(home.system_config, {"log_level": "warning"})
    rt = Runtime("decide", home)
    rt.install_signals = lambda: None  # not the main thread's signals in a test
    try:
        assert rt.start()
        capsys.readouterr()
        rt.log.info("dropped.info")
        rt.log.warning("kept.warning")
        logging.getLogger("uvicorn.error").info("dropped stdlib info")
        atomic_write_json(home.system_config, {"log_level": "debug"})
        assert rt.reload_config()  # hot reload: no restart
        rt.log.debug("kept.debug")
        logging.getLogger("watchdog").debug("kept stdlib debug")
        lines = [orjson.loads(x) for x in capsys.readouterr().out.splitlines()]
    finally:
        rt.close()
    assert orjson.loads(capsys.readouterr().out)["event"] == "stopped"
    said = [(x["level"], x["event"], x.get("message")) for x in lines]
    assert said == [("warning", "kept.warning", None), ("info", "config.loaded", None),
                    ("debug", "kept.debug", None), ("debug", "log", "kept stdlib debug")]
    logging.getLogger("watchdog").warning("after close")  # the bridge is undone on close
    assert capsys.readouterr().out == ""
    assert (sys.excepthook, threading.excepthook, logging.getLogger().level) == hooks


def test_once_per_reason_logs_each_new_reason_and_the_recovery_with_the_quiet_repeats():
    out = io.StringIO()
    once = OncePerReason(Logger("monitor", stream=out), "poll.failed")
    steps = [("fail", "refused"), ("fail", "refused"), ("fail", "refused"), ("fail", "timeout"),
             ("fail", "timeout"), ("clear", None), ("clear", None), ("fail", "refused"),
             ("clear", None)]
    wrote = [once.failed(reason, poll=i) if what == "fail" else once.cleared(poll=i)
             for i, (what, reason) in enumerate(steps)]
    assert wrote == [True, False, False, True, False, True, False, True, True]
    lines = [orjson.loads(x) for x in out.getvalue().splitlines()]
    said = [{k: v for k, v in x.items() if k not in ("ts", "program")} for x in lines]
    assert said == [
        {"level": "error", "event": "poll.failed", "reason": "refused", "poll": 0},
        {"level": "error", "event": "poll.failed", "reason": "timeout", "poll": 3,
         "suppressed": 2},
        {"level": "info", "event": "poll.failed.cleared", "reason": "timeout", "poll": 5,
         "suppressed": 1},
        {"level": "error", "event": "poll.failed", "reason": "refused", "poll": 7},
        {"level": "info", "event": "poll.failed.cleared", "reason": "refused", "poll": 8,
         "suppressed": 0},
    ]


def test_a_pass_failing_the_same_way_every_time_is_logged_once_with_its_trace(home, capsys):
    """The watch loop of notify, track and execute: a KeyError on every pass (a ledger line
    without seq) used to log a traceback per pass, ~50 ms apart."""
    from pipeline.core.watchloop import serve

    clockmod.anchor(home.clock, start=clockmod.real_now(), speed=1)
    atomic_write_json(home.system_config, {})
    script = [KeyError("seq")] * 4 + [ValueError("BOM")] * 2 + [None] * 2
    done = threading.Event()

    def on_pass(_changed):
        outcome = script.pop(0) if script else None
        if not script:
            done.set()
        if outcome is not None:
            raise outcome
        return None

    rt = Runtime("notify", home)
    rt.install_signals = lambda: None
    assert rt.start()
    loop = threading.Thread(target=serve, args=(rt, [home.ledger], on_pass))
    try:
        loop.start()
        for _ in range(2000):  # each append makes a pass; until the script is used up
            with home.ledger.open("a") as f:
                f.write("{}\n")
            if done.wait(0.05):
                break
        assert done.is_set(), "the passes never ran"
    finally:
        rt.stopping.set()
        loop.join(30)
        rt.close()
    lines = [orjson.loads(x) for x in capsys.readouterr().out.splitlines()]
    said = [{k: v for k, v in x.items() if k in ("event", "reason", "suppressed")}
            for x in lines if x["event"].startswith("pass.failed")]
    assert said == [{"event": "pass.failed", "reason": "KeyError: 'seq'"},
                    {"event": "pass.failed", "reason": "ValueError: BOM", "suppressed": 3},
                    {"event": "pass.failed.cleared", "reason": "ValueError: BOM",
                     "suppressed": 1}]
    first = next(x for x in lines if x["event"] == "pass.failed")
    assert "on_pass" in first["trace"] and "\n" not in first["trace"]
    assert [x["event"] for x in lines if x["event"] in ("degraded", "recovered")] == \
        ["degraded", "degraded", "recovered"]
