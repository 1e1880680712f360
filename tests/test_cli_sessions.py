"""`betpipe sessions`, `bets`, `history`, `reset` and `decide --once`, as a user runs them: the real
console script in a subprocess on a temporary home with a config, a ledger and odds."""
from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from pipeline.core.clock import anchor, load_clock
from pipeline.core.filebus import atomic_write_json
from pipeline.core.ledger import Ledger
from pipeline.core.paths import Home
from pipeline.core.timefmt import iso, parse_iso
from tests.kit.contracts import assert_contract
from tests.kit.programs import betpipe

START = parse_iso("2024-10-05T13:00:00Z")
EPL, ED1 = "2024-25_Arsenal v Chelsea", "2024-25_Leeds v Hull"


def config_doc() -> dict:
    return {"max_odds_age_s": 3600, "sessions": [
        {"id": "lad", "competitions": ["EPL"], "selection": "away",
         "window": {"from_minutes": 60, "to_minutes": 0},
         "staking": {"plan": "ladder", "stake": 1, "target": 4}},
        {"id": "flat", "competitions": ["ED1"], "selection": "home",
         "window": {"from_minutes": 30, "to_minutes": 5},
         "staking": {"plan": "flat", "stake": 10}, "limits": {"stop_loss": 10}},
        {"id": "poor", "selection": "home", "bankroll": 15,
         "staking": {"plan": "martingale", "stake": 10}},
        {"id": "off", "enabled": False, "selection": "draw",
         "staking": {"plan": "flat", "stake": 1}}]}


def bet(ledger: Ledger, session: str, key: str, stake: float, odds: float = 2.0,
        outcome: str | None = None, extra: tuple = ()) -> str:
    did = f"{session}|{key}|1X2"
    ref = did + "#1"
    ledger.append({"type": "BET_INTENDED", "session": session, "decision_id": did,
                   "client_ref": ref, "attempt": 1, "match_key": key, "selection": "home",
                   "odds": odds, "stake": stake, "mode": "paper"})
    ledger.append({"type": "BET_PLACED", "session": session, "decision_id": did,
                   "client_ref": ref, "bet_ref": f"P-{session}-{key[-4:]}", "odds": odds,
                   "stake": stake, "match_key": key, "selection": "home"})
    if outcome:
        payout = round(stake * odds, 2) if outcome == "won" else 0.0
        ledger.append({"type": "BET_SETTLED", "session": session, "decision_id": did,
                       "bet_ref": f"P-{session}-{key[-4:]}", "outcome": outcome,
                       "payout": payout, "profit": round(payout - stake, 2)}, *extra)
    return did


@pytest.fixture
def filled(home: Home) -> Home:
    anchor(home.clock, start=START, speed=1)
    atomic_write_json(home.system_config, config_doc())
    ledger = Ledger(home.ledger, load_clock(home.clock))
    bet(ledger, "lad", "2024-25_A v B", 1, outcome="won")
    did = "lad|2024-25_C v D|1X2"
    bet(ledger, "lad", "2024-25_C v D", 2, outcome="won", extra=(
        {"type": "TARGET_REACHED", "session": "lad", "decision_id": did, "cycle": 1,
         "return": 4.0},))
    bet(ledger, "lad", "2024-25_E v F", 1)  # open: cycle 2, bet 1
    bet(ledger, "flat", "2024-25_G v H", 10, outcome="lost", extra=(
        {"type": "SESSION_HALTED", "session": "flat", "reason": "stop_loss",
         "detail": "settled profit -10.00 <= -10"},))
    bet(ledger, "poor", "2024-25_I v J", 10, outcome="lost")  # bankroll 5, next stake 20
    now = load_clock(home.clock).now()
    atomic_write_json(home.odds, odds_doc(now))
    return home


def odds_doc(now, version: int = 7) -> dict:
    def m(key, comp, ko):
        home, away = key[8:].split(" v ")
        return {"key": key, "season": "2024-25", "competition": comp, "home": home,
                "away": away, "kickoff": iso(ko), "status": "scheduled",
                "odds": {"home": 1.8, "draw": 3.5, "away": 4.5}, "seen_at": iso(now),
                "result": None}
    doc = {"version": version, "written_at": iso(now), "source": "sandbox",
           "fetched_at": iso(now), "matches": [m(EPL, "EPL", now + timedelta(minutes=30)),
                                                m(ED1, "ED1", now + timedelta(hours=3))]}
    assert_contract("odds-data", doc)
    return doc


