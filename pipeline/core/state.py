"""State derived by replaying the ledger (DESIGN: "all state is derived by replaying the ledger").

`Book.apply(event)` folds one event in; `replay(events)` folds them all. Applying events one by
one as they arrive gives the same Book as replaying the whole ledger at once, which is what makes
a restart change nothing. Config-dependent figures (bankroll) are computed from a Book and a
session's config by the functions below, never stored.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import Iterable

from pipeline.core.bets import Bet, Intent  # noqa: F401 (defined there, used from here)
from pipeline.core.checkpoint import Carried, Life, merge
from pipeline.core.events import (ABSENT, BetFailed, BetIntended, BetPlaced, BetRefused,
                                  BetSettled, Checkpoint, Event, SessionHalted, SessionReset,
                                  TargetReached)
from pipeline.core.timefmt import parse_iso


_STAKE = attrgetter("stake")


@dataclass
class SessionBook:
    """One session's figures since its last SESSION_RESET (counts for limits and halts), and
    the money that no reset touches (DESIGN invariant 9).

    Since the reset: `bets` (placed), `settled` (every settlement written since, whenever its
    bet was placed), `settled_profit`, `day_profit`, `first_bet_at`, the staking folds. Never
    reset: the open bets (from before the reset too), the intents in flight, and
    `lifetime_profit`, which `bankroll` and `free_bankroll` add to the starting bankroll.
    `earlier` and `settled_before` keep what earlier periods placed and settled; `carried` what
    a CHECKPOINT carries of archived events (pipeline.core.checkpoint), in front of the lists.

    `add_bet` / `add_settled` keep running figures beside the lists, so decide asks for them in
    O(1) (or O(open bets)): staked (in placement order), settled profit (in settlement order,
    bit for bit what `sum` over the list gives), the open bets (by seq) and their stake, and
    settled profit per UTC day (folded lazily). A book whose lists were filled directly (a
    test, results.json's total) has no running figures: its properties scan the lists.
    """
    id: str
    reset_seq: int = 0
    bets: list[Bet] = field(default_factory=list)  # placed since the reset, in ledger order
    settled: list[Bet] = field(default_factory=list)  # in settlement order
    in_flight: dict[str, Intent] = field(default_factory=dict)  # decision_id -> unresolved intent
    halted: str | None = None
    halted_at: str | None = None
    targets_reached: int = 0
    target_seq: int = 0  # seq of the last TARGET_REACHED (a ladder cycle ended there)
    first_bet_at: str | None = None
    earlier: list[Bet] = field(default_factory=list)  # placed before the reset, in ledger order
    settled_before: list[Bet] = field(default_factory=list)  # settled before it, in order
    profit_before: float = 0  # their profit: sum over settled_before, unrounded
    carried: Carried | None = None  # what a CHECKPOINT carries of archived events (checkpoint.py)
    # running figures (see the class docstring), kept by add_bet / add_settled
    _staked: float = field(default=0, repr=False, compare=False)
    _profit: float = field(default=0, repr=False, compare=False)
    _profit2: float | None = field(default=None, repr=False, compare=False)  # rounded
    _open: dict[int, Bet] = field(default_factory=dict, repr=False, compare=False)
    _open_sum: float | None = field(default=0, repr=False, compare=False)  # None: sum afresh
    _placed_n: int = field(default=0, repr=False, compare=False)  # bets added by add_bet
    _settled_n: int = field(default=0, repr=False, compare=False)  # bets added by add_settled
    _days: dict = field(default_factory=dict, repr=False, compare=False)  # date -> profit
    _days_n: int = field(default=0, repr=False, compare=False)  # settled folded into _days
    memo: dict = field(default_factory=dict, repr=False, compare=False)  # folds over `settled`

    def add_bet(self, bet: Bet) -> None:
        self.bets.append(bet)
        if self._placed_n == len(self.bets) - 1:
            self._placed_n += 1
            self._staked += bet.stake
            if bet.outcome is None:
                self._open[bet.seq] = bet
                if self._open_sum is not None:
                    self._open_sum += bet.stake

    def add_settled(self, bet: Bet) -> None:
        self.settled.append(bet)
        if self._settled_n == len(self.settled) - 1:
            self._settled_n += 1
            self._profit += bet.profit
            self._profit2 = None  # round(_profit, 2) when next asked
            if self._open.pop(bet.seq, None) is not None:
                self._open_sum = None

    def has_running_figures(self) -> bool:
        """The running figures hold: every bet and settlement came through add_*."""
        return self._placed_n == len(self.bets) and self._settled_n == len(self.settled)

    @property
    def period(self):
        """The archived part of this period (checkpoint.Period), None when there is none."""
        return self.carried.period if self.carried is not None else None

    @property
    def bets_placed(self) -> int:
        """Bets placed since the reset, archived ones included (`bets` lists the others)."""
        p = self.period
        return len(self.bets) + p.bets if p is not None else len(self.bets)

    @property
    def staked(self) -> float:
        extra = self.period.staked if self.period is not None else 0
        if self._placed_n == len(self.bets):
            return round(extra + self._staked, 2)
        return round(extra + sum(b.stake for b in self.bets), 2)

    @property
    def settled_profit(self) -> float:
        archived = self.period.profit if self.period is not None else 0
        if self._settled_n != len(self.settled):
            return round(archived + sum(b.profit for b in self.settled), 2)
        if self._profit2 is None:
            self._profit2 = round(self._profit + archived, 2)
        return self._profit2

    @property
    def lifetime_profit(self) -> float:
        """Settled profit of every settlement of the session, resets or not."""
        archived = self.carried.life.profit if self.carried is not None else 0
        if self._settled_n == len(self.settled):
            return round(archived + self.profit_before + self._profit, 2)
        return round(archived + sum(b.profit for b in self.all_settled), 2)

    @property
    def all_bets(self) -> list[Bet]:
        """Every bet the session placed, in ledger order (earlier periods first)."""
        return self.earlier + self.bets if self.earlier else self.bets

    @property
    def all_settled(self) -> list[Bet]:
        """Every settlement of the session, in settlement order."""
        return self.settled_before + self.settled if self.settled_before else self.settled

    @property
    def open_bets(self) -> list[Bet]:
        if self.has_running_figures():
            return list(self._open.values())
        return [b for b in self.all_bets if b.open]

    @property
    def open_count(self) -> int:
        return len(self._open) if self.has_running_figures() else len(self.open_bets)

    @property
    def open_stake(self) -> float:
        if self._placed_n == len(self.bets) and self._settled_n == len(self.settled):
            return round(self._open_total(), 2)
        return round(sum(b.stake for b in self.open_bets), 2)

    def _open_total(self) -> float:
        """The open bets' stakes added up in placement order (running figures only)."""
        total = self._open_sum
        if total is None:
            total = self._open_sum = sum(map(_STAKE, self._open.values()))
        return total

    def free_floor(self, start: float) -> float:
        """A lower bound of `free_bankroll(self, start)`, quicker to work out: the same sum
        without its roundings to the cent (of the settled profit, the open stake and the
        result: at most 0.005 each) less 0.02 and a margin far above float error. -inf when the
        book keeps no running figures. A stake up to it needs no exact free bankroll."""
        if self._placed_n != len(self.bets) or self._settled_n != len(self.settled):
            return -math.inf
        tied = self._open_sum
        if tied is None:
            tied = self._open_total()
        profit = self.profit_before + self._profit
        if self.carried is not None:
            profit += self.carried.life.profit
        flying = self.in_flight_stake if self.in_flight else 0
        slack = 0.02 + 1e-12 * (abs(start) + abs(profit) + abs(tied) + abs(flying))
        return start + profit - tied - flying - slack

    @property
    def in_flight_stake(self) -> float:
        return sum(i.stake for i in self.in_flight.values()) if self.in_flight else 0

    def day_profit(self, day: date) -> float:
        """Settled profit of the bets settled on this UTC day (in settlement order)."""
        settled, p = self.settled, self.period
        archived = p.days.get(day, 0) if p is not None else 0
        if not self.has_running_figures():
            return round(archived + sum(b.profit for b in settled
                                        if b.settled_at and parse_iso(b.settled_at).date() == day), 2)
        days = self._days
        for b in settled[self._days_n:]:
            if b.settled_at:
                d = parse_iso(b.settled_at).date()
                days[d] = days.get(d, 0) + b.profit
        self._days_n = len(settled)
        return round(archived + days.get(day, 0), 2)


@dataclass
class Book:
    seq: int = 0
    intents: dict[str, Intent] = field(default_factory=dict)  # client_ref -> intent
    unresolved: dict[str, Intent] = field(default_factory=dict)  # client_ref -> intent w/o outcome
    placed: dict[str, Bet] = field(default_factory=dict)  # decision_id -> its one placed bet
    by_bet_ref: dict[str, Bet] = field(default_factory=dict)
    failures: dict[str, list[BetFailed]] = field(default_factory=dict)  # decision_id -> them
    refusals: dict[tuple[str, str], str] = field(default_factory=dict)  # (decision_id, control) -> reason
    sessions: dict[str, SessionBook] = field(default_factory=dict)
    duplicates: list[BetPlaced] = field(default_factory=list)  # a 2nd BET_PLACED for an id
    # indexes that keep the queries O(1) (decide asks them for every match x session)
    flying: dict[str, dict[str, Intent]] = field(default_factory=dict)  # decision_id -> unresolved
    refs: dict[str, set[str]] = field(default_factory=dict)  # decision_id -> client_refs intended
    final: set[str] = field(default_factory=set)  # decision ids with a non-retryable failure
    carried_total: Life | None = None  # every session's archived figures (a CHECKPOINT's)

    def session(self, session_id: str) -> SessionBook:
        if session_id not in self.sessions:
            self.sessions[session_id] = SessionBook(session_id)
        return self.sessions[session_id]

    # -- queries ------------------------------------------------------------------------
    def in_flight(self, decision_id: str) -> Intent | None:
        return next(iter(self.flying.get(decision_id, {}).values()), None)

    def stands(self, decision_id: str) -> bool:
        """A decision stops standing once its id has a BET_PLACED, an unresolved BET_INTENDED,
        or a failure the bookmaker called final (not retryable)."""
        return not (decision_id in self.placed or self.flying.get(decision_id)
                    or decision_id in self.final)

    def not_standing(self) -> "NotStanding":
        """Every decision id that does not stand (see `stands`), for checking many at once: a
        view that answers `in` from the Book's indexes (building a set of every placed id would
        cost O(ledger) per question)."""
        return NotStanding(self)

    def attempts(self, decision_id: str) -> int:
        return len(self.refs.get(decision_id, ()))

    # -- folding ------------------------------------------------------------------------
    def apply(self, ev: Event) -> None:
        """Fold in one event (core.events): dispatched on its class; an event of a type the
        Book does not fold (events.Unknown) only moves `seq`."""
        try:
            seq = ev.seq
        except AttributeError:
            raise TypeError(f"Book.apply takes a core.events class, not {type(ev).__name__} "
                            "(events.from_dict converts a ledger line)") from None
        if seq <= self.seq:
            return  # already applied (a re-read of the same ledger)
        self.seq = seq
        handler = _HANDLERS.get(type(ev))
        if handler is not None:
            handler(self, ev)

    def _on_bet_intended(self, ev: BetIntended) -> None:
        mode, market, line = ev.mode, ev.market, ev.line
        intent = Intent(ev.decision_id, ev.session, ev.client_ref, int(ev.attempt),
                        ev.match_key, ev.selection, float(ev.odds), float(ev.stake),
                        "paper" if mode is ABSENT else mode, ev.ts, ev.seq,
                        "1X2" if market is ABSENT else market, None if line is ABSENT else line)
        self.intents[intent.client_ref] = intent
        self.unresolved[intent.client_ref] = intent
        self.flying.setdefault(intent.decision_id, {})[intent.client_ref] = intent
        self.refs.setdefault(intent.decision_id, set()).add(intent.client_ref)
        self.session(intent.session).in_flight[intent.decision_id] = intent

    def _resolve(self, client_ref) -> Intent | None:
        intent = self.unresolved.pop(client_ref, None)
        if intent:
            self.session(intent.session).in_flight.pop(intent.decision_id, None)
            flying = self.flying.get(intent.decision_id, {})
            flying.pop(intent.client_ref, None)
            if not flying:
                self.flying.pop(intent.decision_id, None)
        return intent or self.intents.get(client_ref)

    def _on_bet_placed(self, ev: BetPlaced) -> None:
        # every unresolved intent is also in `intents`: none (the backtest), nothing to resolve
        intent = self._resolve(ev.client_ref) if self.intents else None
        did, sid = ev.decision_id, ev.session
        if did in self.placed:
            self.duplicates.append(ev)
            return
        line = ev.line
        bet = Bet(did, sid, ev.client_ref, str(ev.bet_ref),
                  ev.match_key or (intent.match_key if intent else ""),
                  ev.selection or (intent.selection if intent else ""),
                  float(ev.odds), float(ev.stake), ev.ts, ev.seq,
                  market=ev.market or (intent.market if intent else "1X2"),
                  line=line if line is not ABSENT else (intent.line if intent else None))
        self.placed[did] = bet
        self.by_bet_ref[bet.bet_ref] = bet
        sb = self.sessions.get(sid) or self.session(sid)
        sb.add_bet(bet)
        if not sb.first_bet_at:
            sb.first_bet_at = bet.placed_at

    def _on_bet_failed(self, ev: BetFailed) -> None:
        self._resolve(None if ev.client_ref is ABSENT else ev.client_ref)
        self.failures.setdefault(ev.decision_id, []).append(ev)
        if not ev.retryable:
            self.final.add(ev.decision_id)

    def _on_bet_refused(self, ev: BetRefused) -> None:
        self.refusals[(ev.decision_id, ev.control)] = ev.reason

    def _on_bet_settled(self, ev: BetSettled) -> None:
        bet = self.by_bet_ref.get(str(ev.bet_ref)) or self.placed.get(ev.decision_id)
        if bet is None or bet.outcome is not None:
            return
        bet.outcome, bet.payout, bet.profit = ev.outcome, float(ev.payout), float(ev.profit)
        bet.settled_at, bet.settled_seq = ev.ts, ev.seq
        sb = self.sessions.get(bet.session) or self.session(bet.session)
        sb.add_settled(bet)  # in the period it settles in, even if placed before its reset

    def _on_target_reached(self, ev: TargetReached) -> None:
        sb = self.session(ev.session)
        sb.targets_reached, sb.target_seq = sb.targets_reached + 1, ev.seq

    def _on_session_halted(self, ev: SessionHalted) -> None:
        sb = self.session(ev.session)
        sb.halted, sb.halted_at = ev.reason, ev.ts

    def _on_session_reset(self, ev: SessionReset) -> None:
        old = self.session(ev.session)
        fresh = type(old)(old.id, reset_seq=ev.seq)
        # counts restart; the money stays: bets open or in flight at the reset stay so, and
        # what earlier periods placed and settled stays in the session's lifetime figures
        fresh.in_flight = old.in_flight
        fresh.earlier, fresh.settled_before = old.all_bets, old.all_settled
        fresh.profit_before = old.profit_before + sum(b.profit for b in old.settled)
        fresh.carried = old.carried.lifetime_only() if old.carried is not None else None
        fresh._open = {b.seq: b for b in old.open_bets}
        fresh._open_sum = None
        self.sessions[old.id] = fresh

    _on_checkpoint = merge  # the archived history's figures (pipeline.core.checkpoint)


_HANDLERS = {BetIntended: Book._on_bet_intended, BetPlaced: Book._on_bet_placed,
             BetFailed: Book._on_bet_failed, BetRefused: Book._on_bet_refused,
             BetSettled: Book._on_bet_settled, TargetReached: Book._on_target_reached,
             SessionHalted: Book._on_session_halted, SessionReset: Book._on_session_reset,
             Checkpoint: Book._on_checkpoint}


class NotStanding:
    """`Book.not_standing()`: `did in view` is `not book.stands(did)`."""
    __slots__ = ("placed", "flying", "final")

    def __init__(self, book: Book):
        self.placed, self.flying, self.final = book.placed, book.flying, book.final

    def __contains__(self, did: object) -> bool:
        return did in self.placed or did in self.flying or did in self.final


def replay(events: Iterable[Event]) -> Book:
    book = Book()
    for ev in events:
        book.apply(ev)
    return book


def absorb_new(book: Book, events: Iterable[Event]) -> None:
    """Fold in the events (a whole ledger, in seq order) that `book` has not seen: those past
    its seq, found from the end, so a re-read of a long ledger costs what is new in it. When
    they hold a CHECKPOINT and the book has seen events, the ledger was archived under it: the
    book is rebuilt from the new ledger (it would count twice, or miss, what moved away)."""
    events = events if isinstance(events, list) else list(events)
    i = len(events)
    while i and events[i - 1].seq > book.seq:
        i -= 1
    if book.seq and any(type(ev) is Checkpoint for ev in events[i:]):
        book.__dict__.update(replay(events).__dict__)
        return
    for ev in events[i:]:
        book.apply(ev)


def bankroll(sb: SessionBook, start: float) -> float:
    """Current bankroll: starting bankroll + settled profit (all of it: a reset restarts the
    limits, it gives back no money)."""
    return round(start + sb.lifetime_profit, 2)


def free_bankroll(sb: SessionBook, start: float) -> float:
    """Starting bankroll + settled profit - open stakes - stakes in flight (every open bet
    and intent of the session, from before its last reset too)."""
    return round(start + sb.lifetime_profit - sb.open_stake - sb.in_flight_stake, 2)
