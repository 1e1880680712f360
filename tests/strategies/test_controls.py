"""Each risk control refuses exactly at its edge and passes one step inside; the order holds.
The controls see the executor's view of a decision (`controls.context`: config, Book, odds)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.core.errors import NOT_FOUND
from pipeline.core.state import Book, replay
from pipeline.core.timefmt import parse_iso
from pipeline.strategies import controls as c
from tests.kit.builders import replay_lines, at, config, decision, KEY, match, odds_doc, T0

DID = f"s1|{KEY}|1X2"
NOW = parse_iso(at(60))  # one minute after the odds were seen


def ctx(*, cfg=None, book=None, odds=None, now=NOW):
    """The executor's view: decision -> its Ctx (strategies.controls.context)."""
    doc = odds_doc(match()) if odds is None else odds
    matches = {m["key"]: m for m in doc["matches"]}

    def view(d: dict) -> c.Ctx:
        return c.context(d, now=now, config=cfg or config(), book=book or Book(), matches=matches,
                         fetched_at=doc.get("fetched_at"))
    return view


def first(d: dict, view):
    return c.first_refusal(d, view(d))


def events(*specs: tuple) -> list[dict]:
    """Ledger events from (type, fields) pairs, seq 1.., at T0 unless a ts is given."""
    out = []
    for seq, (kind, fields) in enumerate(specs, start=1):
        out.append({"seq": seq, "ts": fields.pop("ts", T0), "type": kind, "session": "s1", **fields})
    return out


def placed(n: int, *, stake: float = 10, key: str = KEY) -> list[tuple]:
    """An intent and a placement for bet n (its own decision id)."""
    did, ref = f"s1|{key}-{n}|1X2", f"s1|{key}-{n}|1X2#1"
    return [("BET_INTENDED", dict(decision_id=did, client_ref=ref, attempt=1, match_key=f"{key}-{n}",
                                  selection="away", odds=2.0, stake=stake, mode="paper")),
            ("BET_PLACED", dict(decision_id=did, client_ref=ref, bet_ref=f"P-{n}", odds=2.0,
                                stake=stake))]


def settled(n: int, outcome: str, profit: float, payout: float = 0, ts: str = T0) -> tuple:
    return ("BET_SETTLED", dict(decision_id=f"s1|{KEY}-{n}|1X2", bet_ref=f"P-{n}", outcome=outcome,
                                payout=payout, profit=profit, ts=ts))


def refusal(control, d, view):
    reason = control.check(d, view(d))
    assert reason is None or (isinstance(reason, str) and reason), reason
    return reason


def test_kill_switch():
    assert refusal(c.KillSwitch(), decision(), ctx(cfg=config(halt=True)))
    assert refusal(c.KillSwitch(), decision(), ctx()) is None


def test_expired_refuses_after_expires_at_not_at_it():
    d = decision(expires_at=at(60))
    assert refusal(c.Expired(), d, ctx(now=NOW)) is None
    assert "expired" in refusal(c.Expired(), d, ctx(now=NOW + timedelta(milliseconds=1)))


def test_session_off_for_unknown_or_disabled_sessions():
    assert "not in system-config" in refusal(c.SessionOff(), decision(session="nope"), ctx())
    cfg = config()
    off = cfg.model_copy(update={"sessions": [cfg.sessions[0].model_copy(update={"enabled": False})]})
    assert "disabled" in refusal(c.SessionOff(), decision(), ctx(cfg=off))
    assert refusal(c.SessionOff(), decision(), ctx()) is None


def test_session_halted_by_event_or_by_a_cause_already_there():
    book = replay_lines(events(("SESSION_HALTED", {"reason": "stop_loss"})))
    assert "stop_loss" in refusal(c.SessionHalted(), decision(), ctx(book=book))
    cfg = config(limits={"stop_loss": 20})
    at_edge = replay_lines(events(*placed(1), *placed(2), settled(1, "lost", -10), settled(2, "lost", -10)))
    inside = replay_lines(events(*placed(1), *placed(2), settled(1, "lost", -10),
                           settled(2, "lost", -9.99)))
    assert "stop_loss" in refusal(c.SessionHalted(), decision(), ctx(cfg=cfg, book=at_edge))
    assert refusal(c.SessionHalted(), decision(), ctx(cfg=cfg, book=inside)) is None


