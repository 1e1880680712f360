"""The CHECKPOINT event (DESIGN: operations, `betpipe ledger archive`): what the archived events
of the ledger leave behind, so that replaying the checkpoint with the events the ledger keeps
gives the state the whole history gives.

An archive moves the events of bets settled before a date (their intents, failures, refusals,
placement and settlement) and the session events (SESSION_RESET, SESSION_HALTED,
TARGET_REACHED) before it into `data/archive/`; the events it keeps stay where they were, with
their seq, and the CHECKPOINT is appended after them with the next seq (a seq is never reused
and the file's seqs keep increasing). Since every archived settlement comes before every kept
one, the archived part of each session is a prefix of its settlements in order, and the
checkpoint carries it as running figures:

- `life` (the session's whole ledger, what results.json's figures add up): bets, their stake
  but void ones, settled profit, decided and won settlements, the equity curve and the
  drawdown fold;
- `period` (since the session's last reset, what limits, staking and the ladder fold): the
  reset's seq, bets placed, their stake, settled profit, each settlement's outcome and payout
  (the staking plans fold over them), the settled non-void bets' count, stake and profit (what
  a `review` reads: `decided`), settled profit per UTC day, the first bet, the halt,
  TARGET_REACHED count and seq, lost bets and the seq of the last, and the seqs of the bets
  placed since the ladder cycle began.

A Book that reaches a CHECKPOINT having applied the events kept before it folds it in
(`merge`); a program that followed the ledger before it was archived rebuilds its Book from the
new file (`state.absorb_new`). What is not carried: the per-decision memory of archived bets
(their placed/failed/refused entries): their matches are over, no decision for them stands.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pipeline.core.bets import LOSSES, WINS
from pipeline.core.events import Checkpoint
from pipeline.core.timefmt import parse_iso

CHECKPOINT = Checkpoint.TYPE
CODES = {"won": "W", "half_won": "w", "void": "V", "half_lost": "l", "lost": "L"}
OUTCOMES = {v: k for k, v in CODES.items()}


@dataclass(slots=True)
class Settled:
    """An archived settlement as the staking folds see it."""
    outcome: str
    payout: float


Decided = tuple[int, float, float]  # settled non-void bets: count, stake, profit (unrounded)
NO_DECIDED: Decided = (0, 0.0, 0.0)


def add_decided(fig: Decided, rows) -> Decided:
    """`fig` continued over `rows` ((outcome, stake, profit) per settlement, in settlement
    order): the settled non-void bets' count, stake and profit, unrounded. What a `review`
    reads (strategies.rules.review_figures) and what a checkpoint's period carries of it."""
    bets, staked, profit = fig
    for outcome, stake, gain in rows:
        if outcome != "void":
            bets, staked, profit = bets + 1, staked + stake, profit + gain
    return bets, staked, profit


@dataclass
class Life:
    """Running figures over a sequence of bets and settlements (settlement order)."""
    bets: int = 0
    staked: float = 0.0  # stakes of bets not void
    profit: float = 0.0  # unrounded
    decided: int = 0  # settlements not void
    won: int = 0
    equity: list = field(default_factory=list)  # [settled_at, cumulative profit to the cent]
    drawdown: list = field(default_factory=lambda: [0.0, 0.0, 0.0])  # cum, peak, worst

    def add_bets(self, bets) -> "Life":
        for b in bets:
            self.bets += 1
            if b.outcome != "void":
                self.staked += b.stake
        return self

    def add_settled(self, settled) -> "Life":
        cum = self.equity[-1][1] if self.equity else 0.0
        d_cum, peak, worst = self.drawdown
        for b in settled:
            self.profit += b.profit
            if b.outcome != "void":
                self.decided += 1
                self.won += b.outcome in WINS
            cum = round(cum + b.profit, 2)
            self.equity.append([b.settled_at, cum])
            d_cum += b.profit
            peak = max(peak, d_cum)
            worst = max(worst, peak - d_cum)
        self.drawdown = [d_cum, peak, worst]
        return self

    def copy(self) -> "Life":
        return Life(self.bets, self.staked, self.profit, self.decided, self.won,
                    list(self.equity), list(self.drawdown))

    def to_json(self) -> dict:
        return {"bets": self.bets, "staked": self.staked, "profit": self.profit,
                "decided": self.decided, "won": self.won, "equity": self.equity,
                "drawdown": self.drawdown}

    @classmethod
    def from_json(cls, doc: dict) -> "Life":
        return cls(int(doc["bets"]), float(doc["staked"]), float(doc["profit"]),
                   int(doc["decided"]), int(doc["won"]), [list(p) for p in doc["equity"]],
                   [float(x) for x in doc["drawdown"]])


