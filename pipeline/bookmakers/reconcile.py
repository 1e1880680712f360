"""The bookmaker's whole bet history against the ledger (DESIGN: operations — "reconciliation of
the bookmaker's bet history with the ledger at start and every hour; an unknown bet halts
everything and alerts").

`history(home, config)` asks the bookmaker of the config's mode (the registry,
pipeline.bookmakers) for every bet it accepted, through its declared `bet_history` capability:
paper its own record (`data/paper/bets.jsonl`), live the sandbox's `GET {url}/api/bets` (the site
the executor places on). A bookmaker that declares no bet history cannot be reconciled:
`NoBetHistory` (a HistoryUnavailable) says so, naming it; track then does not reconcile.
`check(ledger, fetch, mode)` reads the ledger, then the history, then the ledger again, so that
neither a placement racing the check nor its write-ahead order can look like a discrepancy, and
`compare` (pure) says what does not match one to one:
- **unknown**: a bet of the bookmaker whose client_ref has no BET_INTENDED in the ledger, whose
  intent the ledger failed, whose BET_PLACED names another bet_ref, or whose market or line
  (DESIGN: markets; absent = 1X2, no line) is not the one its intent names. `halts` turns each one
  into a SESSION_HALTED of every session (reason `reconcile: unknown bet <bet_ref>`), written
  once per bet; the track program appends them and logs an error.
- **missing**: a BET_PLACED (of this mode) the bookmaker does not have: an error, no halt.
A bet the bookmaker has under an intent still unresolved is in flight (the executor reconciles
it), not a discrepancy.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Callable

from pipeline.bookmakers import HistoryUnavailable, bookmaker_class
from pipeline.core.adapters import label
from pipeline.core.config import Config
from pipeline.core.events import Event, SessionHalted
from pipeline.core.ledger import Ledger
from pipeline.core.paths import Home

UNKNOWN_BET = "reconcile: unknown bet "
EVERY = timedelta(hours=1)  # simulated time


class NoBetHistory(HistoryUnavailable):
    """The bookmaker declares no bet history (capability `bet_history`): nothing to compare."""


@dataclass
class Report:
    mode: str
    bookmaker_bets: int = 0
    ledger_placed: int = 0  # BET_PLACED of this mode
    matched: int = 0
    in_flight: list[str] = field(default_factory=list)  # client_refs
    unknown: list[dict] = field(default_factory=list)  # {bet_ref, client_ref, why}
    missing: list[dict] = field(default_factory=list)  # {bet_ref, client_ref, decision_id}

    @property
    def ok(self) -> bool:
        return not self.unknown and not self.missing

    def to_json(self) -> dict:
        return {"ok": self.ok, **asdict(self)}

    def problem(self) -> str | None:
        """One line for health, None when everything matches."""
        parts = []
        if self.unknown:
            refs = ", ".join(u["bet_ref"] for u in self.unknown[:5])
            parts.append(f"{len(self.unknown)} bet(s) at the bookmaker unknown to the ledger: "
                         f"{refs}")
        if self.missing:
            refs = ", ".join(m["bet_ref"] for m in self.missing[:5])
            parts.append(f"{len(self.missing)} BET_PLACED unknown to the bookmaker: {refs}")
        return "reconcile: " + "; ".join(parts) if parts else None


# --------------------------------------------------------------------------- the history

def history_problem(mode: str) -> str | None:
    """Why the bookmaker of `mode` cannot be reconciled (it declares no bet history), else None."""
    cls = bookmaker_class(mode)
    if cls.capabilities.bet_history:
        return None
    return (f"{label('bookmaker', cls, mode)} declares no bet history (capability bet_history): "
            f"its bets cannot be reconciled with the ledger")


def history(home: Home, config: Config, mode: str | None = None) -> list[dict]:
    """The accepted bets of the bookmaker of `mode` (default: the config's), from the bookmaker
    itself; NoBetHistory when it has none to give, HistoryUnavailable when it cannot now."""
    mode = mode or config.mode
    problem = history_problem(mode)
    if problem:
        raise NoBetHistory(problem)
    return bookmaker_class(mode).history(home, config)


# --------------------------------------------------------------------------- the comparison

def compare(bets: list[dict], before: list[dict], after: list[dict], mode: str) -> Report:
    """Match the bookmaker's `bets` with the ledger read `before` and `after` fetching them.

    An unknown bet is judged against `after` (its intent was written before the bookmaker took
    it); a missing one against `before` (its BET_PLACED was written after)."""
    intents, placed, failed = _index(after)
    report = Report(mode, bookmaker_bets=len(bets))
    at_bookmaker: dict[str, dict] = {}
    for bet in bets:
        ref, bet_ref = str(bet.get("client_ref")), str(bet.get("bet_ref"))
        at_bookmaker[ref] = bet
        known = placed.get(ref)
        wrong = _other_pick(bet, intents.get(ref))
        if known is not None and str(known["bet_ref"]) == bet_ref and wrong is None:
            report.matched += 1
            continue
        if wrong is not None:
            why = wrong
        elif known is not None:
            why = f"the ledger placed {ref} as bet {known['bet_ref']}"
        elif ref in failed:
            why = f"the ledger says {ref} failed ({failed[ref]})"
        elif ref in intents:
            report.in_flight.append(ref)
            continue
        else:
            why = f"no BET_INTENDED with client_ref {ref}"
        report.unknown.append({"bet_ref": bet_ref, "client_ref": ref, "why": why})
    _, placed_before, _ = _index(before)
    for ref, ev in placed_before.items():
        if intents.get(ref, {}).get("mode", "paper") != mode:
            continue
        report.ledger_placed += 1
        if ref not in at_bookmaker:
            report.missing.append({"bet_ref": str(ev["bet_ref"]), "client_ref": ref,
                                   "decision_id": ev.get("decision_id")})
    return report


def _pick(doc: dict) -> tuple[str, float | None]:
    """(market, line) of a bet or a ledger event: no market = 1X2, no line = None."""
    line = doc.get("line")
    return doc.get("market") or "1X2", None if line is None else float(line)


def _other_pick(bet: dict, intent: dict | None) -> str | None:
    """Why the bookmaker's bet is not the one its intent asked for (market, line), else None."""
    if intent is None:
        return None
    (bm, bl), (im, il) = _pick(bet), _pick(intent)
    if (bm, bl) == (im, il):
        return None
    return (f"the bookmaker has {bet.get('client_ref')} as {bm} line {bl}, the ledger intended "
            f"{im} line {il}")


def _index(events: list[dict]) -> tuple[dict, dict, dict]:
    intents, placed, failed = {}, {}, {}
    for ev in events:
        kind, ref = ev.get("type"), ev.get("client_ref")
        if kind == "BET_INTENDED":
            intents[ref] = ev
        elif kind == "BET_PLACED":
            placed[ref] = ev
        elif kind == "BET_FAILED":
            failed[ref] = ev.get("reason")
    return intents, placed, failed


def check(ledger: Ledger, fetch: Callable[[], list[dict]], mode: str) -> Report:
    """Ledger, history, ledger again (see `compare`: the lines as written, as the bookmaker's
    bets are). HistoryUnavailable when it cannot be had."""
    before = ledger.records()
    bets = fetch()
    return compare(bets, before, ledger.records(), mode)


# --------------------------------------------------------------------------- halts

def halts(report: Report, events: list[Event], sessions: list[str]) -> list[SessionHalted]:
    """SESSION_HALTED of every session for each unknown bet not yet halted for (written once)."""
    done = {ev.reason for ev in events if type(ev) is SessionHalted}
    out = []
    for bet in report.unknown:
        reason = UNKNOWN_BET + bet["bet_ref"]
        if reason in done:
            continue
        done.add(reason)
        out += [SessionHalted(session=sid, reason=reason,
                              detail=f"{bet['why']}; every session halts until reset")
                for sid in sessions]
    return out


def session_ids(config: Config | None, events: list[Event]) -> list[str]:
    """Every session: configured ones first, then any other the ledger names."""
    ids = [s.id for s in config.sessions] if config else []
    return ids + sorted({ev.session for ev in events if ev.session} - set(ids))


# --------------------------------------------------------------------------- the hourly check

class Hourly:
    """The track program's reconciliation: at start and every simulated hour; when the history
    cannot be had, again after RETRY_REAL_S real seconds. `run` appends the halts of unknown
    bets; `problem` is what health says while a discrepancy stands."""

    RETRY_REAL_S = 5.0

    def __init__(self, ledger: Ledger, fetch: Callable[[], list[dict]], mode: str, clock, log):
        self.ledger, self.fetch, self.mode, self.clock, self.log = ledger, fetch, mode, clock, log
        self.next_at = None  # simulated time of the next check (None: now)
        self.retry_at = None  # real time of the next try after a failure
        self.report: Report | None = None
        self._unavailable: str | None = None

    def due(self) -> bool:
        if self.retry_at is not None and self.clock.real_now() < self.retry_at:
            return False
        return self.next_at is None or self.clock.now() >= self.next_at

    def run(self, config: Config | None) -> list[SessionHalted]:
        """Check if due; the SESSION_HALTED events appended for unknown bets."""
        if not self.due():
            return []
        try:
            report = check(self.ledger, self.fetch, self.mode)
        except HistoryUnavailable as e:
            self.retry_at = self.clock.real_now() + timedelta(seconds=self.RETRY_REAL_S)
            if str(e) != self._unavailable:
                self.log.warning("reconcile.unavailable", error=str(e))
                self._unavailable = str(e)
            return []
        self.retry_at, self._unavailable = None, None
        self.next_at, self.report = self.clock.now() + EVERY, report
        fields = {k: v for k, v in report.to_json().items() if k not in ("unknown", "missing")}
        fields["in_flight"] = len(report.in_flight)
        (self.log.info if report.ok else self.log.error)(
            "reconcile.done", unknown=len(report.unknown), missing=len(report.missing), **fields)
        for bet in report.missing:
            self.log.error("reconcile.missing_bet", **bet)
        if not report.unknown:
            return []
        out = self.ledger.transact(lambda evs: halts(report, evs, session_ids(config, evs)))
        for ev in out:
            self.log.error("reconcile.halted", session=ev.session, reason=ev.reason,
                           detail=ev.detail)
        return out

    def problem(self, halted: dict[str, str | None]) -> str | None:
        """Health's line: missing bets of the last check, and unknown bets while a session's
        halt for them stands (`betpipe reset` after looking into it clears it)."""
        if self.report is None:
            return None
        standing = {reason for reason in halted.values() if reason}
        unknown = [u for u in self.report.unknown if UNKNOWN_BET + u["bet_ref"] in standing]
        shown = Report(self.mode, unknown=unknown, missing=self.report.missing)
        return shown.problem()
