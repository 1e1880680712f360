"""The backtest on the odds history (`betpipe backtest --history DIR`; DESIGN: "Odds history and
closing-line value"): the recorded prices through the same engine, book and settlement as the
CSV backtest (pipeline.analysis.backtest), with windows on.

Time runs through the instants at which `decide` could see something new: every recorded line's
`t` (in `t` order, as the monitor's snapshots showed them), every instant at which time alone
changes `decide`'s outcome (`Outcome.next_change`: a window opening or closing, a price turning
stale, a duration or day limit) and every settlement. At each instant the lines of that instant
are applied, the bets whose result is out settle (then their halts), and `decide(...,
windows=True)` runs on the snapshot of every match known; its decisions are filled at their
quoted prices. A bet settles on the match's first recorded `finished` line with a result, at
that line's `t`; where the history has no result, on `--results` CSVs' FTR/score at kickoff +
110 minutes (when the sandbox and the replay publish them); with neither, it stays open.

Staleness: a history holds changes, not polls — a price that did not move was still seen at
every poll in between, and no line says when the monitor was down. So a recorded price counts as
seen "now" (`seen_at` = the instant) until its match's next line; `max_odds_age_s` therefore
never trips here (what it guards against live — a monitor that stopped — leaves no trace).
"""
from __future__ import annotations

import gc
import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Sequence

from pipeline.analysis.backtest import SETTLE_AFTER, Backtest, BacktestError, result_of
from pipeline.core.config import Config
from pipeline.core.matchkey import KeyTables
from pipeline.core.state import Bet
from pipeline.core.timefmt import iso, parse_iso
from pipeline.history import store
from pipeline.history.football_data import FootballDataError, parse_file
from pipeline.strategies import clv
from pipeline.strategies.engine import decide

FIELDS = ("key", "season", "competition", "home", "away", "kickoff", "status", "odds",
          "handicap", "totals", "result")


NEVER_STALE_S = 10 ** 9  # ~31 years


@dataclass
class HMatch:
    """A match of the history, shaped as the CSV backtest's `BtMatch` where Backtest reads it."""

    key: str
    kickoff: datetime
    result: dict | None       # the recorded (or --results) full-time result
    settle_at: datetime | None  # when it came out
    order: int                # (kickoff, key) rank
    closing: dict | None = None  # the closing state (pipeline.strategies.clv.closing_state)


def load_results(paths: Sequence[str | Path], tables: KeyTables) -> dict[str, dict]:
    """key -> full-time result of `--results` CSVs (rows without FTR are left out)."""
    out: dict[str, dict] = {}
    for path in paths:
        try:
            fixtures = parse_file(path, tables)
        except FileNotFoundError:
            raise BacktestError(f"{path}: no such file") from None
        except FootballDataError as e:
            raise BacktestError(f"{path}: {e}") from None
        for f in fixtures:
            if f.ftr:
                out[f.key] = result_of(f)
    return out


def load_history(directory: Path, start: str | None = None,
                 end: str | None = None) -> list[dict]:
    if not Path(directory).is_dir():
        raise BacktestError(f"{directory}: no such folder (an odds history: data/odds-history)")
    try:
        return list(store.lines(Path(directory), start, end))
    except ValueError as e:  # BadFile names the file
        raise BacktestError(str(e)) from None


def matches_of(lines: list[dict], results: dict[str, dict]) -> dict[str, HMatch]:
    """Each match's kickoff (last recorded), result, when it came out and its closing state."""
    seen: dict[str, dict] = {}
    out_at: dict[str, tuple[str, dict]] = {}
    of_key: dict[str, list[dict]] = {}
    for r in lines:
        seen[r["key"]] = r
        of_key.setdefault(r["key"], []).append(r)
        if r["key"] not in out_at and r["status"] == "finished" and r.get("result"):
            out_at[r["key"]] = (r["t"], r["result"])
    ranked = sorted(seen.values(), key=lambda r: (r["kickoff"], r["key"]))
    out = {}
    for i, r in enumerate(ranked):
        kickoff = parse_iso(r["kickoff"])
        if r["key"] in out_at:
            t, result = out_at[r["key"]]
            settle_at = parse_iso(t)
        elif r["key"] in results:
            result, settle_at = results[r["key"]], kickoff + SETTLE_AFTER
        else:
            result = settle_at = None
        out[r["key"]] = HMatch(r["key"], kickoff, result, settle_at, i,
                               clv.closing_state(of_key[r["key"]], r["kickoff"]))
    return out