@dataclass
class Period:
    """The archived part of a session's period since its last reset."""
    reset_seq: int = 0
    bets: int = 0
    staked: float = 0.0
    profit: float = 0.0  # unrounded, settlement order
    settled: list[Settled] = field(default_factory=list)
    days: dict = field(default_factory=dict)  # date -> settled profit that UTC day
    first_bet: list | None = None  # [seq, placed_at]
    halted: list | None = None  # [reason, at]
    targets: int = 0
    target_seq: int = 0
    lost: int = 0
    lost_seq: int = 0  # settled_seq of the last lost bet
    after_began: list = field(default_factory=list)  # seqs of bets placed since the cycle began
    decided: Decided = NO_DECIDED  # settled non-void bets: count, stake, profit (add_decided)

    def to_json(self) -> dict:
        return {"reset_seq": self.reset_seq, "bets": self.bets, "staked": self.staked,
                "profit": self.profit,
                "settled": "".join(CODES[s.outcome] for s in self.settled),
                "payouts": [s.payout for s in self.settled],
                "days": {d.isoformat(): p for d, p in sorted(self.days.items())},
                "first_bet": self.first_bet, "halted": self.halted, "targets": self.targets,
                "target_seq": self.target_seq, "lost": self.lost, "lost_seq": self.lost_seq,
                "after_began": self.after_began, "decided": list(self.decided)}

    @classmethod
    def from_json(cls, doc: dict) -> "Period":
        settled = [Settled(OUTCOMES[c], float(p)) for c, p in zip(doc["settled"], doc["payouts"])]
        if "decided" not in doc:
            raise ValueError("CHECKPOINT: a session's period has no 'decided' (the settled "
                             "non-void bets' count, stake and profit a review reads): written "
                             "by a betpipe older than the review figures of an archive")
        n, staked, profit = doc["decided"]
        return cls(int(doc["reset_seq"]), int(doc["bets"]), float(doc["staked"]),
                   float(doc["profit"]), settled,
                   {date.fromisoformat(d): float(p) for d, p in doc["days"].items()},
                   doc["first_bet"], doc["halted"], int(doc["targets"]), int(doc["target_seq"]),
                   int(doc["lost"]), int(doc["lost_seq"]), [int(s) for s in doc["after_began"]],
                   (int(n), float(staked), float(profit)))


@dataclass
class Carried:
    """What a session's archived events leave: its life, and its period while no reset came
    after them (None once one did)."""
    life: Life = field(default_factory=Life)
    period: Period | None = field(default_factory=Period)

    def lifetime_only(self) -> "Carried":
        return Carried(self.life, None)


# --------------------------------------------------------------------------- making one

def session_carried(sb) -> Carried:
    """A session book's whole state (its carried part and its lists) as a Carried."""
    c = sb.carried or Carried()
    life = c.life.copy().add_bets(sb.all_bets).add_settled(sb.all_settled)
    p = c.period if c.period is not None else Period(reset_seq=sb.reset_seq)
    period = Period(sb.reset_seq, p.bets + len(sb.bets), p.staked + sum(b.stake for b in sb.bets),
                    p.profit + sum(b.profit for b in sb.settled),
                    p.settled + [Settled(b.outcome, b.payout) for b in sb.settled])
    period.decided = add_decided(p.decided, ((b.outcome, b.stake, b.profit) for b in sb.settled))
    period.days = dict(p.days)
    for b in sb.settled:
        d = parse_iso(b.settled_at).date()
        period.days[d] = period.days.get(d, 0) + b.profit
    first = [[b.seq, b.placed_at] for b in sb.bets[:1]]
    period.first_bet = min(([p.first_bet] if p.first_bet else []) + first, default=None)
    period.halted = [sb.halted, sb.halted_at] if sb.halted is not None else None
    period.targets, period.target_seq = sb.targets_reached, sb.target_seq
    lost = [b.settled_seq for b in sb.settled if b.outcome in LOSSES]
    period.lost, period.lost_seq = p.lost + len(lost), max([p.lost_seq] + lost)
    began = max(period.lost_seq, period.target_seq, period.reset_seq)
    period.after_began = ([s for s in p.after_began if s > began]
                          + [b.seq for b in sb.bets if b.seq > began])
    return Carried(life, period)


def body(book, total, last_seq: int, **fields) -> Checkpoint:
    """The CHECKPOINT body for a Book of the archived events (`total`: their Life over every
    session, in settlement order)."""
    sessions = {}
    for sid, sb in book.sessions.items():
        c = session_carried(sb)
        sessions[sid] = {"life": c.life.to_json(), "period": c.period.to_json()}
    return Checkpoint(session="", last_seq=last_seq, **fields, sessions=sessions,
                      total=total.to_json())


# --------------------------------------------------------------------------- folding one in

def merge(book, ev: Checkpoint) -> None:
    """Fold a CHECKPOINT into a Book that applied the events kept before it (and nothing of
    what it archived): each session's kept bets are sorted into the periods the archived resets
    made, and the archived figures go in front of the kept ones."""
    from pipeline.core.state import SessionBook  # state imports this module

    book.carried_total = Life.from_json(ev.total)
    for sid, doc in ev.sessions.items():
        c = Carried(Life.from_json(doc["life"]), Period.from_json(doc["period"]))
        old = book.session(sid)
        if old.reset_seq:  # a kept reset came after everything archived: life only
            old.carried = c.lifetime_only()
            continue
        p = c.period
        sb = SessionBook(sid, reset_seq=p.reset_seq)
        sb.carried = c
        sb.in_flight = old.in_flight
        sb.earlier = [b for b in old.bets if b.seq < p.reset_seq]
        sb._open = {b.seq: b for b in sb.earlier if b.open}
        sb._open_sum = None
        for b in old.bets:
            if b.seq > p.reset_seq:
                sb.add_bet(b)
        for b in old.settled:
            sb.add_settled(b)
        first = [[b.seq, b.placed_at] for b in sb.bets[:1]]
        first = min(([p.first_bet] if p.first_bet else []) + first, default=None)
        sb.first_bet_at = first[1] if first else None
        sb.halted, sb.halted_at = ((old.halted, old.halted_at) if old.halted is not None
                                   else tuple(p.halted) if p.halted else (None, None))
        sb.targets_reached = p.targets + old.targets_reached
        sb.target_seq = max(p.target_seq, old.target_seq)
        book.sessions[sid] = sb
