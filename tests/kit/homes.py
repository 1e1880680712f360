"""A home with every file the dashboard reads: config, clock, odds (one team name is hostile
markup), decisions, a ledger with an open and a settled bet, results and health."""
from __future__ import annotations

from datetime import datetime, timezone

from pipeline.core import clock as clockmod
from pipeline.core.clock import FakeClock
from pipeline.core.config import default_config, load_config
from pipeline.core.filebus import SnapshotWriter, atomic_write_json
from pipeline.core.health import Health
from pipeline.core.ledger import Ledger
from pipeline.core.state import replay
from pipeline.strategies import clv
from pipeline.strategies.settlement import results_body
from tests.kit.builders import bet, decision, match

START = datetime(2019, 8, 9, 18, 40, tzinfo=timezone.utc)  # the files below are from 18:38-18:40
EVIL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
LIV = "2019-20_Liverpool v Norwich"
WHU = f"2019-20_{EVIL} v Manchester City"


CLOSE = {"home": 1.10, "draw": 9.0, "away": 21.0}  # Liverpool v Norwich's close (P-1 @ 1.14)


def fill(home, *, speed=60.0) -> None:
    atomic_write_json(home.system_config, default_config())
    clockmod.anchor(home.clock, start=START, speed=speed)
    clock = FakeClock("2019-08-09T18:40:00Z")
    SnapshotWriter(home.odds).write(
        {"source": "sandbox", "fetched_at": "2019-08-09T18:39:00Z", "matches": [
            match(LIV, status="finished", odds=None, seen_at=None, kickoff="2019-08-09T19:00:00Z",
                  result={"home_goals": 4, "away_goals": 1}),
            match(WHU, odds=(1.5, 4.0, 6.0), seen_at="2019-08-09T18:38:00Z",
                  kickoff="2019-08-10T11:30:00Z")]},
        written_at="2019-08-09T18:39:30Z")
    SnapshotWriter(home.decisions).write(
        {"odds_version": 1, "config_version": 1, "decisions": [
            decision(WHU, session="dog-late", odds=6.0, min_odds=5.88, stake=5.0,
                     expires_at="2019-08-10T11:25:00Z")]}, written_at="2019-08-09T18:39:40Z")
    ledger = Ledger(home.ledger, clock)
    ledger.append(*bet("fav-week", LIV, "home", 1.14, 10.0, 1), *bet("fav-week", WHU, "home", 1.5, 10.0, 2))
    ledger.append({"type": "BET_SETTLED", "session": "fav-week",
                   "decision_id": f"fav-week|{LIV}|1X2", "bet_ref": "P-1", "outcome": "won",
                   "payout": 11.4, "profit": 1.4})
    book = replay(ledger.read())
    closes = {"P-1": clv.of_bet(1.14, "home", {"odds": CLOSE}), "P-2": None}  # P-2: not closed
    SnapshotWriter(home.results).write(results_body(book, load_config(home.system_config), closes),
                                       written_at="2019-08-09T18:40:00Z")
    for program in ("monitor", "decide"):
        Health(home, program, clock).beat()