class HistoryBacktest(Backtest):
    def __init__(self, config: Config, matches: dict[str, HMatch]):
        super().__init__(config)
        self.hmatches = matches
        self._lists: dict[str, list[Bet]] = {}
        self.changes = 0  # history lines stepped through
        self._on_sale: dict[str, dict] = {}  # key -> the match in the snapshot being decided
        # every price is seen "now" (module doc): no instant to wake at for staleness
        self.decide_config = config.model_copy(update={"max_odds_age_s": NEVER_STALE_S})

    def bets_list(self, m: HMatch) -> list[Bet]:
        bets = self._lists.get(m.key)
        if bets is None:
            bets = self._lists[m.key] = []
            self.placed_on.append((m, bets))
            if m.settle_at is not None:  # else it stays open: no result known
                heapq.heappush(self.waiting, (m.settle_at, m.order, m, bets))
        return bets

    def on_sale(self, m: HMatch) -> dict:
        return self._on_sale[m.key]

    def decide_at(self, now: datetime, snapshot: dict) -> datetime | None:
        """Settle what is out, decide, fill; the next instant time alone changes things."""
        self.settle_until(now)
        ts = iso(now)
        if self._timed:
            self.append(self.halts(self._timed, now), ts)
        for m in snapshot["matches"]:
            m["seen_at"] = ts
        snapshot["fetched_at"] = ts
        self._on_sale = {m["key"]: m for m in snapshot["matches"]}  # for the risk controls
        out = decide(snapshot, self.decide_config, self.book, now, windows=True)
        by_match: dict[str, list[dict]] = {}
        for d in out.decisions:
            by_match.setdefault(d["match_key"], []).append(d)
        for key, decisions in by_match.items():
            self.place(decisions, self.hmatches[key], ts)
        return out.next_change


def run_history(lines: list[dict], config: Config, results: dict[str, dict] | None = None,
                end: datetime | None = None) -> HistoryBacktest:
    """Backtest `config` over history `lines` (in `t` order); every bet with a result settled.
    `end`: no instant at or after it (the `--to` bound). Time stops at the last line (the
    recording ended there: no later instant is decided on); bets still waiting settle then."""
    hm = matches_of(lines, results or {})
    bt = HistoryBacktest(config, hm)
    if not lines:
        return bt.finish()
    state: dict[str, dict] = {}  # key -> its match as odds-data carries it
    i, n = 0, len(lines)
    horizon = parse_iso(lines[-1]["t"])
    if end is not None:
        horizon = min(horizon, end - timedelta(microseconds=1))
    now: datetime | None = parse_iso(lines[0]["t"])
    collecting = gc.isenabled()
    gc.disable()  # as the CSV backtest: collect once, at the end
    try:
        while now is not None:
            ts_now = iso(now)
            while i < n and lines[i]["t"] <= ts_now:  # the snapshot as of now
                r = lines[i]
                prev = state.get(r["key"])
                state[r["key"]] = {k: r[k] if k in r else (prev.get(k) if prev else None)
                                   for k in FIELDS}
                bt.changes += 1
                i += 1
            # only what decide can bet on: scheduled, priced
            snapshot = {"matches": [dict(m) for m in state.values()
                                    if m["status"] == "scheduled" and m["odds"]]}
            nxt = bt.decide_at(now, snapshot)
            later = [t for t in (nxt, parse_iso(lines[i]["t"]) if i < n else None,
                                 bt.waiting[0][0] if bt.waiting else None) if t is not None]
            now = min((t for t in later if t > now), default=None)
            if now is not None and now > horizon:
                now = None
        bt.finish()
        return bt
    finally:
        if collecting:
            gc.enable()
