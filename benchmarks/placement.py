"""Live placement on the sandbox: browser bets/s with 1 and 5 pages, beside the raw HTTP rate.

Against the real `betpipe bookmaker` program (a temporary home, the real 2019-20 EPL file, the
clock at the demo's start):
- raw_http: `POST /api/bets` from one keep-alive client and from 5 threads — what the sandbox
  itself can book (each bet fsync'd before its answer), the ceiling for anything in front of it;
- browser_1 / browser_5: `SandboxBookmaker.place` (the slip kept open: fill it, click, read the
  confirmation, in one call into the page) on 1 page from one thread, and on 5 pages from 5
  threads (the executor's `max_concurrent` 5). Bets are spread over the matches on sale, 1 unit
  each, min_odds 1.01.
Per-bet latency (p50/p99) and bets/s over the whole run, and the CPU every process spent per bet
(each kind of Chromium process, Playwright's driver, this Python, the sandbox): `cores / cpu per bet` is the rate the
machine could reach with nothing else running (these machines are shared: `load_avg` says how
busy it was).
"""
from __future__ import annotations

import itertools
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx

from benchmarks.common import pct
from pipeline.bookmakers import Order
from pipeline.bookmakers.sandbox import SandboxBookmaker
from pipeline.core import clock as clockmod
from pipeline.core.filebus import atomic_write_json, read_json
from pipeline.core.paths import REPO, Home, football_data_dir
from pipeline.core.timefmt import parse_iso
from pipeline.bookmakers.account import ENV_PASSWORD, ENV_USER, Credentials
from pipeline.harness.supervise import free_port

START = "2019-08-09T18:30:00Z"
CREDS = Credentials("bench", "bench-password-not-secret")
BROWSER_BETS = 200
HTTP_BETS = 1000


def _start_bookmaker(home: Home, port: int) -> subprocess.Popen:
    data = home.root / "csv"
    data.mkdir(exist_ok=True)
    (data / "E0_2019-20.csv").symlink_to(football_data_dir(home) / "E0_2019-20.csv")
    clockmod.anchor(home.clock, start=parse_iso(START), speed=1)
    atomic_write_json(home.system_config, {"sandbox": {"port": port, "data": str(data)}})
    env = {**os.environ, "BETPIPE_HOME": str(home.root), ENV_USER: CREDS.user,
           ENV_PASSWORD: CREDS.password}
    log = open(home.root / "bookmaker.log", "ab")
    proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "betpipe"), "bookmaker"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if read_json(home.health("bookmaker")).get("url"):
                return proc
        except Exception:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the bookmaker did not start")


def _match_ids(url: str) -> list[tuple[str, str]]:
    matches = httpx.get(f"{url}/api/matches", timeout=10).json()["matches"]
    return [(m["id"], m["key"]) for m in matches if m["odds"]]


def _rate(n: int, seconds: float, latencies: list[float]) -> dict:
    return {"bets": n, "seconds": round(seconds, 2), "bets_per_s": round(n / seconds, 1),
            **pct(latencies)}


def raw_http(url: str, ids: list[tuple[str, str]], n: int, threads: int, tag: str) -> dict:
    cycle = itertools.cycle(ids)
    bodies = [{"client_ref": f"{tag}-{i}", "match_id": next(cycle)[0], "selection": "home",
               "stake": 1, "min_odds": 1.01} for i in range(n)]

    def post(client: httpx.Client, body: dict) -> float:
        t0 = time.perf_counter()
        r = client.post(f"{url}/api/bets", json=body)
        assert r.status_code == 201, r.text
        return time.perf_counter() - t0

    clients = [httpx.Client(timeout=30) for _ in range(threads)]
    try:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            lat = list(pool.map(lambda ib: post(clients[ib[0] % threads], ib[1]),
                                enumerate(bodies)))
        return _rate(n, time.perf_counter() - t0, lat)
    finally:
        for c in clients:
            c.close()


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def _tree(pid: int) -> list[int]:
    """`pid` and every process below it (the driver and its Chromium)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def _kind(pid: int) -> str:
    """What a process below this one is: Playwright's driver, or which of Chromium's."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return "gone"
    line = b" ".join(argv)
    for kind in (b"renderer", b"gpu-process", b"utility", b"zygote"):
        if b"--type=" + kind in line:
            return "chromium_" + kind.decode().replace("-process", "")
    return "chromium_browser" if b"chrom" in argv[0] else "driver"


