"""Bets no source settles (DESIGN: operations a 24/7 user expects): overdue bets and settling by
hand. Pure functions of plain values; track, notify and the CLI call them.

An open bet whose match has no result `settle_overdue_h` simulated hours after kickoff is overdue.
The kickoff is the match's in odds-data; a bet whose match odds-data no longer lists (so no
result can come for it) counts from its placement, which is never after its kickoff. An overdue
bet stays open — nothing is guessed — until a result comes or an operator settles it:
`manual_settlement` is the BET_SETTLED (source `manual`) of `betpipe settle`, by the same
settlement rule track uses (`pipeline.strategies.settlement.settle`).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from pipeline.core.errors import BetpipeError
from pipeline.core.events import ABSENT, BetSettled, Event
from pipeline.core.state import Book, replay
from pipeline.core.timefmt import iso, parse_iso
from pipeline.strategies.settlement import settle


class Refused(BetpipeError, ValueError):
    """A manual settlement that must not be written; the message says why."""


def _kickoff(match: dict | None) -> datetime | None:
    try:
        return parse_iso(match["kickoff"]) if isinstance(match, dict) else None
    except (KeyError, TypeError, ValueError):
        return None


def overdue_bets(book: Book, matches: dict[str, dict], now: datetime, hours: float) -> list[dict]:
    """The open placed bets overdue at `now`, in placement order, each with what an operator
    needs to settle it (`matches`: odds-data matches by key)."""
    out = []
    for bet in sorted((b for b in book.placed.values() if b.open), key=lambda b: b.seq):
        match = matches.get(bet.match_key)
        if isinstance(match, dict) and match.get("result"):
            continue  # a result is there: track settles it
        kickoff = _kickoff(match)
        due = (kickoff or parse_iso(bet.placed_at)) + timedelta(hours=hours)
        if now >= due:
            out.append({"bet_ref": bet.bet_ref, "session": bet.session,
                        "decision_id": bet.decision_id, "match_key": bet.match_key,
                        "selection": bet.selection, "odds": bet.odds, "stake": bet.stake,
                        "placed_at": bet.placed_at, "kickoff": kickoff and iso(kickoff),
                        "match_status": match.get("status") if isinstance(match, dict) else None,
                        "overdue_since": iso(due)})
    return out


def manual_settlement(events: list[Event], bet_ref: str,
                      score: tuple[int, int] | None) -> BetSettled:
    """The BET_SETTLED body (source manual) settling `bet_ref` with the final `score` (home,
    away goals), or void when `score` is None. Refused for a bet_ref the ledger does not know,
    one without BET_PLACED, and a bet already settled. Call it under the ledger lock
    (`Ledger.transact`) with the events as they stand there."""
    book = replay(events)
    bet = book.by_bet_ref.get(bet_ref)
    if bet is None:
        seen = [e for e in events
                if bet_ref in (getattr(e, "bet_ref", None), getattr(e, "client_ref", None))]
        if seen:
            kinds = ", ".join(f"{e.kind} (seq {e.seq})" for e in seen[:5])
            raise Refused(f"bet {bet_ref!r} has no BET_PLACED in the ledger (it has {kinds}); "
                          "only a placed bet can be settled")
        raise Refused(f"unknown bet_ref {bet_ref!r}: no event of the ledger names it "
                      "(`betpipe bets` lists the bets)")
    if not bet.open:
        how = next((e for e in events if type(e) is BetSettled and e.seq == bet.settled_seq),
                   None)
        source = how.source if how is not None and how.source is not ABSENT else "track"
        raise Refused(f"bet {bet_ref!r} is already settled: {bet.outcome}, profit "
                      f"{bet.profit:+.2f} at seq {bet.settled_seq} (source "
                      f"{source}); a bet settles once")
    match = ({"status": "void", "result": None} if score is None else
             {"status": "finished", "result": {"home_goals": score[0], "away_goals": score[1]}})
    body = settle(bet, match, "manual")
    assert body is not None  # an open bet always settles against a final status
    return body
