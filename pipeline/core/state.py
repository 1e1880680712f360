"""State derived by replaying the ledger (DESIGN: "all state is derived by replaying the ledger").

`Book.apply(event)` folds one event in; `replay(events)` folds them all. Applying events one by
one as they arrive gives the same Book as replaying the whole ledger at once, which is what makes
a restart change nothing. Config-dependent figures (bankroll) are computed from a Book and a
session's config by the functions below, never stored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable


@dataclass
class Intent:
    decision_id: str
    session: str
    client_ref: str
    attempt: int
    match_key: str
    selection: str
    odds: float
    stake: float
    mode: str
    ts: str
    seq: int


@dataclass
class Bet:
    decision_id: str
    session: str
    client_ref: str
    bet_ref: str
    match_key: str
    selection: str
    odds: float
    stake: float
    placed_at: str
    seq: int
    outcome: str | None = None  # won | lost | void once settled
    payout: float = 0.0
    profit: float = 0.0
    settled_at: str | None = None

    @property
    def open(self) -> bool:
        return self.outcome is None


@dataclass
class SessionBook:
    """One session's figures since its last SESSION_RESET (counts for limits and halts)."""
    id: str
    reset_seq: int = 0
    bets: list[Bet] = field(default_factory=list)  # placed since the reset, in ledger order
    settled: list[Bet] = field(default_factory=list)  # in settlement order
    in_flight: dict[str, Intent] = field(default_factory=dict)  # decision_id -> unresolved intent
    halted: str | None = None
    halted_at: str | None = None
    targets_reached: int = 0
    first_bet_at: str | None = None

    @property
    def staked(self) -> float:
        return round(sum(b.stake for b in self.bets), 2)

    @property
    def settled_profit(self) -> float:
        return round(sum(b.profit for b in self.settled), 2)

    @property
    def open_bets(self) -> list[Bet]:
        return [b for b in self.bets if b.open]

    @property
    def open_stake(self) -> float:
        return round(sum(b.stake for b in self.open_bets), 2)


@dataclass
class Book:
    seq: int = 0
    intents: dict[str, Intent] = field(default_factory=dict)  # client_ref -> intent
    unresolved: dict[str, Intent] = field(default_factory=dict)  # client_ref -> intent w/o outcome
    placed: dict[str, Bet] = field(default_factory=dict)  # decision_id -> its one placed bet
    by_bet_ref: dict[str, Bet] = field(default_factory=dict)
    failures: dict[str, list[dict]] = field(default_factory=dict)  # decision_id -> BET_FAILED events
    refusals: dict[tuple[str, str], str] = field(default_factory=dict)  # (decision_id, control) -> reason
    sessions: dict[str, SessionBook] = field(default_factory=dict)
    duplicates: list[dict] = field(default_factory=list)  # a second BET_PLACED for one id (never expected)

    def session(self, session_id: str) -> SessionBook:
        if session_id not in self.sessions:
            self.sessions[session_id] = SessionBook(session_id)
        return self.sessions[session_id]

    # -- queries ------------------------------------------------------------------------
    def in_flight(self, decision_id: str) -> Intent | None:
        return next((i for i in self.unresolved.values() if i.decision_id == decision_id), None)

    def stands(self, decision_id: str) -> bool:
        """A decision stops standing once its id has a BET_PLACED, an unresolved BET_INTENDED,
        or a failure the bookmaker called final (not retryable)."""
        if decision_id in self.placed or self.in_flight(decision_id):
            return False
        return not any(not f.get("retryable", False) for f in self.failures.get(decision_id, []))

    def attempts(self, decision_id: str) -> int:
        return sum(1 for i in self.intents.values() if i.decision_id == decision_id)

    # -- folding ------------------------------------------------------------------------
    def apply(self, ev: dict) -> None:
        seq = ev.get("seq", 0)
        if seq <= self.seq:
            return  # already applied (a re-read of the same ledger)
        self.seq = seq
        handler = getattr(self, "_on_" + str(ev.get("type", "")).lower(), None)
        if handler:
            handler(ev)

    def _on_bet_intended(self, ev: dict) -> None:
        intent = Intent(ev["decision_id"], ev["session"], ev["client_ref"], int(ev["attempt"]),
                        ev["match_key"], ev["selection"], float(ev["odds"]), float(ev["stake"]),
                        ev.get("mode", "paper"), ev["ts"], ev["seq"])
        self.intents[intent.client_ref] = intent
        self.unresolved[intent.client_ref] = intent
        self.session(intent.session).in_flight[intent.decision_id] = intent

    def _resolve(self, ev: dict) -> Intent | None:
        intent = self.unresolved.pop(ev.get("client_ref"), None)
        if intent:
            self.session(intent.session).in_flight.pop(intent.decision_id, None)
        return intent or self.intents.get(ev.get("client_ref"))

    def _on_bet_placed(self, ev: dict) -> None:
        intent = self._resolve(ev)
        did = ev["decision_id"]
        if did in self.placed:
            self.duplicates.append(ev)
            return
        bet = Bet(did, ev["session"], ev["client_ref"], str(ev["bet_ref"]),
                  ev.get("match_key") or (intent.match_key if intent else ""),
                  ev.get("selection") or (intent.selection if intent else ""),
                  float(ev["odds"]), float(ev["stake"]), ev["ts"], ev["seq"])
        self.placed[did] = bet
        self.by_bet_ref[bet.bet_ref] = bet
        sb = self.session(bet.session)
        sb.bets.append(bet)
        sb.first_bet_at = sb.first_bet_at or bet.placed_at

    def _on_bet_failed(self, ev: dict) -> None:
        self._resolve(ev)
        self.failures.setdefault(ev["decision_id"], []).append(ev)

    def _on_bet_refused(self, ev: dict) -> None:
        self.refusals[(ev["decision_id"], ev["control"])] = ev["reason"]

    def _on_bet_settled(self, ev: dict) -> None:
        bet = self.by_bet_ref.get(str(ev["bet_ref"])) or self.placed.get(ev["decision_id"])
        if bet is None or not bet.open:
            return
        bet.outcome, bet.payout, bet.profit = ev["outcome"], float(ev["payout"]), float(ev["profit"])
        bet.settled_at = ev["ts"]
        sb = self.session(bet.session)
        if bet in sb.bets:
            sb.settled.append(bet)

    def _on_target_reached(self, ev: dict) -> None:
        self.session(ev["session"]).targets_reached += 1

    def _on_session_halted(self, ev: dict) -> None:
        sb = self.session(ev["session"])
        sb.halted, sb.halted_at = ev["reason"], ev["ts"]

    def _on_session_reset(self, ev: dict) -> None:
        old = self.session(ev["session"])
        fresh = SessionBook(old.id, reset_seq=ev["seq"])
        fresh.in_flight = old.in_flight  # bets in flight stay in flight across a reset
        self.sessions[old.id] = fresh


def replay(events: Iterable[dict]) -> Book:
    book = Book()
    for ev in events:
        book.apply(ev)
    return book


def bankroll(sb: SessionBook, start: float) -> float:
    """Current bankroll: starting bankroll + settled profit."""
    return round(start + sb.settled_profit, 2)


def free_bankroll(sb: SessionBook, start: float) -> float:
    """Starting bankroll + settled profit - open stakes - stakes in flight."""
    in_flight = sum(i.stake for i in sb.in_flight.values())
    return round(start + sb.settled_profit - sb.open_stake - in_flight, 2)