def test_session_halted_counts_bets_in_flight_towards_max_bets():
    cfg = config(limits={"max_bets": 2})
    one_placed_one_in_flight = replay_lines(events(*placed(1), placed(2)[0]))
    assert "max_bets" in refusal(c.SessionHalted(), decision(),
                                 ctx(cfg=cfg, book=one_placed_one_in_flight))
    assert refusal(c.SessionHalted(), decision(), ctx(cfg=cfg, book=replay_lines(events(*placed(1))))) is None


def test_max_attempts():
    def attempts(n):
        return replay_lines(events(*[("BET_INTENDED", dict(decision_id=DID, client_ref=f"{DID}#{i}", attempt=i,
                                                     match_key=KEY, selection="away", odds=2.1,
                                                     stake=10, mode="paper")) for i in range(1, n + 1)]))
    assert refusal(c.MaxAttempts(), decision(), ctx(book=attempts(c.MAX_ATTEMPTS - 1))) is None
    assert "attempts" in refusal(c.MaxAttempts(), decision(), ctx(book=attempts(c.MAX_ATTEMPTS)))


def test_attempts_that_never_reached_the_bookmaker_count_only_towards_max_tries():
    def tries(lost: int, answered: int):
        specs = []
        for i in range(1, lost + answered + 1):
            ref = f"{DID}#{i}"
            specs.append(("BET_INTENDED", dict(decision_id=DID, client_ref=ref, attempt=i,
                                               match_key=KEY, selection="away", odds=2.1,
                                               stake=10, mode="paper")))
            reason = (NOT_FOUND, "browser_error: net::ERR_CONNECTION_REFUSED")[i % 2] \
                if i <= lost else "suspended"
            specs.append(("BET_FAILED", dict(decision_id=DID, client_ref=ref, reason=reason,
                                             retryable=True)))
        return replay_lines(events(*specs))
    assert refusal(c.MaxAttempts(), decision(), ctx(book=tries(5, c.MAX_ATTEMPTS - 1))) is None
    assert "attempts failed" in refusal(c.MaxAttempts(), decision(), ctx(book=tries(5, c.MAX_ATTEMPTS)))
    assert refusal(c.MaxAttempts(), decision(), ctx(book=tries(c.MAX_TRIES - 1, 0))) is None
    assert "never reached" in refusal(c.MaxAttempts(), decision(), ctx(book=tries(c.MAX_TRIES, 0)))


def test_daily_loss_refuses_at_the_limit_not_a_cent_before():
    cfg = config(limits={"daily_loss": 20})
    at_edge = replay_lines(events(*placed(1), *placed(2), settled(1, "lost", -10, ts=at(10)),
                            settled(2, "lost", -10, ts=at(20))))
    inside = replay_lines(events(*placed(1), *placed(2), settled(1, "lost", -10, ts=at(10)),
                           settled(2, "lost", -9.99, ts=at(20))))
    reason = refusal(c.DailyLoss(), decision(), ctx(cfg=cfg, book=at_edge))
    assert "daily_loss 20" in reason and "2024-10-05" in reason
    assert refusal(c.DailyLoss(), decision(), ctx(cfg=cfg, book=inside)) is None  # -19.99 today


def test_a_daily_loss_halt_holds_for_the_rest_of_its_utc_day_only():
    book = replay_lines(events(("SESSION_HALTED", {"reason": "daily_loss", "ts": at(60)})))
    assert "daily_loss" in refusal(c.SessionHalted(), decision(), ctx(book=book))
    next_day = parse_iso("2024-10-06T00:00:00Z")
    assert refusal(c.SessionHalted(), decision(expires_at="2024-10-07T00:00:00Z"),
                   ctx(book=book, now=next_day)) is None


def test_daily_loss_counts_only_today_utc():
    cfg = config(limits={"daily_loss": 20})
    today = replay_lines(events(*placed(1), *placed(2), settled(1, "lost", -10, ts=at(10)),
                          settled(2, "lost", -10, ts=at(20))))
    yesterday = replay_lines(events(*placed(1), *placed(2), settled(1, "lost", -10, ts=at(-13 * 3600)),
                              settled(2, "lost", -10, ts=at(20))))
    assert "daily_loss" in refusal(c.DailyLoss(), decision(), ctx(cfg=cfg, book=today))
    assert refusal(c.DailyLoss(), decision(), ctx(cfg=cfg, book=yesterday)) is None


def test_stale_odds_at_the_age_edge():
    cfg = config(max_odds_age_s=60)
    assert refusal(c.StaleOdds(), decision(), ctx(cfg=cfg, now=NOW)) is None  # exactly 60 s old
    assert "max_odds_age_s" in refusal(c.StaleOdds(), decision(),
                                       ctx(cfg=cfg, now=NOW + timedelta(milliseconds=1)))