def test_sessions_shows_state_cycle_money_window_and_a_short_bankroll(filled):
    r = betpipe(filled, "sessions", "--json")
    assert r.returncode == 0, r.stderr
    info = orjson.loads(r.stdout)
    rows = {s["session"]: s for s in info["sessions"]}
    assert list(rows) == ["lad", "flat", "poor", "off"]
    lad = rows["lad"]
    assert (lad["cycle"], lad["bet_in_cycle"], lad["open_bets"], lad["staked"], lad["profit"],
            lad["bankroll"], lad["free_bankroll"]) == (2, 1, 1, 4.0, 3.0, 1003.0, 1002.0)
    assert lad["matches_in_window"] == 1 and lad["halted"] is None
    flat = rows["flat"]
    assert flat["halted"] == "stop_loss" and flat["halt_detail"] == "settled profit -10.00 <= -10"
    ko = parse_iso(odds_doc(parse_iso(info["now"]))["matches"][1]["kickoff"])
    opens = parse_iso(flat["window_opens_at"])
    assert flat["matches_in_window"] == 0
    assert abs((opens - (ko - timedelta(minutes=30))).total_seconds()) < 60
    poor = rows["poor"]
    assert poor["next_stake"] is None
    assert poor["next_stake_note"] == ("stake 20.00 exceeds free bankroll 5.00 = bankroll 15.00 + "
                                       "settled profit -10.00 - open and in-flight stakes 0.00")
    assert rows["off"]["enabled"] is False and rows["lad"]["enabled"] is True

    table = betpipe(filled, "sessions")
    assert table.returncode == 0, table.stderr
    for text in ("lad", "stop_loss", "stake 20.00 exceeds free bankroll 5.00", "opens 2024-10-05",
                 "open now (1 matches)"):
        assert text in table.stdout, text


def test_bets_filters_by_session_and_open(filled):
    r = betpipe(filled, "bets", "--json")
    assert r.returncode == 0, r.stderr
    rows = [orjson.loads(line) for line in r.stdout.splitlines()]
    assert [(b["session"], b["status"]) for b in rows] == [
        ("lad", "won"), ("lad", "won"), ("lad", "open"), ("flat", "lost"), ("poor", "lost")]
    r = betpipe(filled, "bets", "--session", "lad", "--open", "--json")
    rows = [orjson.loads(line) for line in r.stdout.splitlines()]
    assert [b["match_key"] for b in rows] == ["2024-25_E v F"]
    table = betpipe(filled, "bets", "--open")
    assert "2024-25_E v F" in table.stdout and "1 bet(s)" in table.stdout


def test_history_lists_a_sessions_events_in_order(filled):
    r = betpipe(filled, "history", "--session", "lad")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    kinds = [line.split()[2] for line in lines]
    assert kinds == ["BET_INTENDED", "BET_PLACED", "BET_SETTLED"] * 2 + ["TARGET_REACHED",
                                                                          "BET_INTENDED",
                                                                          "BET_PLACED"]
    assert "ladder cycle 1 reached its target: return 4.0" in lines[6]
    seqs = [int(line.split()[0]) for line in lines]
    assert seqs == sorted(seqs)
    flat = betpipe(filled, "history", "--session", "flat").stdout
    assert "halted: stop_loss (settled profit -10.00 <= -10)" in flat


def test_reset_appends_session_reset_and_refuses_an_unknown_session(filled):
    before = filled.ledger.read_bytes()
    r = betpipe(filled, "reset", "nope")
    assert r.returncode == 2
    assert "unknown session 'nope'" in r.stderr and "lad, flat, poor, off" in r.stderr
    assert filled.ledger.read_bytes() == before

    r = betpipe(filled, "reset", "flat")
    assert r.returncode == 0, r.stderr
    last = orjson.loads(filled.ledger.read_bytes().splitlines()[-1])
    assert_contract("bet-record-event", last)
    assert (last["type"], last["session"]) == ("SESSION_RESET", "flat")
    rows = {s["session"]: s for s in orjson.loads(betpipe(filled, "sessions", "--json").stdout)[
        "sessions"]}
    flat = rows["flat"]
    assert flat["halted"] is None and flat["since_reset"]["bets"] == 0  # counts start again
    assert (flat["bets"], flat["profit"], flat["bankroll"]) == (1, -10.0, 990.0)  # money stays