def _cpu_split(sandbox_pid: int) -> dict[str, float]:
    """CPU seconds so far: this Python, the sandbox, the driver and each kind of Chromium
    process (renderer = the pages' JavaScript and rendering, utility = its network service)."""
    me = os.getpid()
    out = {"python": sum(os.times()[:2]), "sandbox": _cpu_s(sandbox_pid)}
    for pid in _tree(me):
        if pid not in (me, sandbox_pid):
            kind = _kind(pid)
            out[kind] = out.get(kind, 0.0) + _cpu_s(pid)
    return out


def browser(url: str, home: Home, ids: list[tuple[str, str]], n: int, pages: int,
            sandbox_pid: int) -> dict:
    bm = SandboxBookmaker(url, CREDS, home.profile_dir(f"bench-{pages}"), pages=pages,
                          timeout_s=30)
    cycle = itertools.cycle(ids)
    orders = [Order(f"b{pages}-{i}#1", f"b{pages}-{i}", "bench", next(cycle)[1], "1X2", "away",
                    2.0, 1.01, 1.0) for i in range(n)]

    def place(o: Order) -> float:
        t0 = time.perf_counter()
        p = bm.place(o)
        assert p.ok, p
        return time.perf_counter() - t0

    try:
        t = time.perf_counter()
        bm.start()  # launch + login: not part of the rate
        start_s = time.perf_counter() - t
        for o in orders[:pages]:  # warm every page once
            place(replace(o, client_ref=o.client_ref + "w"))
        cpu0, t0 = _cpu_split(sandbox_pid), time.perf_counter()
        with ThreadPoolExecutor(pages) as pool:
            lat = list(pool.map(place, orders))
        seconds, cpu1 = time.perf_counter() - t0, _cpu_split(sandbox_pid)
        per_bet = {k: round((cpu1.get(k, 0) - cpu0.get(k, 0)) / n * 1000, 1)
                   for k in sorted(set(cpu0) | set(cpu1))}
        total = sum(per_bet.values())
        return {**_rate(n, seconds, lat), "pages": pages, "launch_and_login_s": round(start_s, 2),
                "cpu_ms_per_bet": {**per_bet, "total": round(total, 1)},
                "cpu_bound_bets_per_s": round((os.cpu_count() or 1) * 1000 / total, 1)
                if total else None}
    finally:
        bm.close()


def run(tmp: Path, args) -> dict:
    home = Home(tmp / "home").ensure()
    port = int(os.environ.get("BETPIPE_BENCH_PORT", "0")) or free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start_bookmaker(home, port)
    try:
        ids = _match_ids(url)
        out = {"cores": os.cpu_count(), "load_avg_1min_at_start": round(os.getloadavg()[0], 2),
               "matches_on_sale": len(ids),
               "raw_http_1": raw_http(url, ids, HTTP_BETS, 1, "h1"),
               "raw_http_5": raw_http(url, ids, HTTP_BETS, 5, "h5"),
               "browser_1": browser(url, home, ids, BROWSER_BETS // 2, 1, proc.pid),
               "browser_5": browser(url, home, ids, BROWSER_BETS, 5, proc.pid),
               "load_avg_1min": round(os.getloadavg()[0], 2)}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    b5, raw = out["browser_5"]["bets_per_s"], out["raw_http_5"]["bets_per_s"]
    out["browser_5_vs_raw_http_5"] = round(b5 / raw, 3) if raw else None
    out["browser_5_vs_browser_1"] = round(b5 / out["browser_1"]["bets_per_s"], 2)
    out["goal_browser_5_bets_per_s"] = 60
    return out
