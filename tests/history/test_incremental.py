"""`backtest --history` decides incrementally (pipeline.analysis.histback: only what a change can
affect, on a running index): on generated histories with many matches, competitions, windows,
line changes, kickoff moves, suspensions and results, it places exactly the bets (at the same
instants), refuses the same decisions and reports the same figures as the way it worked before:
a snapshot of every match rebuilt and decided on at every instant (`reference` below, that code
kept here as the yardstick)."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from pipeline.analysis.histback import FIELDS, HistoryBacktest, matches_of, run_history
from pipeline.core.config import Config
from pipeline.core.timefmt import iso, parse_iso
from pipeline.history.store import FIRST, line_of, state_of
from pipeline.strategies.engine import decide

START = parse_iso("2024-10-05T00:00:00Z")
COMPETITIONS = ("EPL", "La Liga", "Serie A")
W = {"from_minutes": 60, "to_minutes": 0}
SESSIONS = [
    {"id": "fav", "selection": "favourite", "competitions": ["EPL", "La Liga"], "window": W,
     "staking": {"plan": "flat", "stake": 10}, "bankroll": 200},
    # every price any time, a bankroll for 12 open bets: blocked until settlements free it
    {"id": "dog", "selection": "underdog", "odds": {"min": 2.5},
     "staking": {"plan": "flat", "stake": 10}, "bankroll": 120},
    {"id": "ah", "market": "AH", "selection": "underdog", "competitions": ["Serie A"],
     "window": {"from_minutes": 120, "to_minutes": 15}, "staking": {"plan": "flat", "stake": 10}},
    {"id": "ou", "market": "OU", "selection": "over", "window": {"from_minutes": 30,
                                                                 "to_minutes": 0},
     "staking": {"plan": "percent", "percent": 5}, "bankroll": 500},
    {"id": "mart", "selection": "underdog", "window": {"from_minutes": 90, "to_minutes": 0},
     "staking": {"plan": "martingale", "stake": 5, "factor": 2, "max_steps": 4}},
    {"id": "match-cap", "selection": "favourite", "window": {"from_minutes": 240,
                                                             "to_minutes": 0},
     "staking": {"plan": "flat", "stake": 10}, "limits": {"max_exposure_match": 15}},
    {"id": "session-cap", "selection": "home", "window": {"from_minutes": 45, "to_minutes": 5},
     "staking": {"plan": "flat", "stake": 10}, "limits": {"max_exposure_session": 30}},
    {"id": "daily", "selection": "away", "window": {"from_minutes": 180, "to_minutes": 0},
     "staking": {"plan": "flat", "stake": 10}, "limits": {"daily_loss": 20}},
    # no window, one bet at a time, halted for the day by a loss: with no bet open, only a new
    # UTC day frees the matches it sees
    {"id": "daily-any", "selection": "underdog", "staking": {"plan": "flat", "stake": 10},
     "limits": {"daily_loss": 5, "max_open_bets": 1}},
    {"id": "capped", "selection": "draw", "window": {"from_minutes": 20, "to_minutes": 0},
     "staking": {"plan": "flat", "stake": 10},
     "limits": {"max_bets": 6, "max_duration_h": 30, "max_open_bets": 2}},
    {"id": "value", "selection": "value", "probability": {"from": "market", "method": "shin"},
     "window": W, "min_edge": -0.05,
     "staking": {"plan": "kelly", "fraction": 0.5, "edge": 0.08}},
    # a stake that depends on the price: one match refused for want of bankroll does not mean
    # the next is (a smaller stake at a longer price may fit)
    {"id": "kelly", "selection": "underdog", "odds": {"min": 2.2},
     "staking": {"plan": "kelly", "fraction": 1, "edge": 0.3}, "bankroll": 60},
    {"id": "cup", "selection": "home", "competitions": ["FA Cup"],
     "staking": {"plan": "flat", "stake": 10}},
    {"id": "off", "selection": "home", "enabled": False, "staking": {"plan": "flat", "stake": 10}},
]


def history(seed: int, matches: int = 120, days: float = 2.5, poll_s: int = 300) -> list[dict]:
    """A monitor's lines: matches in three competitions kicking off on a 15-minute grid (many
    at once), each poll a few prices of any market move, a kickoff moves now and then, 1X2
    prices are withdrawn and come back; at kickoff `live`, 110 minutes on `finished` with a
    result (some never get one)."""
    rng = random.Random(seed)
    ms = []
    for i in range(matches):
        kickoff = START + timedelta(minutes=15 * rng.randrange(int(days * 96)))
        h = round(rng.uniform(1.3, 5.0), 2)
        ms.append({"key": f"2024-25_H{i} v A{i}", "season": "2024-25",
                   "competition": COMPETITIONS[i % 3], "home": f"H{i}", "away": f"A{i}",
                   "kickoff": iso(kickoff), "status": "scheduled",
                   "odds": {"home": h, "draw": round(rng.uniform(3.0, 4.0), 2),
                            "away": round(max(1.2, 6.5 - h), 2)},
                   "handicap": [{"line": -0.5, "home": 1.95, "away": 1.9},
                                {"line": 0.25, "home": 2.2, "away": 1.66}] if i % 2 else [],
                   "totals": [{"line": 2.5, "over": 1.85, "under": 1.95}] if i % 3 else [],
                   "result": None, "_ko": kickoff, "_pulled": False})
    last: dict[str, tuple] = {}
    out = []
    for poll in range(int(days * 86400 / poll_s)):
        now = START + timedelta(seconds=poll * poll_s)
        t = iso(now)
        for m in ms:
            if m["status"] == "scheduled" and now >= m["_ko"]:
                m["status"] = "live"
            elif m["status"] == "live" and now >= m["_ko"] + timedelta(minutes=110):
                m["status"] = "finished"
                if m["key"][-1] != "7":
                    m["result"] = {"home_goals": rng.randrange(4), "away_goals": rng.randrange(4)}
        for m in rng.sample(ms, 8):
            if m["status"] != "scheduled":
                continue
            roll = rng.random()
            if roll < 0.5 and m["odds"]:
                side = rng.choice(("home", "draw", "away"))
                m["odds"] = {**m["odds"], side: round(max(1.05, m["odds"][side]
                                                          + rng.choice((-0.1, 0.1))), 2)}
            elif roll < 0.7 and m["handicap"]:
                e = m["handicap"][0]
                m["handicap"] = [{**e, "away": round(e["away"] + rng.choice((-0.05, 0.05)), 2)},
                                 *m["handicap"][1:]]
            elif roll < 0.85 and m["totals"]:
                m["totals"] = [{**m["totals"][0], "over": round(rng.uniform(1.6, 2.2), 2)}]
            elif roll < 0.93:  # suspended and back
                m["odds"], m["_pulled"] = (None, m["odds"]) if m["odds"] else (m["_pulled"],
                                                                               False)
            else:
                m["_ko"] += timedelta(minutes=rng.choice((-30, 15, 60)))
                m["kickoff"] = iso(m["_ko"])
        for m in ms:
            if m["status"] == "finished" and m["key"] in last and last[m["key"]][0] == "finished":
                continue
            state = state_of(m)
            if last.get(m["key"]) != state:
                out.append(line_of(m, "replay", t, first=m["key"] not in last))
                last[m["key"]] = state
    return out


class _Rebuilt(HistoryBacktest):
    """The per-instant path as it was: every instant, a snapshot of every match known."""

    def on_sale(self, m):
        return self._on_sale[m.key]

    def decide_at(self, now, snapshot):
        self.settle_until(now)
        ts = iso(now)
        if self._timed:
            self.append(self.halts(self._timed, now), ts)
        for m in snapshot["matches"]:
            m["seen_at"] = ts
        snapshot["fetched_at"] = ts
        self._on_sale = {m["key"]: m for m in snapshot["matches"]}
        out = decide(snapshot, self.decide_config, self.book, now, windows=True)
        by_match: dict[str, list[dict]] = {}
        for d in out.decisions:
            by_match.setdefault(d["match_key"], []).append(d)
        for key, decisions in by_match.items():
            self.place(decisions, self.hmatches[key], ts)
        return out.next_change


def reference(lines: list[dict], config: Config) -> HistoryBacktest:
    bt = _Rebuilt(config, matches_of(lines, {}))
    state: dict[str, dict] = {}
    i, n = 0, len(lines)
    horizon, now = parse_iso(lines[-1]["t"]), parse_iso(lines[0]["t"])
    while now is not None:
        ts_now = iso(now)
        while i < n and lines[i]["t"] <= ts_now:
            r = lines[i]
            prev = state.get(r["key"])  # a line is the whole state (store.fold's reading)
            state[r["key"]] = {k: r[k] if k in r else (prev.get(k) if prev and k in FIRST
                                                       else None) for k in FIELDS}
            i += 1
        nxt = bt.decide_at(now, {"matches": [dict(m) for m in state.values()
                                             if m["status"] == "scheduled" and m["odds"]]})
        later = [t for t in (nxt, parse_iso(lines[i]["t"]) if i < n else None,
                             bt.waiting[0][0] if bt.waiting else None) if t is not None]
        now = min((t for t in later if t > now), default=None)
        if now is not None and now > horizon:
            now = None
    return bt.finish()


def outcome(bt: HistoryBacktest) -> tuple:
    bets = [(b.session, b.match_key, b.market, b.line, b.selection, b.odds, b.stake, b.placed_at,
             b.outcome, b.profit) for s in bt.config.sessions for b, _ in bt.bets(s.id)]
    refused = [(d["id"], d["stake"], r.control, r.reason) for d, r in bt.refused]
    halts = {sid: (sb.halted, sb.halted_at) for sid, sb in bt.book.sessions.items()}
    return bets, refused, bt.report(), bt.seq, halts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_backtest_equals_the_per_instant_rebuild(seed):
    lines = history(seed)
    config = Config.model_validate({"max_odds_age_s": 90, "sessions": SESSIONS})
    got, want = outcome(run_history(lines, config)), outcome(reference(lines, config))
    assert got == want
    bets, refused, report, _, halts = got
    # the history exercises what it is meant to: every kind of session bets, the controls
    # refuse, bankrolls and limits block and settlements free them
    by_session = {s["id"]: sum(1 for b in bets if b[0] == s["id"]) for s in SESSIONS}
    assert all(by_session[s] > 0 for s in ("fav", "dog", "ah", "ou", "mart", "match-cap",
                                           "session-cap", "daily", "daily-any", "capped",
                                           "value", "kelly"))

    assert by_session["cup"] == by_session["off"] == 0
    assert by_session["dog"] > 12 and by_session["capped"] == 6
    assert {r[2] for r in refused} == {"MatchExposure", "SessionExposure"}
    assert any(b[8] == "lost" for b in bets) and any(b[8] == "won" for b in bets)
    assert report["daily"]["halted"] or report["capped"]["halted"]


def test_a_new_day_frees_a_session_halted_by_daily_loss_alone():
    """Alone (no other session's settlement makes it look at every match), a session halted
    for the day by a loss with no bet open bets again as the next UTC day begins."""
    lines = history(1)
    config = Config.model_validate({"max_odds_age_s": 90, "sessions": [
        s for s in SESSIONS if s["id"] == "daily-any"]})
    got = outcome(run_history(lines, config))
    assert got == outcome(reference(lines, config))
    assert [b[7] for b in got[0]][:3] == [iso(START + timedelta(days=d)) for d in range(3)]


def test_to_bound_and_empty_history_agree_with_the_rebuild():
    lines = history(4, matches=40, days=1)
    config = Config.model_validate({"max_odds_age_s": 90, "sessions": SESSIONS})
    end = START + timedelta(hours=15)
    cut = [r for r in lines if parse_iso(r["t"]) < end]
    assert outcome(run_history(cut, config, end=end)) == outcome(reference(cut, config))
    assert run_history([], config).seq == 0


def test_sessions_short_of_their_stake_are_skipped_until_money_comes_free(monkeypatch):
    """A session whose stake — the same for every match: flat, percent, martingale — its free
    bankroll cannot cover is handed no match (staking.Purse.starved) until a settlement frees
    money: each is starved at many instants, flat and percent bet again after settlements free
    them, and the run still equals the rebuild."""
    from pipeline.analysis import histclock

    starved: dict[str, int] = {}  # session -> instants it was starved at
    real = histclock.Clock.starve

    def counted(self):
        out = real(self)
        for sid in out:
            starved[sid] = starved.get(sid, 0) + 1
        return out

    monkeypatch.setattr(histclock.Clock, "starve", counted)
    lines = history(3)
    config = Config.model_validate({"max_odds_age_s": 90, "sessions": [
        {"id": "flat", "selection": "underdog", "staking": {"plan": "flat", "stake": 10},
         "bankroll": 30},
        {"id": "half", "selection": "favourite", "window": {"from_minutes": 300,
                                                            "to_minutes": 0},
         "staking": {"plan": "percent", "percent": 50}, "bankroll": 100},
        # 5, 15, then 45 after two losses: more than the 20 left, for good
        {"id": "mart", "selection": "underdog", "window": {"from_minutes": 90, "to_minutes": 0},
         "staking": {"plan": "martingale", "stake": 5, "factor": 3}, "bankroll": 40},
        {"id": "fav", "selection": "favourite", "competitions": ["EPL"], "window": W,
         "staking": {"plan": "flat", "stake": 10}}]})
    got = outcome(run_history(lines, config))
    assert got == outcome(reference(lines, config))
    by_session: dict[str, int] = {}
    for b in got[0]:
        by_session[b[0]] = by_session.get(b[0], 0) + 1
    assert starved.keys() >= {"flat", "half", "mart"} and min(starved.values()) >= 5
    assert by_session["flat"] > 3 and by_session["half"] > 2 and by_session["fav"] > 0
    assert [b[6] for b in got[0] if b[0] == "mart"] == [5, 15]


def test_a_market_no_longer_offered_is_not_bet_on_its_old_prices():
    """A line is its match's whole state: a line without `handicap` means the match offers no
    AH any more (as odds-data would show it), not "AH as before". Here AH is withdrawn before
    the session's window opens: no AH bet, while a 1X2 session in the same window bets."""
    first = {"t": "2024-10-05T09:00:00Z", "source": "replay", "key": "2024-25_H v A",
             "competition": "EPL", "status": "scheduled", "kickoff": "2024-10-05T12:00:00Z",
             "odds": {"home": 2.1, "draw": 3.3, "away": 3.6},
             "handicap": [{"line": 0.25, "home": 1.8, "away": 2.6}], "result": None,
             "season": "2024-25", "home": "H", "away": "A"}
    withdrawn = {k: v for k, v in first.items() if k not in ("handicap", *FIRST)}
    withdrawn.update(t="2024-10-05T10:00:00Z", odds={"home": 2.2, "draw": 3.3, "away": 3.4})
    lines = [first, withdrawn, {**withdrawn, "t": "2024-10-05T11:30:00Z",
                                "odds": {"home": 2.25, "draw": 3.3, "away": 3.3}}]
    config = Config.model_validate({"sessions": [
        {"id": "ah", "market": "AH", "selection": "away", "window": W,
         "staking": {"plan": "flat", "stake": 10}},
        {"id": "home", "selection": "home", "window": W,
         "staking": {"plan": "flat", "stake": 10}}]})
    got = outcome(run_history(lines, config))
    assert [(b[0], b[7]) for b in got[0]] == [("home", "2024-10-05T11:00:00Z")]
    assert got == outcome(reference(lines, config))


def test_a_duration_halt_lands_when_it_is_due_after_the_first_bet():
    """max_duration_h counts from the first bet: the instant it runs out is a time-driven
    change that only exists once that bet is placed, and the halt is written then (11:00),
    not at the next line (12:00) — as the rebuild, which works next_change out afresh."""
    def line(t, key, home, first=False):
        r = {"t": t, "source": "replay", "key": key, "competition": "EPL",
             "status": "scheduled", "kickoff": "2024-10-05T20:00:00Z",
             "odds": {"home": home, "draw": 3.3, "away": 3.6}, "result": None}
        return {**r, "season": "2024-25", "home": "H", "away": "A"} if first else r
    lines = [line("2024-10-05T10:00:00Z", "2024-25_A v B", 2.0, True),
             line("2024-10-05T10:00:00Z", "2024-25_C v D", 3.0, True),
             line("2024-10-05T10:30:00Z", "2024-25_C v D", 2.9),
             line("2024-10-05T12:00:00Z", "2024-25_C v D", 2.2),
             {**line("2024-10-05T22:00:00Z", "2024-25_A v B", 2.0), "status": "finished",
              "result": {"home_goals": 1, "away_goals": 0}}]
    config = Config.model_validate({"sessions": [
        {"id": "lasting", "selection": "home", "odds": {"max": 2.5},
         "staking": {"plan": "flat", "stake": 10}, "limits": {"max_duration_h": 1}}]})
    got = outcome(run_history(lines, config))
    assert got == outcome(reference(lines, config))
    assert [(b[1], b[7], b[8]) for b in got[0]] == [("2024-25_A v B", "2024-10-05T10:00:00Z",
                                                      "won")]
    assert got[4]["lasting"][1] == "2024-10-05T11:00:00Z"
