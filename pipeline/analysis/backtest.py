"""The backtest (DESIGN: backtest semantics), on the strategy code the decide program runs.

Matches come in kickoff order (ties: file-then-row, files in command-line order). Before deciding
on a match, every bet whose settlement time (kickoff + 110 min, when the sandbox and the replay
publish results) has come settles on the full-time result, in settlement-time order then
file-then-row, with the halts those settlements cause. Then the match alone, as an odds-data
snapshot whose prices were seen "now" (= its kickoff), goes to `engine.decide(..., windows=False)`
with the `Book` built so far, and every decision the risk controls pass (strategies.controls: the
executor's chain, without the controls that cannot refuse here, `BACKTEST_PASSES`) is filled at
its quoted price as a BET_PLACED (with the halts placements cause); a refused one is kept in
`refused`. Events are ledger-shaped (seq, ts, type, session, …) and folded
by `Book.apply`, so staking, bankroll, limits and halts behave exactly as live. Bets still open at
the end settle last. Figures come from `pipeline.strategies.settlement.figures`, as results.json's do.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable, Sequence

from pipeline.core.config import Config
from pipeline.core.errors import BetpipeError
from pipeline.core.events import ABSENT, BetPlaced, Event, maker, stamp
from pipeline.core.gcpause import collect_after
from pipeline.core.matchkey import KeyTables, load_tables
from pipeline.core.state import Bet, Book, SessionBook
from pipeline.core.timefmt import iso, parse_iso
from pipeline.history.football_data import (PRICE_SOURCES, Fixture, FootballDataError,
                                            closing_source, parse_file)
from pipeline.strategies import clv
from pipeline.strategies.controls import (BACKTEST_PASSES, Ctx, Refusal, chain, first_refusal,
                                          price_of)
from pipeline.strategies.engine import OddsIndex, decide
from pipeline.strategies.ladder import with_targets
from pipeline.strategies.rules import can_halt, review_figures
from pipeline.strategies.settlement import figures, halt_cause, halt_event, settle, winner
from pipeline.strategies.value import NO_TABLES, Tables

SETTLE_AFTER = timedelta(minutes=110)
FTR_SIDE = {"H": "home", "D": "draw", "A": "away"}
# what the report shows per session, in this order (DESIGN + the bankroll and halt at the end)
FIGURES = ("bets", "won", "staked", "profit", "roi", "hit_rate", "max_drawdown", "bankroll",
           "halted", "clv_bets", "clv_mean", "ev_close_mean")
DEFAULT = "default"  # --closing not given: the --odds source's own closing columns
_placed = maker(BetPlaced)  # positional: one per bet (the hot path)


_SETTLED_ISO: dict[datetime, str] = {}  # settle instant -> ISO text (same in every trial)


def _settled_iso(at: datetime) -> str:
    if len(_SETTLED_ISO) >= 100_000:
        _SETTLED_ISO.clear()
    text = _SETTLED_ISO[at] = iso(at)
    return text


class BacktestError(BetpipeError, ValueError):
    """Input the backtest cannot use: names the file, the row and the field."""


@dataclass(frozen=True)
class BtMatch:
    """A match the backtest can bet on: its fixture, the chosen source's prices, its result."""

    fixture: Fixture
    odds: dict[str, float] | None  # {"home", "draw", "away"}; None: no 1X2 prices
    result: dict[str, int]        # {"home_goals", "away_goals"}, agreeing with FTR
    order: int                    # file-then-row position across the files given
    handicap: list = ()           # odds-data's AH entries (Fixture.handicap), when asked for
    totals: list = ()             # odds-data's OU entries (Fixture.totals), when asked for
    closing: dict | None = None   # the closing state ({"odds", "handicap", "totals"}), if any

    @property
    def kickoff(self) -> datetime:
        return self.fixture.kickoff

    @property
    def settle_at(self) -> datetime:
        return self.fixture.kickoff + SETTLE_AFTER


@dataclass(frozen=True)
class Loaded:
    matches: list[BtMatch]        # in kickoff order, ties file-then-row
    rows: int                     # every match row read
    skipped: int                  # rows without the source's prices of any market asked for
    fixtures: tuple = ()          # every row of the files (the model's training rows)


def result_of(f: Fixture) -> dict[str, int]:
    """The full-time result as odds-data carries it; the side it names is FTR's.

    A row with FTR but no score gets a stand-in score with FTR's winner (1-0, 0-0, 0-1)."""
    side = FTR_SIDE.get(f.ftr or "")
    if side is None:
        raise BacktestError(f"{f.file} row {f.row}: field FTR: {f.ftr!r} is not H, D or A")
    if f.result is None:
        goals = {"home": (1, 0), "draw": (0, 0), "away": (0, 1)}[side]
        return {"home_goals": goals[0], "away_goals": goals[1]}
    result = {"home_goals": f.result[0], "away_goals": f.result[1]}
    if winner(result) != side:
        raise BacktestError(f"{f.file} row {f.row}: field FTR: {f.ftr!r} disagrees with the "
                            f"score {f.result[0]}-{f.result[1]} (FTHG-FTAG)")
    return result


