"""The global kill switch (config `halt: true`) stops new bets at once in the running executor,
while the running tracker goes on settling (DESIGN: halts)."""
from __future__ import annotations

from pipeline.core import clock as clockmod
from pipeline.core.filebus import atomic_write_json
from pipeline.core.timefmt import parse_iso
from tests.kit.builders import (config_doc, decision, decisions_doc, ledger_events, match,
                                odds_doc, of_type, T0)
from tests.kit.contracts import assert_contract
from tests.kit.poll import poll
from tests.kit.programs import health, log_lines, start_program, stop_program

A, B = "2024-25_Southampton v Arsenal", "2024-25_Chelsea v Everton"


def test_halt_true_refuses_new_bets_at_once_and_settlement_goes_on(home, tmp_path):
    clockmod.anchor(home.clock, start=parse_iso(T0), speed=1)
    atomic_write_json(home.system_config, config_doc())
    atomic_write_json(home.odds, odds_doc(match(A), match(B), version=1))
    atomic_write_json(home.decisions, decisions_doc(decision(A), version=1))
    logs = {p: tmp_path / f"{p}.log" for p in ("execute", "track")}
    procs = {p: start_program(p, home, log) for p, log in logs.items()}
    try:
        poll(lambda: of_type(ledger_events(home), "BET_PLACED"), 20, "the first bet",
             procs["execute"], logs["execute"])
        atomic_write_json(home.system_config, config_doc(halt=True))  # the kill switch
        poll(lambda: any(x.get("event") == "config.loaded" and x.get("config_version") == 2
                         for x in log_lines(logs["execute"])), 20, "execute to load it",
             procs["execute"], logs["execute"])
        atomic_write_json(home.decisions, decisions_doc(decision(A), decision(B), version=2))
        refused = poll(lambda: of_type(ledger_events(home), "BET_REFUSED"), 20,
                       "the refusal", procs["execute"], logs["execute"])
        assert [(e["control"], e["decision_id"]) for e in refused] == [("KillSwitch", f"s1|{B}|1X2")]
        assert_contract("bet-record-event", refused[0])
        done = match(A, status="finished", odds=None, result={"home_goals": 0, "away_goals": 2})
        atomic_write_json(home.odds, odds_doc(done, match(B), version=2))
        settled = poll(lambda: of_type(ledger_events(home), "BET_SETTLED"), 20, "the settlement",
                       procs["track"], logs["track"])
        assert settled[0]["outcome"] == "won"
        poll(lambda: health(home, "execute").get("odds_version") == 2, 20, "execute saw it",
             procs["execute"], logs["execute"])
    finally:
        for proc in procs.values():
            assert stop_program(proc) == 0
    assert len(of_type(ledger_events(home), "BET_INTENDED")) == 1  # nothing new was tried
