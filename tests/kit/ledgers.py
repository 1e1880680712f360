"""Random well-formed ledgers (hypothesis) of several sessions and every staking plan: intents,
placements, failures, settlements, refusals, halts, resets and TARGET_REACHED events."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, settings, strategies as st

from pipeline.core.config import Config
from pipeline.core.state import Book
from pipeline.core.timefmt import iso
from pipeline.strategies import ladder, staking
from tests.kit.tiers import examples

SESSIONS = ("a", "b", "c")
MATCHES = tuple(f"2024-25_Home{i} v Away{i}" for i in range(4))
T0 = datetime(2024, 10, 5, 12, 0, tzinfo=timezone.utc)
PLANS = [{"plan": "flat", "stake": 5}, {"plan": "percent", "percent": 3},
         {"plan": "kelly", "fraction": 0.5, "edge": 0.2},
         {"plan": "martingale", "stake": 2, "max_steps": 3},
         {"plan": "fibonacci", "stake": 2, "max_steps": 4},
         {"plan": "ladder", "stake": 2, "target": 9}]
ODDS = {"home": 2.5, "draw": 3.3, "away": 2.9}


def config_for(plan: dict, **limits) -> Config:
    return Config.model_validate({"max_odds_age_s": 3600, "sessions": [
        {"id": sid, "selection": sel, "staking": plan, "bankroll": 100, "limits": limits}
        for sid, sel in zip(SESSIONS, ("favourite", "draw", "underdog"))]})


LADDER = config_for(PLANS[-1])


PAYOUT = {"won": lambda s, o: round(s * o, 2), "half_won": lambda s, o: round(s / 2 * o + s / 2, 2),
          "void": lambda s, o: s, "half_lost": lambda s, o: round(s / 2, 2),
          "lost": lambda s, o: 0.0}


@st.composite
def ledgers(draw, max_events: int = 50, *, matches: tuple[str, ...] = MATCHES,
            gaps_min: tuple[int, ...] = (17,), outcomes: tuple[str, ...] = ("won", "lost", "void")
            ) -> list[dict]:
    """A well-formed ledger: every outcome answers an intent, every settlement an open bet.
    Decisions on `matches`; from T0 time moves one of `gaps_min` (minutes) an event; bets settle
    with one of `outcomes` (PAYOUT's names)."""
    events: list[dict] = []
    t = T0
    unresolved: dict[str, dict] = {}  # client_ref -> its BET_INTENDED
    attempts: dict[str, int] = {}
    placed: dict[str, dict] = {}  # decision id -> its BET_PLACED
    open_bets: list[str] = []
    final: set[str] = set()
    for _ in range(draw(st.integers(0, max_events))):
        kinds = ["intend", "intend", "halt", "reset", "refuse", "target"]
        if unresolved:
            kinds += ["place", "place", "fail"]
        if open_bets:
            kinds += ["settle", "settle"]
        kind = draw(st.sampled_from(kinds))
        sid = draw(st.sampled_from(SESSIONS))
        did = f"{sid}|{draw(st.sampled_from(matches))}|1X2"
        body: dict
        if kind == "intend":
            busy = any(i["decision_id"] == did for i in unresolved.values())
            if did in placed or did in final or busy:
                continue
            attempts[did] = attempts.get(did, 0) + 1
            body = {"type": "BET_INTENDED", "session": sid, "decision_id": did,
                    "client_ref": f"{did}#{attempts[did]}", "attempt": attempts[did],
                    "match_key": did.split("|")[1], "selection": draw(st.sampled_from(("home", "draw", "away"))),
                    "odds": draw(st.sampled_from([1.5, 2.0, 3.25, 4.6])),
                    "stake": draw(st.sampled_from([1.0, 2.5, 3.33, 10.0, 40.0])), "mode": "paper"}
            unresolved[body["client_ref"]] = body
        elif kind in ("place", "fail"):
            intent = unresolved.pop(draw(st.sampled_from(sorted(unresolved))))
            base = {"session": intent["session"], "decision_id": intent["decision_id"],
                    "client_ref": intent["client_ref"]}
            if kind == "place":
                body = {"type": "BET_PLACED", **base, "bet_ref": f"B{len(events)}",
                        "odds": intent["odds"], "stake": intent["stake"]}
                placed[intent["decision_id"]] = body
                open_bets.append(intent["decision_id"])
            else:
                retryable = draw(st.booleans())
                body = {"type": "BET_FAILED", **base, "reason": "suspended",
                        "retryable": retryable}
                if not retryable:
                    final.add(intent["decision_id"])
        elif kind == "settle":
            bet = placed[open_bets.pop(draw(st.integers(0, len(open_bets) - 1)))]
            outcome = draw(st.sampled_from(outcomes))
            payout = PAYOUT[outcome](bet["stake"], bet["odds"])
            body = {"type": "BET_SETTLED", "session": bet["session"],
                    "decision_id": bet["decision_id"], "bet_ref": bet["bet_ref"],
                    "outcome": outcome, "payout": payout,
                    "profit": round(payout - bet["stake"], 2)}
        elif kind == "refuse":
            body = {"type": "BET_REFUSED", "session": sid, "decision_id": did,
                    "control": draw(st.sampled_from(["MaxStake", "OpenBets"])), "reason": "no"}
        elif kind == "halt":
            body = {"type": "SESSION_HALTED", "session": sid,
                    "reason": draw(st.sampled_from(["stop_loss", "daily_loss", "max_bets"]))}
        elif kind == "target":
            body = {"type": "TARGET_REACHED", "session": sid, "decision_id": did, "cycle": 1,
                    "return": 9.0}
        else:
            body = {"type": "SESSION_RESET", "session": sid}
        gap = draw(st.sampled_from(gaps_min)) if len(gaps_min) > 1 else gaps_min[0]
        t += timedelta(minutes=gap)
        events.append({"seq": len(events) + 1, "ts": iso(t), **body})
    return events


def summary(book: Book) -> dict:
    """A canonical picture of a Book: per session bets, settled profit, staked, open bets, in
    flight, halted, cycle; and the book-wide indexes."""
    out: dict = {"seq": book.seq, "placed": sorted(book.placed),
                 "unresolved": sorted(book.unresolved), "refusals": sorted(book.refusals.items()),
                 "final": sorted(book.final), "duplicates": len(book.duplicates)}
    for sid, sb in sorted(book.sessions.items()):
        out[sid] = {
            "bets": [(b.decision_id, b.stake, b.odds, b.outcome, b.profit, b.settled_seq)
                     for b in sb.bets],
            "settled": [b.decision_id for b in sb.settled], "profit": sb.settled_profit,
            "staked": sb.staked, "open": [b.decision_id for b in sb.open_bets],
            "in_flight": sorted(sb.in_flight), "halted": (sb.halted, sb.halted_at),
            "reset_seq": sb.reset_seq, "first_bet_at": sb.first_bet_at,
            "cycle": ladder.position(LADDER.session(sid), sb)}
    return out


def next_stakes(book: Book) -> list:
    """Every plan's next stake for every session (a price-dependent plan at ODDS)."""
    out = []
    for plan in PLANS:
        for s in config_for(plan).sessions:
            sb = book.sessions.get(s.id)
            out.append(staking.stake_for(s, sb, ODDS, "home"))
    return out


PROPERTY = settings(max_examples=examples(120), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
