"""Ladder cycles (DESIGN: staking plans → ladder), pure: where a session stands in its cycle, and
the TARGET_REACHED events the tracker appends with the settlements that end a cycle.

A ladder cycle starts with `stake`; each win (half_won too) lets the whole return ride; a win
whose return reaches `target` ends the cycle with TARGET_REACHED (written in the same ledger
append as that settlement), and so does a loss (half_lost too). Cycle number = lost ladder bets
+ TARGET_REACHED events + 1 (since the session's last SESSION_RESET); the bet number in the
cycle counts the bets placed since the cycle began. Sessions of other plans are always in cycle 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from pipeline.core.config import Config, Session, Staking
from pipeline.core.events import BetSettled, Event, TargetReached
from pipeline.core.state import Book, SessionBook
from pipeline.strategies.markets import LOSSES, WINS

_EPS = 1e-9


@dataclass(frozen=True)
class Position:
    cycle: int
    bet: int  # bets placed since the cycle began (0: the next bet opens the cycle)


def position(session: Session | None, sb: SessionBook) -> Position:
    """The session's cycle and bet number in it, from its ledger-derived book."""
    if session is None or not session.staking.ends_cycles:
        return Position(1, sb.bets_placed)
    lost = [b for b in sb.settled if b.outcome in LOSSES]
    p = sb.period  # what an archive carries of the period (pipeline.core.checkpoint)
    began = max([b.settled_seq for b in lost] + [sb.target_seq, sb.reset_seq]
                + ([p.lost_seq] if p is not None else []))
    archived = (p.lost, sum(1 for s in p.after_began if s > began)) if p is not None else (0, 0)
    return Position(len(lost) + archived[0] + sb.targets_reached + 1,
                    archived[1] + sum(1 for b in sb.bets if b.seq > began))


def cycle(config: Config | None, session_id: str, sb: SessionBook) -> int:
    """results.json's `cycle` of a session."""
    return position(config.session(session_id) if config else None, sb).cycle


def reaches_target(staking: Staking, outcome: str, payout: float) -> bool:
    """A ladder win whose return (stake x odds, the payout) is at least the target."""
    return (staking.ends_cycles and staking.target is not None and outcome in WINS
            and payout >= staking.target - _EPS)


def with_targets(bodies: Iterable[Event], book: Book, config: Config | None) -> list[Event]:
    """`bodies` (one ledger append) with a TARGET_REACHED right after every BET_SETTLED of a
    ladder win that reaches its session's target: session, decision_id, cycle (the one it
    ends) and return. Earlier settlements of the same append count towards the cycle."""
    out: list[Event] = []
    ended: dict[str, int] = {}  # session -> cycles ended earlier in this append
    for body in bodies:
        out.append(body)
        if type(body) is not BetSettled:
            continue
        sid = body.session
        session = config.session(sid) if config is not None else None
        if session is None:
            continue
        if not session.staking.ends_cycles:
            continue
        sb = book.sessions.get(sid) or SessionBook(sid)
        if body.outcome in LOSSES:
            ended[sid] = ended.get(sid, 0) + 1
        elif reaches_target(session.staking, body.outcome, float(body.payout)):
            out.append(TargetReached(session=sid, decision_id=body.decision_id,
                                     bet_ref=body.bet_ref,
                                     cycle=position(session, sb).cycle + ended.get(sid, 0),
                                     returned=round(float(body.payout), 2),
                                     target=session.staking.target))
            ended[sid] = ended.get(sid, 0) + 1
    return out