def test_stale_odds_default_seen_at_is_fetched_at():
    cfg = config(max_odds_age_s=60)
    doc = odds_doc(match(seen_at=None), fetched_at=at(1))
    assert refusal(c.StaleOdds(), decision(), ctx(cfg=cfg, odds=doc, now=NOW + timedelta(seconds=1))) is None
    assert refusal(c.StaleOdds(), decision(), ctx(cfg=cfg, odds=doc, now=NOW + timedelta(seconds=2)))


@pytest.mark.parametrize("doc, why", [
    (odds_doc(match("2024-25_Other v Team")), "not in odds-data"),
    (odds_doc(match(status="live")), "not on sale"),
    (odds_doc(match(odds=None)), "no price"),
])
def test_stale_odds_when_the_match_is_no_longer_on_sale(doc, why):
    assert why in refusal(c.StaleOdds(), decision(), ctx(odds=doc))


def test_price_moved_below_min_odds_only():
    d = decision(min_odds=2.05)
    assert refusal(c.PriceMoved(), d, ctx(odds=odds_doc(match(odds=(3.1, 3.4, 2.05))))) is None
    assert "min_odds" in refusal(c.PriceMoved(), d, ctx(odds=odds_doc(match(odds=(3.1, 3.4, 2.04)))))


def test_max_stake():
    cfg = config(limits={"max_stake": 10})
    assert refusal(c.MaxStake(), decision(stake=10), ctx(cfg=cfg)) is None
    assert "max_stake" in refusal(c.MaxStake(), decision(stake=10.01), ctx(cfg=cfg))


def test_max_open_bets_counts_open_and_in_flight():
    cfg = config(limits={"max_open_bets": 2})
    open_and_in_flight = replay_lines(events(*placed(1), placed(2)[0]))
    settled_one = replay_lines(events(*placed(1), *placed(2), settled(2, "won", 10, 20)))
    assert "max_open_bets" in refusal(c.MaxOpenBets(), decision(), ctx(cfg=cfg, book=open_and_in_flight))
    assert refusal(c.MaxOpenBets(), decision(), ctx(cfg=cfg, book=settled_one)) is None


OTHER = "2024-25_Chelsea v Everton"


def other_session(n: int, *, stake: float, key: str = KEY, session: str = "s2",
                  resolve: bool = True) -> list[tuple]:
    """A bet of another session on `key` (placed, or only intended when not `resolve`)."""
    did, ref = f"{session}|{key}|1X2#{n}", f"{session}|{key}|1X2#{n}#1"
    intent = ("BET_INTENDED", dict(session=session, decision_id=did, client_ref=ref, attempt=1,
                                   match_key=key, selection="home", odds=3.1, stake=stake,
                                   mode="paper"))
    placed_ev = ("BET_PLACED", dict(session=session, decision_id=did, client_ref=ref,
                                    bet_ref=f"Q-{n}", odds=3.1, stake=stake, match_key=key,
                                    selection="home"))
    return [intent, placed_ev] if resolve else [intent]


def session_events(*specs: tuple) -> list[dict]:
    """Like `events`, but a spec may name its own session."""
    out = events(*specs)
    for ev, (_, fields) in zip(out, specs):
        ev["session"] = fields.get("session", "s1")
    return out


def test_match_exposure_counts_every_session_open_and_in_flight_on_that_match_only():
    cfg = config(limits={"max_exposure_match": 50}, sessions=["s1", "s2"])
    # s2: 20 placed and 15 in flight on KEY; 100 on another match; s1 adds 15 -> exactly 50
    book = replay_lines(session_events(*other_session(1, stake=20), *other_session(2, stake=15, resolve=False),
                                 *other_session(3, stake=100, key=OTHER)))
    assert refusal(c.MatchExposure(), decision(stake=15), ctx(cfg=cfg, book=book)) is None
    reason = refusal(c.MatchExposure(), decision(stake=15.01), ctx(cfg=cfg, book=book))
    assert "max_exposure_match 50" in reason and KEY in reason