def closing_state(f: Fixture, source: str | None) -> dict | None:
    """The row's closing state from `source`'s columns (1X2, AH, OU 2.5), None without one."""
    if source is None:
        return None
    prices = f.odds(source)
    state = {"odds": {"home": prices[0], "draw": prices[1], "away": prices[2]} if prices else None,
             "handicap": f.handicap(source), "totals": f.totals(source)}
    return state if any(state.values()) else None


def markets_of(config: Config) -> tuple[str, ...]:
    """The markets the config's sessions bet on (the ones `load_matches` needs prices of)."""
    return tuple(dict.fromkeys(s.market for s in config.sessions)) or ("1X2",)


def load_matches(paths: Sequence[str | Path], source: str, tables: KeyTables | None = None,
                 markets: Sequence[str] = ("1X2",), closing: str | None = DEFAULT) -> Loaded:
    """The matches of `paths` that have `source`'s prices of at least one of `markets`, in
    the backtest's order. A match without one market's columns (DESIGN's table: 1X2, AH, OU
    2.5) carries none of it and is skipped for that market only. Each match has its closing
    state from `closing`'s columns (DEFAULT: `source`'s own closing columns; None: no close)."""
    if source not in PRICE_SOURCES:
        raise BacktestError(f"unknown odds source {source!r}; known: {', '.join(PRICE_SOURCES)}")
    if closing == DEFAULT:
        closing = closing_source(source)
    if closing is not None and closing not in PRICE_SOURCES:
        raise BacktestError(f"unknown closing source {closing!r}; known: "
                            f"{', '.join(PRICE_SOURCES)}")
    tables = tables or load_tables()
    want_1x2, want_ah, want_ou = ("1X2" in markets), ("AH" in markets), ("OU" in markets)
    out: list[BtMatch] = []
    every: list[Fixture] = []
    rows = skipped = 0
    for path in paths:
        try:
            fixtures = parse_file(path, tables)
        except FileNotFoundError:
            raise BacktestError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise BacktestError(f"{path}: is a folder; give the CSV files") from None
        except FootballDataError as e:  # "E0_2019-20.csv row 3: ...": say where the file is
            msg, name = str(e), Path(path).name
            raise BacktestError(f"{path}{msg[len(name):]}" if msg.startswith(name)
                                else f"{path}: {msg}") from None
        every += fixtures
        for f in fixtures:
            rows += 1
            prices = f.odds(source) if want_1x2 else None
            handicap = f.handicap(source) if want_ah else []
            totals = f.totals(source) if want_ou else []
            if prices is None and not handicap and not totals:
                skipped += 1
                continue
            odds = ({"home": prices[0], "draw": prices[1], "away": prices[2]}
                    if prices is not None else None)
            out.append(BtMatch(f, odds, result_of(f), len(out), handicap, totals,
                               closing_state(f, closing)))
    out.sort(key=lambda m: (m.kickoff, m.order))
    return Loaded(out, rows, skipped, tuple(every))


def snapshot(m: BtMatch) -> dict:
    """The match alone as an odds-data document at its kickoff, its prices seen just then."""
    f, now = m.fixture, iso(m.kickoff)
    match = {"key": f.key, "season": f.season, "competition": f.competition, "home": f.home,
             "away": f.away, "kickoff": now, "status": "scheduled", "odds": m.odds,
             "seen_at": now, "result": None}
    if m.handicap:
        match["handicap"] = m.handicap
    if m.totals:
        match["totals"] = m.totals
    return {"fetched_at": now, "matches": [match]}


