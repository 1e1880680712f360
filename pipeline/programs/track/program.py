"""`betpipe track`: settle placed bets from odds-data results, halt sessions, keep results.json.

Every pass (at start and on each change of odds-data, the ledger or the config): each open
placed bet whose match (odds-data `matches[].key`) is finished with a result, postponed or void
settles; all due settlements of a pass are appended in ONE `ledger.transact`, which re-checks
under the lock that each bet is still open, together with the SESSION_HALTED of any session whose
limits the new state trips (written once: not while the session's halt stands; a daily_loss
halt stands for the rest of its UTC day). Halts that placements cause (max_bets,
max_duration_h) are written by whichever program sees them first. `data/results.json` (sole
writer) is rewritten when the ledger or the config changed. The math is in `pipeline.strategies.settlement`.
At start and every simulated hour the bookmaker's whole bet history is reconciled with the
ledger (`pipeline.bookmakers.reconcile`): an unknown bet halts every session, logs an error and
degrades health; a BET_PLACED the bookmaker lacks logs an error and degrades health. A bookmaker
that declares no bet history is not reconciled: a warning at start and health `reconcile` say so.
Once a bet's match has kicked off, its closing line is taken from the odds history
(`pipeline.history.closing`, remembered) and results.json carries each session's `clv_bets`,
`clv_mean`, `ev_close_mean` and each bet's close (`closes`).
An open bet whose match has no result `settle_overdue_h` after kickoff is overdue
(`pipeline.strategies.overdue`): logged once, listed in health (`overdue`) until it settles; it
stays open until a result comes or an operator settles it (`betpipe settle`).
"""
from __future__ import annotations

from pipeline.core.config import Config
from pipeline.core.events import BetSettled, Event
from pipeline.core.filebus import SnapshotWriter
from pipeline.core.ledger import Ledger
from pipeline.core.paths import Home
from pipeline.core.runtime import Runtime
from pipeline.core.state import Book, SessionBook
from pipeline.core.timefmt import iso
from pipeline.core.watchloop import LastGood, serve
from pipeline.core.state import absorb_new
from pipeline.core.files import check_odds
from pipeline.history.closing import Closes
from pipeline.history.store import history_dir
from pipeline.strategies.ladder import with_targets
from pipeline.strategies.rules import daily_profit, review_figures, standing_halt
from pipeline.strategies.settlement import figures, halt_cause, halt_event, results_body, settle
from pipeline.bookmakers.reconcile import Hourly, history, history_problem
from pipeline.strategies.overdue import overdue_bets

PROGRAM = "track"
OVERDUE_CHECK_REAL_S = 5.0  # a pass at least this often: bets turn overdue as the clock moves

__all__ = ["main", "Tracker", "settle", "figures"]


