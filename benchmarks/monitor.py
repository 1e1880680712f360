"""Monitor figures: one poll's scrape + parse at 500 matches, and page change → odds-data written.

- scrape_parse_500: `SandboxSource.fetch` (goto + one `page.evaluate` + parse_rows) on a 500-row
  page rendered by the sandbox's own page code and served from a local server, beside the raw
  parts measured in the same browser: the page load alone (`goto`), the bare `page.evaluate` of
  the same rows on the loaded page, and
  the same reading returned as objects instead of one JSON string (why the source uses a string).
- page_to_odds: the real `betpipe monitor` polls a sandbox-format page; the bench changes a price
  on the page and times until odds-data.json shows it, beside the monitor's real poll interval
  (expected: about half an interval plus one poll on average, at most an interval plus a poll).
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson

from benchmarks.common import pct, watch
from pipeline.core import clock as clockmod
from pipeline.core.filebus import atomic_write_json, read_snapshot
from pipeline.core.matchkey import load_tables
from pipeline.core.paths import REPO, Home, football_data_dir
from pipeline.programs.bookmaker.market import MatchState, quote_of
from pipeline.programs.bookmaker.pages import odds_page
from pipeline.browser.launch import Browser
from pipeline.history.football_data import load_folder
from pipeline.sources.sandbox import READ_ROWS_JS, SandboxSource, parse_rows

# the same reading returned as objects (Playwright serialises them) instead of one JSON string
AS_OBJECTS = "() => JSON.parse((" + READ_ROWS_JS + ")())"


class PageServer:
    """Serves `page` (bytes, replaceable) at /odds on 127.0.0.1."""

    def __init__(self, page: bytes):
        self.page = page
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = server.page
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def sandbox_page(n: int, bump: float = 0.0) -> tuple[bytes, str]:
    """A sandbox /odds page of `n` real fixtures on sale (opening prices; the first match's
    home price + `bump`), and that match's key."""
    tables = load_tables()
    fixtures = [f for f in load_folder(football_data_dir(Home.from_env()), tables)
                if quote_of(f) is not None][:n]
    states = []
    for i, f in enumerate(fixtures):
        h, d, a = quote_of(f).opening
        states.append(MatchState(f, "scheduled", (round(h + (bump if i == 0 else 0), 2), d, a),
                                 None))
    now = fixtures[0].kickoff - timedelta(days=1)
    return odds_page(states, now).encode(), fixtures[0].key


def scrape_parse(tmp: Path, n: int, samples: int) -> dict:
    page, _key = sandbox_page(n)
    server = PageServer(page)
    home = Home(tmp / "scrape").ensure()
    browser = Browser(home, "bench")
    tables = load_tables()
    source = SandboxSource(browser, server.url, tables)
    polls, gotos, evaluates, objects, parses, rows = [], [], [], [], [], 0
    try:
        source.fetch(seen_at="2019-08-09T18:30:00Z")  # warm-up: launch, first load
        for _ in range(samples):
            t0 = time.perf_counter()
            matches, _problems = source.fetch(seen_at="2019-08-09T18:30:00Z")
            polls.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            browser.page().goto(source.url, wait_until="domcontentloaded")  # the load alone
            gotos.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            raw = browser.page().evaluate(READ_ROWS_JS)  # the same rows, page already loaded
            evaluates.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            browser.page().evaluate(AS_OBJECTS)  # what returning objects would cost
            objects.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            parse_rows(orjson.loads(raw)["rows"], tables, "2019-08-09T18:30:00Z")
            parses.append(time.perf_counter() - t0)
            rows = len(matches)
    finally:
        browser.close()
        server.close()
    poll, bare = pct(polls), pct(evaluates)
    return {"matches": rows, "page_kb": round(len(page) / 1024, 1), "poll": poll,
            "bare_goto": pct(gotos), "bare_evaluate": bare, "evaluate_as_objects": pct(objects),
            "parse_rows": pct(parses),
            "poll_p50_vs_evaluate_p50": round(poll["p50_ms"] / bare["p50_ms"], 2)
            if bare["p50_ms"] else None}


def page_to_odds(tmp: Path, samples: int, n: int = 50) -> dict:
    home = Home(tmp / "latency").ensure()
    pages = [sandbox_page(n, bump) for bump in (0.0, 0.01)]
    key = pages[0][1]
    server = PageServer(pages[0][0])
    clockmod.anchor(home.clock, start=clockmod.real_now(), speed=60)
    atomic_write_json(home.system_config, {"source": {"kind": "sandbox", "url": server.url,
                                                      "interval_s": 30}})  # 0.5 real s
    env = {**os.environ, "BETPIPE_HOME": str(home.root)}
    proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "betpipe"), "monitor"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def home_price(path: Path):
        doc = read_snapshot(path)
        return next(m["odds"]["home"] for m in doc["matches"] if m["key"] == key)

    obs, waiter = watch(home.odds, home_price)
    out, interval, poll_ms = [], None, []
    try:
        if waiter.wait(lambda _price: True, 90) is None:
            raise RuntimeError("the monitor wrote no odds-data within 90 s")
        for i in range(1, samples + 1):
            page, _ = pages[i % 2]
            want = home_price_of(page, key)
            time.sleep(0.05 + (i % 7) * 0.07)  # change at varying points of the poll cycle
            t0 = time.perf_counter()
            server.page = page
            t1 = waiter.wait(lambda price, want=want: price == want, 30)
            if t1 is not None:
                out.append(t1 - t0)
        health = read_snapshot(home.health("monitor")) or {}
        interval, poll_ms = health.get("interval_real_s"), health.get("last_poll_ms")
    finally:
        obs.stop()
        obs.join()
        proc.terminate()
        proc.wait(timeout=30)
        server.close()
    return {**pct(out), "matches": n, "interval_real_ms": interval and round(interval * 1000),
            "last_poll_ms": poll_ms,
            "p50_vs_interval": round(pct(out)["p50_ms"] / (interval * 1000), 2)
            if interval and out else None}


def home_price_of(page: bytes, key: str) -> float:
    """The first row's home price, as the page shows it (what the monitor will write)."""
    at = page.index(b'data-sel="home"')
    text = page[at:page.index(b"</td>", at)].decode()
    return float(text.rsplit(">", 2)[-2].split("<")[0]) if "<a" in text else \
        float(text.rsplit(">", 1)[-1])


def run(tmp: Path, args) -> dict:
    return {"scrape_parse_500": scrape_parse(tmp, 500, min(args.samples, 50)),
            "page_to_odds": page_to_odds(tmp, min(args.samples, 30))}