class Backtest:
    """One run: the Book, the bets waiting for their results, and each bet's match."""

    def __init__(self, config: Config, book: Book | None = None, tables: Tables = NO_TABLES,
                 leave_out=BACKTEST_PASSES):
        """`leave_out`: the risk controls not run (default: those that cannot refuse here)."""
        self.config = config
        self.tables = tables  # model and reference probabilities (analysis/probabilities)
        self.book = book if book is not None else Book()
        self.seq = 0
        # one entry per match with bets: (settle_at, order, the match, its bets in placement
        # order); its bets settle in (settle_at, order, seq) order, as one entry per bet would
        self.waiting: list[tuple[datetime, int, BtMatch, list[Bet]]] = []
        self.placed_on: list[tuple[BtMatch, list[Bet]]] = []  # each match bet on, its bets
        self._match_of: tuple[int, dict[str, BtMatch]] = (0, {})  # (len(placed_on), ref -> match)
        self._closes: tuple[int, dict] = (-1, {})  # (seq, ref -> Clv | None)
        self.matches = 0
        self._sessions = {s.id: s for s in config.sessions}
        # sessions that can halt (halt_cause is None without these limits) / halt with time
        self._halting = {s.id for s in config.sessions if can_halt(s.limits, daily=False, review=s.review)}
        self._timed = [s.id for s in config.sessions if s.limits.max_duration_h is not None]
        self._ladders = any(s.staking.ends_cycles for s in config.sessions)
        # the risk controls each session's decisions go through (none: every decision is filled)
        self._controls = {s.id: c for s in config.sessions if (c := chain(s, config, leave_out))}
        self.refused: list[tuple[dict, Refusal]] = []  # (decision, refusal) in decision order

    # -- the ledger ----------------------------------------------------------------------
    def append(self, events: Iterable[Event], ts: str) -> None:  # stamped as the ledger would
        seq, apply = self.seq, self.book.apply
        for ev in events:
            seq += 1
            apply(stamp(ev, seq, ts))
        self.seq = seq

    def halts(self, session_ids: Iterable[str], now: datetime) -> list[Event]:
        """SESSION_HALTED for each of these sessions whose limits the state now trips (as track
        and execute write them: once, not for a session already halted)."""
        out = []
        for sid in dict.fromkeys(session_ids):
            s, sb = self._sessions.get(sid), self.book.sessions.get(sid)
            if sid not in self._halting or sb is None or sb.halted:
                continue
            cause = halt_cause(s.limits, settled_profit=sb.settled_profit, placed=sb.bets_placed,
                               first_bet_at=sb.first_bet_at, now=now, review=s.review,
                               reviewed=review_figures(sb) if s.review else None)
            if cause:
                out.append(halt_event(sid, cause))
        return out

    # -- settling ------------------------------------------------------------------------
    def settle_until(self, now: datetime | None) -> None:
        """Settle every bet whose result is out by `now` (None: all), one batch per instant."""
        waiting = self.waiting
        while waiting and (now is None or waiting[0][0] <= now):
            at = waiting[0][0]
            batch = []
            while waiting and waiting[0][0] == at:
                _, _, m, bets = heapq.heappop(waiting)
                batch.append((m, bets))
            self.settle_batch(batch, at)

    def settle_batch(self, batch: list[tuple[BtMatch, list[Bet]]], at: datetime) -> None:
        """One instant's settlements (each match with its bets, in order) in one append, with
        the TARGET_REACHED and the halts they cause (as the track program appends them)."""
        bodies = []
        for m, bets in batch:
            match = {"status": "finished", "result": m.result}
            bodies += [settle(bet, match) for bet in bets]
        if self._ladders:
            bodies = with_targets(bodies, self.book, self.config)
        ts = _SETTLED_ISO.get(at) or _settled_iso(at)
        self.append(bodies, ts)
        if self._halting:
            self.append(self.halts([b.session for b in bodies], at), ts)

    # -- deciding ------------------------------------------------------------------------
    def step(self, m: BtMatch, index: OddsIndex | None = None, ts: str | None = None) -> None:
        """Decide on the match at its kickoff. `index`, `ts`: its snapshot's `OddsIndex` and
        kickoff ISO text if made beforehand (optimize's trials, analysis/trials.py)."""
        if index is None:
            snap = snapshot(m)
            index, ts = OddsIndex(snap, check=False), snap["fetched_at"]
        self.pass_by(m, ts)
        self.place(decide(index, self.config, self.book, m.kickoff, windows=False,
                          tables=self.tables).decisions, m, ts)

    def pass_by(self, m: BtMatch, ts: str) -> None:
        """What a match's step does before deciding: every result out by its kickoff settled,
        the time halts then due. A match no session can bet on needs only this."""
        now = m.kickoff
        self.settle_until(now)
        if self._timed:
            self.append(self.halts(self._timed, now), ts)
        self.matches += 1

    def place(self, decisions: list[dict], m: BtMatch, ts: str) -> None:
        """Fill the match's decisions the risk controls pass at their quoted prices and stakes
        (no slippage), one BET_PLACED each (with the halts it causes); its bets wait for its
        result."""
        if not decisions:
            return
        bets = self.bets_list(m)
        apply, placed, halting = self.book.apply, self.book.placed, self._halting
        controls, match, now = self._controls, None, None
        for d in decisions:
            did, sid = d["id"], d["session"]
            if sid in controls:
                if match is None:
                    match, now = self.on_sale(m), parse_iso(ts)
                refusal = first_refusal(d, self.context(d, match, now, bets), controls[sid])
                if refusal is not None:
                    self.refused.append((d, refusal))
                    continue
            self.seq = seq = self.seq + 1  # one event: what `append` does, without its loop
            apply(_placed((seq, ts, ABSENT, sid, None, did, did + "#1", f"bt-{seq}", d["odds"],
                           d["stake"], d["match_key"], d["market"], d["selection"],
                           d.get("line"), ts)))
            bets.append(placed[did])
            if sid in halting:
                self.append(self.halts([sid], self.placed_at(m, ts)), ts)

    def placed_at(self, m: BtMatch, ts: str) -> datetime:
        """The instant a bet on `m` placed at `ts` (its ISO text) is placed: a CSV match is
        decided on at its kickoff."""
        return m.kickoff

    def bets_list(self, m: BtMatch) -> list[Bet]:
        """Where the match's new bets go: a new list waiting for its result (a CSV match is
        decided once; the odds history's backtest keeps one list per match)."""
        bets: list[Bet] = []
        heapq.heappush(self.waiting, (m.settle_at, m.order, m, bets))
        self.placed_on.append((m, bets))
        return bets

    def on_sale(self, m: BtMatch) -> dict:
        """The match as the snapshot its decisions were made on has it (for the controls)."""
        return snapshot(m)["matches"][0]

    def context(self, d: dict, match: dict, now: datetime, bets: list[Bet]) -> Ctx:
        """What the controls see of decision `d` at `now` (the executor's view, from the
        backtest's book): the match on sale as the snapshot has it (`match`, its prices seen
        now); every bet on the match is one of `bets` (the match's list); nothing in flight."""
        s = self._sessions.get(d["session"])
        sb = self.book.sessions.get(d["session"]) or SessionBook(d["session"])
        exposure = round(sum(b.stake for b in bets if b.open), 2) if bets else 0.0
        return Ctx(now, s, sb, match, price_of(match, d), match.get("seen_at"),
                   self.config.max_odds_age_s, match_exposure=exposure)

    def finish(self) -> "Backtest":
        self.settle_until(None)
        return self

    # -- what came out -------------------------------------------------------------------
    def session_book(self, session_id: str) -> SessionBook:
        return self.book.sessions.get(session_id) or SessionBook(session_id)

    def bets(self, session_id: str) -> list[tuple[Bet, BtMatch]]:
        """A session's bets in placement order, each with its match."""
        return [(b, self.match_of[b.bet_ref]) for b in self.session_book(session_id).bets]

    @property
    def match_of(self) -> dict[str, BtMatch]:
        """bet_ref -> the match of the bet (made when asked, kept while no match is added)."""
        n, out = self._match_of
        if n != len(self.placed_on):
            out = {b.bet_ref: m for m, bets in self.placed_on for b in bets}
            self._match_of = (len(self.placed_on), out)
        return out

    def closes(self) -> dict[str, clv.Clv | None]:
        """bet_ref -> the bet's closing-line value against its match's closing state."""
        n, out = self._closes
        if n != self.seq:
            out = {}
            for m, bets in self.placed_on:
                for b in bets:
                    market, line = clv.bet_market(b)
                    out[b.bet_ref] = clv.of_bet(b.odds, b.selection, m.closing, market, line)
            self._closes = (self.seq, out)
        return out

    def figures(self, session_id: str) -> dict:
        """bets, won, staked, profit, roi, hit_rate, max_drawdown, bankroll, halted, equity,
        clv_bets, clv_mean, ev_close_mean."""
        s = self.config.session(session_id)
        sb = self.session_book(session_id)
        out = figures(sb, s.bankroll if s else 1000.0, closes=self.closes())
        out["won"] = sum(1 for b in sb.settled if b.outcome == "won")
        return out

    def report(self) -> dict[str, dict]:
        """One object keyed by session id (config order): the figures of FIGURES."""
        out = {}
        for s in self.config.sessions:
            f = self.figures(s.id)
            out[s.id] = {k: f[k] for k in FIGURES}
        return out


def run(matches: Sequence[BtMatch], config: Config,
        progress: Callable[[int], None] | None = None, book: Book | None = None,
        tables: Tables = NO_TABLES, leave_out=BACKTEST_PASSES) -> Backtest:
    """Backtest `config`'s sessions over `matches` (from `load_matches`); every bet settled.
    `book` (default: a new `Book`) is where the events are folded; `tables` the probabilities
    of sessions from model or reference (`analysis.probabilities.tables_for`); `leave_out`: the
    risk controls not run (`()`: the executor's whole chain)."""
    bt = Backtest(config, book, tables, leave_out)
    # a run allocates ~10 objects per bet and frees few: collect once, at the end
    with collect_after():
        for i, m in enumerate(matches, 1):
            bt.step(m)
            if progress is not None and i % 100 == 0:
                progress(i)
        if progress is not None:
            progress(len(matches))
        return bt.finish()