class Tracker:
    """The track program's state and one pass, without the watching (tests call `run_pass`)."""

    def __init__(self, home: Home, ledger: Ledger, clock, reconcile: Hourly | None = None):
        self.ledger, self.clock, self.reconcile = ledger, clock, reconcile
        self.book = Book()
        self.results = SnapshotWriter(home.results)
        self._written: tuple | None = None  # (ledger seq, config, closes) of the last results.json
        self.closes = Closes(history_dir(home.data))  # each bet's closing line, once kicked off
        self.overdue: list[dict] = []  # the open bets overdue now (health `overdue`)
        self.newly_overdue: list[dict] = []  # those the last pass found first (logged once)
        self._reported: set[str] = set()  # bet_refs reported overdue by this process

    def absorb(self, events) -> None:
        absorb_new(self.book, events)

    def due(self, matches: dict[str, dict], config: Config | None) -> list[Event]:
        """Settlements (in placement order) and the halts they or placements cause."""
        bets = sorted((b for b in self.book.placed.values() if b.open), key=lambda b: b.seq)
        bodies = [s for s in (settle(b, matches.get(b.match_key), "track") for b in bets) if s]
        if config is None:
            return bodies
        bodies = with_targets(bodies, self.book, config)  # TARGET_REACHED with its settlement
        now = self.clock.now()
        for s in config.sessions:
            sb = self.book.sessions.get(s.id) or SessionBook(s.id)
            if standing_halt(sb, now):
                continue
            mine = [b for b in bodies if type(b) is BetSettled and b.session == s.id]
            new = sum(b.profit for b in mine)  # each counts in the period it settles in
            today = round(daily_profit(sb, now) + new, 2) if s.limits.daily_loss else None
            cause = halt_cause(s.limits, settled_profit=round(sb.settled_profit + new, 2),
                               placed=sb.bets_placed, first_bet_at=sb.first_bet_at, now=now,
                               today_profit=today, review=s.review,
                               reviewed=review_figures(sb, mine) if s.review else None)
            if cause:
                bodies.append(halt_event(s.id, cause))
        return bodies

    def run_pass(self, odds: dict | None, config: Config | None) -> list[Event]:
        self.absorb(self.ledger.read())
        matches = {m.get("key"): m for m in (odds or {}).get("matches", [])}
        out: list[Event] = []
        if self.due(matches, config):
            def fn(events):
                self.absorb(events)  # under the lock: what is settled or halted by now
                return self.due(matches, config)

            out = self.ledger.transact(fn)
            self.absorb(out)
        if self.reconcile is not None:
            halts = self.reconcile.run(config)
            self.absorb(self.ledger.read())
            out += halts
        self.check_overdue(matches, config)
        self.closes.update(self.book.placed.values(),
                           {k: m["kickoff"] for k, m in matches.items() if m.get("kickoff")},
                           self.clock.now())
        self.write_results(config)
        return out

    def check_overdue(self, matches: dict[str, dict], config: Config | None) -> list[dict]:
        """The overdue bets now (`overdue`) and those not reported before (`newly_overdue`)."""
        hours = (config or Config()).settle_overdue_h
        self.overdue = overdue_bets(self.book, matches, self.clock.now(), hours)
        self.newly_overdue = [o for o in self.overdue if o["bet_ref"] not in self._reported]
        self._reported.update(o["bet_ref"] for o in self.newly_overdue)
        return self.newly_overdue

    def problem(self) -> str | None:
        """A reconciliation discrepancy that stands (health degraded), else None."""
        if self.reconcile is None:
            return None
        now = self.clock.now()
        return self.reconcile.problem({sid: standing_halt(sb, now)
                                       for sid, sb in self.book.sessions.items()})

    def write_results(self, config: Config | None) -> dict | None:
        written = (self.book.seq, config, len(self.closes.taken))
        if self._written == written:
            return None
        doc = self.results.write(results_body(self.book, config, self.closes.taken),
                                 written_at=iso(self.clock.now()))
        self._written = written
        return doc


def main(home: Home | None = None) -> int:
    rt = Runtime(PROGRAM, home)
    try:
        if not rt.start():
            return 0
        ledger, mode = Ledger(rt.home.ledger, rt.clock), rt.config.mode  # mode: at start only
        unsupported = history_problem(mode)  # the bookmaker's declared capabilities
        if unsupported:
            rt.log.warning("reconcile.unsupported", reason=unsupported)
            rt.health.info["reconcile"] = unsupported
        hourly = None if unsupported else Hourly(
            ledger, lambda: history(rt.home, rt.config, mode), mode, rt.clock, rt.log)
        tracker = Tracker(rt.home, ledger, rt.clock, hourly)
        odds = LastGood(rt.home.odds, rt.log, check_odds)

        def on_pass(_changed) -> str | None:
            for ev in tracker.run_pass(odds.load(), rt.config):
                settled = type(ev) is BetSettled
                fields = ("bet_ref", "outcome", "profit") if settled else ("reason",)
                rt.log.info(ev.TYPE.lower().replace("_", "."), session=ev.session,
                            **{k: getattr(ev, k, None) for k in fields})
                rt.health.incr("settled" if settled else "halts")
            for o in tracker.newly_overdue:
                rt.log.warning("bet.overdue", bet_ref=o["bet_ref"], session=o["session"],
                               match_key=o["match_key"], kickoff=o["kickoff"],
                               overdue_since=o["overdue_since"],
                               hint=f"betpipe settle {o['bet_ref']} --score H-A | --void")
            version = (odds.doc or {}).get("version")
            beat = tracker.overdue != rt.health.info.get("overdue", [])
            rt.health.info["overdue"] = tracker.overdue
            if version is not None and rt.health.info.get("odds_version") != version:
                rt.health.info["odds_version"] = version
                beat = True
            if beat:
                rt.health.beat()
            problems = [tracker.problem(),
                        odds.problem and f"{rt.home.odds.name}: {odds.problem}"]
            return "; ".join(p for p in problems if p) or None

        serve(rt, [rt.home.odds, rt.home.ledger], on_pass, every_real_s=OVERDUE_CHECK_REAL_S)
        return 0
    finally:
        rt.close()
