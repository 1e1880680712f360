"""The backtest on the odds history (`betpipe backtest --history DIR`; DESIGN: "Odds history and
closing-line value"): the recorded prices through the same engine, book and settlement as the
CSV backtest (pipeline.analysis.backtest), with windows on.

Time runs through the instants at which `decide` could see something new: every recorded line's
`t` (in `t` order, as the monitor's snapshots showed them), every instant at which time alone
changes `decide`'s outcome (`Outcome.next_change`: a window opening or closing, a price turning
stale, a duration or day limit) and every settlement. At each instant the bets whose result is
out settle (then their halts), the lines of that instant are applied, and `decide(...,
windows=True)` decides as it would on the snapshot of every match known; its decisions are
filled at their quoted prices (the limits a placement may trip read at that instant). A line is
its match's whole state (pipeline.history.store): a market a line leaves out is no longer
offered. A bet settles on the match's first recorded `finished` line with a result, at that
line's `t`; where the history has no result, on `--results` CSVs' FTR/score at kickoff + 110
minutes (when the sandbox and the replay publish them); with neither, it stays open.

Incrementally: the matches are kept in a running index (strategies.running), a line updating
its match in place, and `decide` is handed only the matches that can have a decision at the
instant (pipeline.analysis.histclock says which); a session blocked by its bankroll or a limit
reads all its matches when a settlement or a new day may free it (`_View`: from the running
index, past the first ones it has decided on), and `decide(count_all=False)` stops a session at
a refusal every later match would get too. Instants where nothing can be decided and neither
the ledger nor the index moved skip `decide`; `next_change` (which asks about every match) is
worked out again only when something it reads moved. tests/history/test_incremental.py holds the
per-instant rebuild this replaced as its yardstick.

Staleness: a history holds changes, not polls — a price that did not move was still seen at
every poll in between, and no line says when the monitor was down. So a recorded price counts as
seen "now" (`seen_at` = the instant) until its match's next line; `max_odds_age_s` therefore
never trips here (what it guards against live — a monitor that stopped — leaves no trace).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Sequence

from pipeline.analysis.backtest import SETTLE_AFTER, Backtest, BacktestError, result_of
from pipeline.analysis.histclock import Clock
from pipeline.core.config import Config
from pipeline.core.gcpause import collect_after
from pipeline.core.matchkey import KeyTables
from pipeline.core.state import Bet
from pipeline.core.timefmt import iso, parse_iso
from pipeline.history import store
from pipeline.history.store import FIRST
from pipeline.history.football_data import FootballDataError, parse_file
from pipeline.strategies import clv
from pipeline.strategies.engine import decide, next_change

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


def matches_of(lines: list[dict], results: dict[str, dict],
               closing: bool = True) -> dict[str, HMatch]:
    """Each match's kickoff (last recorded), result, when it came out and (with `closing`) its
    closing state; without, `add_closings` gives the matches bet on theirs afterwards."""
    seen = {r["key"]: r for r in lines}  # each match's last line
    out_at: dict[str, tuple[str, dict]] = {}
    for r in [r for r in lines if r["status"] == "finished"]:
        if r.get("result") and r["key"] not in out_at:
            out_at[r["key"]] = (r["t"], r["result"])
    of_key: dict[str, list[dict]] = {}
    if closing:
        for r in lines:
            of_key.setdefault(r["key"], []).append(r)
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
                               clv.closing_state(of_key[r["key"]], r["kickoff"])
                               if closing else None)
    return out


def add_closings(lines: list[dict], bt: "HistoryBacktest", i: int) -> None:
    """The closing state of every match bet on (what `matches_of` gives with `closing`), from
    `bt.of_key` (each match's lines up to line `i`) and the lines from `i` on."""
    want = {m.key: m for m, _ in bt.placed_on}
    of_key = bt.of_key
    for r in lines[i:]:  # past the run's last instant (a --to bound): the close may be there
        if r["key"] in want:
            of_key[r["key"]].append(r)
    for key, m in want.items():
        m.closing = clv.closing_state(of_key[key], of_key[key][-1]["kickoff"])


class HistoryBacktest(Backtest):
    def __init__(self, config: Config, matches: dict[str, HMatch]):
        super().__init__(config)
        self.hmatches = matches
        self._lists: dict[str, list[Bet]] = {}
        self.changes = 0  # history lines stepped through
        # key -> its lines so far: the last is its whole state now (pipeline.history.store);
        # the closing states are read from them
        self.of_key: dict[str, list[dict]] = {}
        # on_sale's: key -> (its lines read, their first-line fields, the match)
        self._sale: dict[str, tuple[int, dict, dict]] = {}
        self.now_iso = ""  # the instant being decided (its prices are seen then)
        self.touched: set[str] = set()  # sessions with settlements since last asked
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

    def placed_at(self, m: HMatch, ts: str) -> datetime:
        """The instant being decided (not the match's kickoff, as in the CSV backtest): the
        limits a placement may trip (max_duration_h) are read then."""
        return parse_iso(ts)

    def settle_batch(self, batch, at: datetime) -> None:
        super().settle_batch(batch, at)
        self.touched.update(b.session for _, bets in batch for b in bets)

    def on_sale(self, m: HMatch) -> dict:
        """The match as a snapshot of every match known would carry it, seen now: its last
        line's fields, and the first-line fields as store.fold keeps them (worked out once
        per line, for the controls of every decision on it until its next line)."""
        lines = self.of_key[m.key]
        done, first, match = self._sale.get(m.key) or (0, {}, None)
        if done != len(lines):
            for r in lines[done:]:  # the first-line fields, folded over the lines not yet read
                for k in FIRST:
                    if k in r:
                        first[k] = r[k]
            match = {k: lines[-1].get(k) for k in FIELDS}
            match.update(first)
            self._sale[m.key] = (len(lines), first, match)
        return {**match, "seen_at": self.now_iso}

    def fill(self, decisions: list[dict], ts: str) -> set[str]:
        """Fill one pass's decisions, match by match in the order decide made them; returns
        the keys of the matches with a decision the risk controls refused."""
        self.now_iso = ts
        by_match: dict[str, list[dict]] = {}
        for d in decisions:
            by_match.setdefault(d["match_key"], []).append(d)
        refused = len(self.refused)
        for key, decisions in by_match.items():
            self.place(decisions, self.hmatches[key], ts)
        return {d["match_key"] for d, _ in self.refused[refused:]}


def run_history(lines: list[dict], config: Config, results: dict[str, dict] | None = None,
                end: datetime | None = None) -> HistoryBacktest:
    """Backtest `config` over history `lines` (in `t` order); every bet with a result settled.
    `end`: no instant at or after it (the `--to` bound). Time stops at the last line (the
    recording ended there: no later instant is decided on); bets still waiting settle then."""
    hm = matches_of(lines, results or {}, closing=False)
    bt = HistoryBacktest(config, hm)
    if not lines:
        return bt.finish()
    clock = Clock(bt)
    index, config_ = clock.index, bt.decide_config
    i, n = 0, len(lines)
    horizon = parse_iso(lines[-1]["t"])
    if end is not None:
        horizon = min(horizon, end - timedelta(microseconds=1))
    now: datetime | None = parse_iso(lines[0]["t"])
    quiet, nxt = None, None  # (ledger seq, index moves, day) of the last pass; its next change
    held = None  # what `nxt` was worked out from: (index moves, day), active sessions, firsts
    line_t, line_at = None, None  # the next line's `t` and its instant
    with collect_after():  # as the CSV backtest: collect once, at the end
        while now is not None:
            ts = iso(now)
            bt.settle_until(now)  # settling reads no prices: before the instant's lines
            if bt._timed:
                bt.append(bt.halts(bt._timed, now), ts)
            j, seen = clock.apply(lines, i, ts, now)
            bt.changes += j - i
            i = j
            here = (index.moves, now.date())
            ahead = nxt is None or now < nxt
            # neither the ledger, the index nor the day moved since the last pass, whose next
            # time-driven change (a window opening among them) is still ahead
            same = ahead and quiet == (bt.seq, *here)
            # no window opened since the last instant: `nxt` is ahead and neither the index nor
            # the day moved since it was worked out (the ledger opens no window, and only a new
            # day brings a halted session back)
            still = ahead and held is not None and held[0] == here
            pick = clock.to_decide(now, seen, opened=not still)
            if pick or clock.full or not same:
                # else nothing to decide on, and neither the ledger, the index nor the day
                # changed since the last pass, before its `nxt`: the same `nxt` (engine.next_change)
                index.seen(now)
                out = decide(index.view(pick, now, ts, clock.full, bt.book.not_standing()),
                             config_, bt.book, now,
                             windows=True, with_next_change=False, count_all=False)
                basis = (here, out.active, clock.firsts())
                if not (ahead and basis == held and (nxt is None or nxt <= horizon)):
                    # else the same `nxt`: the first time-driven change after it was worked out
                    # is still ahead and nothing it is worked out from moved — the index, the
                    # day, the active sessions, their first bets (max_duration_h) — (staleness's
                    # far-off instant, which counts from now, lies past the horizon either way)
                    nxt, held = next_change(index, config_, bt.book, now, out.active), basis
                clock.decided(now, out)
                quiet = (bt.seq, *here)
                clock.refused = bt.fill(out.decisions, ts)
            else:
                clock.before, clock.refused = now, set()
            # the next instant: the first after now of the time-driven change, the next line,
            # the next settlement
            at = None
            if i < n:
                t = lines[i]["t"]
                if t != line_t:
                    line_t, line_at = t, parse_iso(t)
                at = line_at if line_at > now else None
            if nxt is not None and nxt > now and (at is None or nxt < at):
                at = nxt
            if bt.waiting:
                due = bt.waiting[0][0]
                if due > now and (at is None or due < at):
                    at = due
            now = at if at is not None and at <= horizon else None
        bt.finish()
        add_closings(lines, bt, i)
        return bt
