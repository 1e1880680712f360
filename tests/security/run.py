"""One pipeline run for the security tests: the real supervisord.conf started by scripts/start on a
temporary home, LIVE mode on the sandbox (bets placed through Chromium with the account from
BETPIPE_SANDBOX_USER / BETPIPE_SANDBOX_PASSWORD), the dashboard's write token set, and a notify
webhook whose URL carries a secret token, pointing at a local recording server.

The sandbox serves a copy of a real football-data CSV (E0 2019-20) in which Norwich is renamed
to hostile markup (`EVIL`): the monitor scrapes it through the sandbox's page, so the name
reaches odds-data, decisions, the ledger, both sites' pages and the notifications. The clock
starts 7.5 simulated hours before Liverpool v Norwich (the season's first match) at x600: both
sessions bet on it within the first ~45 real s (Chromium starting included) and it settles
~56 real s after the start.
"""
from __future__ import annotations

import csv
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.core.clock import FakeClock
from pipeline.core.filebus import atomic_write_json
from pipeline.core.ledger import Ledger
from pipeline.core.paths import REPO, Home
from pipeline.programs.dashboard.configedit import TOKEN_ENV
from pipeline.programs.notify.webhook import URL_ENV
from pipeline.bookmakers.account import ENV_PASSWORD, ENV_USER
from tests.kit.contracts import FOOTBALL_DATA, free_port
from tests.kit.e2e import e2e_config
from tests.kit.http import Recorder
from tests.kit.poll import poll
from tests.security.scan import Secrets

EVIL = ("Norwich <script>window.__xss('script')</script>"
        "<img src=x onerror=\"window.__xss('img')\"> \"dq\" 'sq' &amp;")
CSV_NAME = "E0_2019-20.csv"
SPEED = 600  # simulated seconds per real second
START = "2019-08-09T11:30:00Z"  # 7.5 simulated hours (45 real s) before the first kickoff
EVIL_MATCH = f"2019-20_Liverpool v {EVIL}"


def hostile_csv(folder: Path) -> Path:
    """A copy of the real E0 2019-20 file with Norwich renamed to EVIL (quoted by csv)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (FOOTBALL_DATA / CSV_NAME).open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    home_col, away_col = rows[0].index("HomeTeam"), rows[0].index("AwayTeam")
    for row in rows[1:]:
        for col in (home_col, away_col):
            if len(row) > col and row[col] == "Norwich":
                row[col] = EVIL
    out = folder / CSV_NAME
    with out.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return out


def security_config(sandbox_port: int, dashboard_port: int, data: Path) -> dict:
    cfg = e2e_config(sandbox_port, dashboard_port)
    cfg["mode"] = "live"
    cfg["clock"] = {"speed": SPEED, "start": START}
    cfg["max_odds_age_s"] = 30 * SPEED  # 30 real seconds
    cfg["sandbox"]["data"] = str(data)
    cfg["dashboard"]["refresh_s"] = 1.0
    cfg["notify"] = {"per_minute": 120, "burst": 10}
    cfg["sessions"].append(  # the underdog of the first match is the hostile name
        {"id": "dog-week", "competitions": ["EPL"], "selection": "underdog",
         "odds": {"min": 2.0, "max": 40}, "window": {"from_minutes": 10080, "to_minutes": 0},
         "staking": {"plan": "flat", "stake": 5}, "bankroll": 500})
    return cfg


@dataclass
class Run:
    home: Home
    env: dict
    sandbox: str  # base URLs
    dashboard: str
    hook: Recorder
    secrets: Secrets
    stopped: bool = False

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), env={**os.environ, **self.env}, capture_output=True,
                              text=True, timeout=timeout, cwd=REPO)

    def events(self) -> list[dict]:
        return Ledger(self.home.ledger, FakeClock("2000-01-01T00:00:00Z")).records()  # the lines

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.cli("scripts/stop")


def start(root: Path) -> Run:
    home = Home(root / "home").ensure()
    data = root / "football-data"
    hostile_csv(data)
    sandbox_port, dashboard_port = free_port(), free_port()
    atomic_write_json(home.system_config, security_config(sandbox_port, dashboard_port, data))
    secret = Secrets(user=f"punter-{secrets.token_hex(6)}", password=f"pw{secrets.token_hex(12)}",
                     dashboard_token=f"dash{secrets.token_hex(12)}",
                     webhook_token=f"hook{secrets.token_hex(12)}")
    hook = Recorder()
    hook_url = (f"http://127.0.0.1:{hook.server.server_address[1]}/api/webhooks/4242/"
                f"{secret.named['webhook_token']}")
    env = {"BETPIPE_HOME": str(home.root), ENV_USER: secret.named["user"],
           ENV_PASSWORD: secret.named["password"], TOKEN_ENV: secret.named["dashboard_token"],
           URL_ENV: hook_url}
    run = Run(home, env, f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{dashboard_port}",
              hook, secret)
    started = run.cli("scripts/start", timeout=600)
    if started.returncode != 0:
        run.stop()
        hook.close()
        pytest.fail(f"scripts/start failed: {started.stdout}{started.stderr}")
    return run


def wait_for_settled_bets(run: Run) -> None:
    """Both sessions' bets on the hostile match placed in live mode, settled, and notified."""
    def settled_on_evil():
        done = {e["session"] for e in run.events()
                if e["type"] == "BET_SETTLED" and EVIL in e.get("decision_id", "")}
        return done >= {"fav-week", "dog-week"}

    poll(settled_on_evil, 150, "both sessions' bets on the hostile match to settle", log=run.home.logs, every=0.25)
    poll(lambda: any(("won" in t or "lost" in t) and "Norwich <script>" in t
                     for t in run.hook.delivered()), 60, "the settlement notification", log=run.home.logs, every=0.25)