def _files(home: Home) -> dict:
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in home.root.rglob("*")
            if p.is_file()}


def test_decide_once_prints_the_document_and_writes_nothing(filled, tmp_path):
    odds = tmp_path / "odds.json"
    now = parse_iso("2024-10-05T14:00:00Z")
    atomic_write_json(odds, odds_doc(now, version=11))
    before = _files(filled)
    r = betpipe(filled, "decide", "--once", "--odds", str(odds), "--now", iso(now))
    assert r.returncode == 0, r.stderr
    doc = orjson.loads(r.stdout)
    assert_contract("decisions", doc)
    assert (doc["version"], doc["odds_version"], doc["written_at"]) == (1, 11, iso(now))
    assert doc["decisions"] == []  # lad holds its open bet; flat halted; poor short; off
    assert doc["notes"]["lad"][0].startswith("limit reached: ladder holds one bet at a time")
    assert doc["notes"]["flat"] == ["halted: stop_loss"]
    assert doc["notes"]["poor"][0].startswith("stake 20.00 exceeds free bankroll 5.00")
    assert doc["notes"]["off"] == ["disabled"]
    assert _files(filled) == before

    # another ledger and config: a fresh session decides on the EPL match
    cfg = config_doc()
    cfg["sessions"][0]["id"] = "lad2"
    (tmp_path / "cfg.json").write_bytes(orjson.dumps(cfg))
    r = betpipe(filled, "decide", "--once", "--odds", str(odds), "--config",
                str(tmp_path / "cfg.json"), "--ledger", str(tmp_path / "none.jsonl"),
                "--now", iso(now))
    assert r.returncode == 0, r.stderr
    got = orjson.loads(r.stdout)["decisions"]
    assert [(d["id"], d["stake"], d["expires_at"]) for d in got] == [
        (f"lad2|{EPL}|1X2", 1.0, "2024-10-05T14:30:00Z"), (f"poor|{EPL}|1X2", 10.0,
                                                           "2024-10-05T14:30:00Z")]
    assert _files(filled) == before


def test_decide_once_names_what_is_wrong(filled, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"sessions": [{"id": "x", "selection": "home", "staking": {"plan": "flat", '
                   '"stake": 0}}]}')
    odds = tmp_path / "odds.json"
    atomic_write_json(odds, odds_doc(START))
    r = betpipe(filled, "decide", "--once", "--odds", str(odds), "--config", str(bad))
    assert r.returncode == 2
    assert str(bad) in r.stderr and "$.sessions[0].staking.stake" in r.stderr
    r = betpipe(filled, "decide", "--once", "--odds", str(tmp_path / "missing.json"))
    assert r.returncode == 2 and "missing.json" in r.stderr and "not found" in r.stderr


def test_a_ledger_edited_by_hand_reads_the_same_and_each_line_skipped_is_named(filled):
    before = [betpipe(filled, *cmd).stdout for cmd in (("sessions", "--json"), ("bets", "--json"))]
    data = filled.ledger.read_bytes()
    lines = data.split(b"\n")
    # a BOM (an editor), a note as line 3, an object without seq as line 6, no final newline
    edited = b"\xef\xbb\xbf" + b"\n".join(lines[:2] + [b'{"note": "looked at by hand"}']
                                         + lines[2:4] + [b'{"type": "BET_PLACED"}'] + lines[4:])
    filled.ledger.write_bytes(edited.removesuffix(b"\n"))
    for cmd, out in zip((("sessions", "--json"), ("bets", "--json")), before):
        r = betpipe(filled, *cmd)
        assert r.returncode == 0, r.stderr
        if cmd[0] == "sessions":  # the same figures, a moment later
            strip = lambda doc: [{k: v for k, v in s.items() if "window" not in k}  # noqa: E731
                                 for s in doc["sessions"]]
            assert strip(orjson.loads(r.stdout)) == strip(orjson.loads(out))
        else:
            assert r.stdout == out
        said = [orjson.loads(line) for line in r.stderr.splitlines()]
        assert [(s["event"], s["file"], s["line"]) for s in said] == [
            ("file.line_skipped", str(filled.ledger), 3),
            ("file.line_skipped", str(filled.ledger), 6)]
    assert filled.ledger.read_bytes() == edited.removesuffix(b"\n")  # readers write nothing
