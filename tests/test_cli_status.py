"""`betpipe status` reads a home's files: programs running / stale / absent, sessions' figures."""
from __future__ import annotations

from datetime import timedelta

import orjson

from pipeline.cli import main
from pipeline.core.clock import FakeClock, real_now
from pipeline.core.config import default_config
from pipeline.core.filebus import atomic_write_json
from pipeline.core.health import Health
from pipeline.core.ledger import Ledger
from pipeline.core.timefmt import iso, parse_iso

DID = "fav-week|2019-20_Liverpool v Norwich|1X2"


def test_status_reports_programs_and_sessions(home, capsys):
    atomic_write_json(home.system_config, default_config())
    Health(home, "monitor", FakeClock("2019-08-09T18:30:00Z")).beat()
    old = Health(home, "decide", FakeClock("2019-08-09T18:30:00Z")).beat()
    old["last_beat_real"] = iso(real_now() - timedelta(seconds=60))
    atomic_write_json(home.health("decide"), old)
    ledger = Ledger(home.ledger, FakeClock("2019-08-09T18:31:00Z"))
    ledger.append({"type": "BET_INTENDED", "session": "fav-week", "decision_id": DID,
                   "client_ref": DID + "#1", "attempt": 1, "match_key": "2019-20_Liverpool v Norwich",
                   "selection": "home", "odds": 1.14, "stake": 10.0, "mode": "paper"},
                  {"type": "BET_PLACED", "session": "fav-week", "decision_id": DID,
                   "client_ref": DID + "#1", "bet_ref": "P-1", "odds": 1.14, "stake": 10.0})
    assert main(["--home", str(home.root), "status", "--json"]) == 0
    info = orjson.loads(capsys.readouterr().out)
    assert info["programs"]["monitor"]["liveness"] == "running"
    assert info["programs"]["decide"]["liveness"] == "stale"
    assert info["programs"]["track"]["liveness"] == "absent"
    fav = info["sessions"]["fav-week"]
    assert (fav["bets"], fav["open"], fav["staked"], fav["profit"]) == (1, 1, 10.0, 0.0)
    assert main(["--home", str(home.root), "status", "--check"]) == 1  # not everything runs
    assert main(["--home", str(home.root), "status"]) == 0
    table = capsys.readouterr().out
    assert "fav-week" in table and "stale" in table


def test_status_names_a_bad_config(home, capsys):
    home.system_config.write_text('{"sessions": [{"id": "x"}]}')
    main(["--home", str(home.root), "status", "--json"])
    info = orjson.loads(capsys.readouterr().out)
    assert "$.sessions[0].selection" in info["config_error"]


def test_a_stopped_home_says_stopped_not_running_or_stale(home, capsys):
    """Issue 15, defect 5: right after scripts/stop, status showed programs running, health ok."""
    from pipeline.core import clock as clockmod

    atomic_write_json(home.system_config, default_config())
    clockmod.anchor(home.clock, start=parse_iso("2019-08-09T18:30:00Z"), speed=60)
    for name in ("monitor", "decide"):  # fresh beats, as just before the shutdown
        Health(home, name, clockmod.load_clock(home.clock)).beat()
    running = orjson.loads(_status_json(home, capsys))
    assert running["state"] == "running" and running["stopped_at"] is None
    assert running["programs"]["monitor"]["liveness"] == "running"
    stopped_at = clockmod.stop(home.clock)["stopped_at"]
    info = orjson.loads(_status_json(home, capsys))
    assert info["state"] == "stopped" and info["stopped_at"] == stopped_at
    assert info["sim_now"] == stopped_at
    for name in ("monitor", "decide"):
        assert (info["programs"][name]["liveness"], info["programs"][name]["state"]) == \
            ("stopped", "stopped"), name
    assert info["programs"]["track"]["liveness"] == "absent"  # never ran: no health file
    assert main(["--home", str(home.root), "status", "--check"]) == 1
    assert main(["--home", str(home.root), "status"]) == 0
    table = capsys.readouterr().out
    assert f"stopped at simulated {stopped_at}" in table and "running" not in table


def test_a_program_that_closed_cleanly_is_stopped_not_stale(home, capsys):
    h = Health(home, "track", FakeClock("2019-08-09T18:30:00Z"))
    h.info["stopped"] = True  # what Runtime.close writes last
    doc = h.beat()
    doc["last_beat_real"] = iso(real_now() - timedelta(seconds=60))
    atomic_write_json(home.health("track"), doc)
    info = orjson.loads(_status_json(home, capsys))
    assert info["programs"]["track"]["liveness"] == "stopped"


def _status_json(home, capsys) -> str:
    assert main(["--home", str(home.root), "status", "--json"]) == 0
    return capsys.readouterr().out
