"""The HKJC source (`source.kind: "hkjc"`): the site's own GraphQL answers, read off the network.

Each poll loads the football page (`source.hkjc.odds_url`) in the program's browser and keeps
the JSON of every POST answer of the GraphQL endpoint (`source.hkjc.graphql_url`) the page's
own scripts ask for — never the DOM, never a query of our own (the endpoint accepts only the
site's). It waits until an answer with `data.matches` arrived (at most `source.timeout_s`), lets
the network settle, and maps the answers with `pipeline.sources.hkjc`.

Matches are remembered between polls: one that left the page keeps its status (live once its
kickoff passed) without odds, until 3 days after kickoff. While a remembered match waits for its
result, the results page (`source.hkjc.results_url`) is loaded every `results_every_s` simulated
seconds and its `matchResult` answers give the final scores; a results answer the parser refuses
is reported as a problem (health, log) and never stops the odds.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any, Callable

from pipeline.core.timefmt import parse_iso
from pipeline.sources import Capabilities
from pipeline.sources.hkjc import (PRICED, parse_odds_answers, parse_results, unique_keys,
                                   unprice)
from pipeline.sources.sandbox import SourceError

KEEP_AFTER_KICKOFF = timedelta(days=3)
SETTLE_MS = 1500  # after the first useful answer: the page may still be loading more


def _has_matches(doc: Any) -> bool:
    data = doc.get("data") if isinstance(doc, dict) else None
    return isinstance(data, dict) and isinstance(data.get("matches"), list)


def _same_endpoint(url: str, endpoint: str) -> bool:
    return url.split("?", 1)[0].rstrip("/") == endpoint.split("?", 1)[0].rstrip("/")


class HkjcSource:
    kind = "hkjc"
    # two page loads, each: navigation + answers; plus settling. The real site, now: speed 1
    capabilities = Capabilities(markets=frozenset({"1X2", "AH", "OU"}), results=True,
                                timeouts_per_poll=5, real_time=True)

    @classmethod
    def open(cls, home, config, browser, tables) -> "HkjcSource":
        return cls(browser, config.source.hkjc, tables, config.source.timeout_s)

    def __init__(self, browser, cfg, tables, timeout_s: float = 15.0):
        self.browser, self.cfg, self.tables = browser, cfg, tables
        self.url, self.endpoint = cfg.odds_url, cfg.graphql_url
        self.timeout_s = timeout_s
        self.fulltime = (cfg.fulltime.stage_id, cfg.fulltime.result_type) if cfg.fulltime \
            else None
        self.known: dict[str, dict] = {}  # HKJC match id -> the last odds-data match
        self.results_next: datetime | None = None
        self.results_problems: list[str] = []

    # -- the browser -------------------------------------------------------------------------
    def capture(self, url: str, want: Callable[[Any], bool]) -> tuple[list[Any], list[str]]:
        """Load `url`; the JSON of every GraphQL answer until one `want`s it (and the network
        settled). SourceError when the page fails or no such answer comes in time."""
        page = self.browser.page()
        answers: list = []

        def is_answer(resp) -> bool:
            return resp.request.method == "POST" and _same_endpoint(resp.url, self.endpoint)

        def on_response(resp) -> None:
            if is_answer(resp):
                answers.append(resp)

        ms = self.timeout_s * 1000
        page.on("response", on_response)
        try:
            response = page.goto(url, wait_until="domcontentloaded", timeout=ms)
            if response is not None and response.status >= 400:
                raise SourceError(f"{url}: HTTP {response.status}")
            docs, problems, read = [], [], 0
            deadline = time.monotonic() + self.timeout_s
            while True:
                read = self._read(answers, read, docs, problems)
                if any(want(d) for d in docs):
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SourceError(f"{url}: no answer with data.matches from {self.endpoint} "
                                      f"within {self.timeout_s:g} s ({len(docs)} other answers"
                                      f"{': ' + problems[-1] if problems else ''})")
                try:
                    page.wait_for_event("response", predicate=is_answer, timeout=remaining * 1000)
                except Exception as e:
                    if "Timeout" not in type(e).__name__:
                        raise
            try:
                page.wait_for_load_state("networkidle", timeout=SETTLE_MS)
            except Exception as e:
                if "Timeout" not in type(e).__name__:
                    raise
            self._read(answers, read, docs, problems)
            return docs, problems
        finally:
            page.remove_listener("response", on_response)

    @staticmethod
    def _read(answers: list, start: int, docs: list, problems: list[str]) -> int:
        """Read answers from index `start` on; returns the index reached. Reading a body is a
        Playwright call, during which more answers can arrive: they are read too."""
        while start < len(answers):
            resp = answers[start]
            start += 1
            try:
                docs.append(resp.json())
            except Exception as e:
                problems.append(f"answer from {resp.url} (HTTP {resp.status}) is not JSON: "
                                f"{type(e).__name__}")
        return start

    # -- a poll ------------------------------------------------------------------------------
    def fetch(self, seen_at: str) -> tuple[list[dict], list[str]]:
        now = parse_iso(seen_at)
        docs, problems = self.capture(self.url, _has_matches)
        answers = [d for d in docs if _has_matches(d)]
        matches, more = parse_odds_answers(answers, self.tables, seen_at, now)
        problems += more
        if not matches and any(answers_of(d) for d in answers):
            raise SourceError(f"{self.url}: none of the matches answered is usable: "
                              f"{problems[0] if problems else 'no reason'}")
        self._remember(matches, now)
        if self._results_due(now):
            self.results_next = now + timedelta(seconds=self.cfg.results_every_s)
            try:
                self.results_problems = self.load_results(seen_at, now)
            except Exception as e:  # ShapeError, SourceError, a browser error: odds still good
                self.results_problems = [f"results page {self.cfg.results_url}: "
                                         f"{type(e).__name__}: {e}"]
        problems += self.results_problems  # they stand until the next results page load
        return unique_keys(self.known.values(), problems), problems

    def load_results(self, seen_at: str, now: datetime) -> list[str]:
        docs, problems = self.capture(self.cfg.results_url, _has_matches)
        for doc in docs:
            if not _has_matches(doc):
                continue
            results, more = parse_results(doc, self.fulltime, self.tables, seen_at, now)
            problems += more
            for match in results:
                old = self.known.get(match["source_id"])
                if old is not None:
                    old.update(status=match["status"], result=match["result"])
                    if old["status"] not in PRICED:
                        unprice(old)
                elif parse_iso(match["kickoff"]) + KEEP_AFTER_KICKOFF > now:
                    self.known[match["source_id"]] = match
        return problems

    def _remember(self, matches: list[dict], now: datetime) -> None:
        fresh = {m["source_id"]: m for m in matches}
        for sid, old in list(self.known.items()):
            if sid in fresh:
                if old.get("result") and not fresh[sid].get("result"):
                    fresh[sid].update(status=old["status"], result=old["result"])
                continue
            kickoff = parse_iso(old["kickoff"])
            if kickoff + KEEP_AFTER_KICKOFF <= now:
                del self.known[sid]
                continue
            unprice(old)  # no longer seen on sale
            if old["status"] == "scheduled" and now >= kickoff:
                old["status"] = "live"
        self.known.update(fresh)

    def _results_due(self, now: datetime) -> bool:
        if self.results_next is not None and now < self.results_next:
            return False
        return any(m["result"] is None and m["status"] in ("live", "finished", "scheduled")
                   and parse_iso(m["kickoff"]) <= now for m in self.known.values())


def answers_of(doc: Any) -> list:
    return doc["data"]["matches"] if _has_matches(doc) else []