def test_match_exposure_leaves_settled_bets_out_and_is_off_without_the_limit():
    settled_bet = ("BET_SETTLED", dict(session="s2", decision_id=f"s2|{KEY}|1X2#1", bet_ref="Q-1",
                                       outcome="lost", payout=0, profit=-40))
    book = replay_lines(session_events(*other_session(1, stake=40), settled_bet))
    cfg = config(limits={"max_exposure_match": 50}, sessions=["s1", "s2"])
    assert refusal(c.MatchExposure(), decision(stake=50), ctx(cfg=cfg, book=book)) is None
    open_book = replay_lines(session_events(*other_session(1, stake=40)))
    assert refusal(c.MatchExposure(), decision(stake=50), ctx(cfg=config(), book=open_book)) is None
    assert refusal(c.MatchExposure(), decision(stake=50), ctx(cfg=cfg, book=open_book))


def test_session_exposure_counts_its_own_open_and_in_flight_stake_not_other_sessions():
    cfg = config(limits={"max_exposure_session": 30}, sessions=["s1", "s2"])
    book = replay_lines(session_events(*placed(1, stake=10), placed(2, stake=5)[0],
                                 *other_session(3, stake=500)))  # s1: 10 open + 5 in flight
    assert refusal(c.SessionExposure(), decision(stake=15), ctx(cfg=cfg, book=book)) is None
    reason = refusal(c.SessionExposure(), decision(stake=15.01), ctx(cfg=cfg, book=book))
    assert "max_exposure_session 30" in reason
    assert refusal(c.SessionExposure(), decision(stake=1e6), ctx(book=book)) is None  # no limit


def test_free_bankroll_counts_open_stakes_and_bets_in_flight():
    cfg = config(bankroll=100)
    book = replay_lines(events(*placed(1, stake=50), placed(2, stake=30)[0]))  # 20 free
    assert refusal(c.FreeBankroll(), decision(stake=20), ctx(cfg=cfg, book=book)) is None
    assert "free bankroll" in refusal(c.FreeBankroll(), decision(stake=20.01), ctx(cfg=cfg, book=book))


# the issue's list of controls (issue 5) -> the control that holds each one
NAMED = {"expired decision": "Expired", "stale odds": "StaleOdds",
         "price moved below min_odds": "PriceMoved", "max_stake": "MaxStake",
         "max_open_bets": "MaxOpenBets", "exposure per match": "MatchExposure",
         "exposure per session": "SessionExposure", "free bankroll": "FreeBankroll",
         "daily loss": "DailyLoss", "session halted": "SessionHalted",
         "global kill switch": "KillSwitch"}


def test_every_control_the_issue_names_is_in_the_chain_once_with_a_constant_name():
    names = [ctl.NAME for ctl in c.CONTROLS]
    assert set(NAMED.values()) <= set(names)
    assert len(set(names)) == len(names)
    assert all(type(ctl).NAME == ctl.NAME for ctl in c.CONTROLS)


def test_order_first_refusal_wins_kill_switch_first():
    names = [ctl.NAME for ctl in c.CONTROLS]
    assert names[0] == "KillSwitch"
    for a, b in [("KillSwitch", "Expired"), ("Expired", "SessionHalted"),
                 ("SessionHalted", "StaleOdds"), ("StaleOdds", "PriceMoved"),
                 ("PriceMoved", "MaxOpenBets"), ("MaxOpenBets", "MatchExposure"),
                 ("MatchExposure", "SessionExposure"), ("SessionExposure", "FreeBankroll")]:
        assert names.index(a) < names.index(b)
    assert len(set(names)) == len(names)
    # everything wrong at once: expired, stale, price below min_odds, over the bankroll
    bad = decision(expires_at=at(0), min_odds=3.0, stake=5000)
    stale = NOW + timedelta(minutes=10)  # odds 11 min old, max_odds_age_s 300
    assert first(bad, ctx(cfg=config(halt=True), now=stale)).control == "KillSwitch"
    assert first(bad, ctx(now=stale)).control == "Expired"
    assert first(decision(min_odds=3.0, stake=5000), ctx(now=stale)).control == "StaleOdds"
    assert first(decision(min_odds=3.0, stake=5000), ctx()).control == "PriceMoved"
    assert first(decision(stake=5000), ctx()).control == "FreeBankroll"
    limits = {"max_exposure_match": 100, "max_exposure_session": 200}
    assert first(decision(stake=5000), ctx(cfg=config(limits=limits))).control == "MatchExposure"
    limits = {"max_exposure_match": 10000, "max_exposure_session": 200}
    assert first(decision(stake=5000), ctx(cfg=config(limits=limits))).control == "SessionExposure"
    assert first(decision(), ctx()) is None
