"""The `bookmaker` program (`betpipe bookmaker`): the sandbox web app on 127.0.0.1.

Start-up: beat health at once, wait for the clock anchor and a valid config (Runtime), load the
football-data folder (config `sandbox.data`, else ../shared/data/football-data, else the CSVs
`betpipe data fetch` brought) — staying up in a failing state and retrying while it has no CSVs —
bind the port (retrying while it is taken), then serve with uvicorn until SIGTERM/SIGINT, after
which in-flight requests finish and the program exits 0. The account it accepts comes from
$BETPIPE_SANDBOX_USER / $BETPIPE_SANDBOX_PASSWORD (else the demo account, said in the log without
its password); the config's `sandbox.*` rules and terms are taken again whenever the file changes.
"""
from __future__ import annotations

import threading
from pathlib import Path

from pipeline.core.matchkey import load_tables
from pipeline.core.paths import Home, football_data_dir
from pipeline.core.runtime import Runtime
from pipeline.core.webserve import QuietServer, bind, uvicorn_config
from pipeline.programs.bookmaker.app import create_app
from pipeline.programs.bookmaker.auth import ENV_PASSWORD, ENV_USER, Sessions, missing_variables, \
    sandbox_account
from pipeline.programs.bookmaker.market import Market
from pipeline.programs.bookmaker.store import BetStore
from pipeline.history.football_data import FootballDataError, load_folder

HOST = "127.0.0.1"
RETRY_DATA_REAL_S = 5.0
CONFIG_RELOAD_REAL_S = 2.0


def bets_path(home: Home) -> Path:
    return home.sandbox_dir / "bets.jsonl"


def missing_data_message(folder: Path) -> str:
    return (f"the sandbox bookmaker needs football-data.co.uk CSVs (e.g. E0_2019-20.csv) in "
            f"{folder}, and found none: put the repository beside ../shared (its "
            f"shared/data/football-data has them), run `betpipe data fetch`, or name a folder "
            f"in config sandbox.data")


def _load_market(rt: Runtime) -> Market | None:
    """The market of the data folder; None when stopped before any CSV could be read."""
    tables = load_tables(rt.home)
    while not rt.stopping.is_set():
        folder = football_data_dir(rt.home, rt.config.sandbox.data)
        try:
            fixtures = load_folder(folder, tables) if folder.is_dir() else []
            problem = None if fixtures else missing_data_message(folder)
        except (OSError, FootballDataError) as e:
            problem = f"cannot read the football-data CSVs in {folder}: {e}"
        if problem is None:
            return Market(fixtures)
        rt.fail(problem)
        rt.wait(RETRY_DATA_REAL_S)
        rt.reload_config()
    return None


def main(home: Home) -> int:
    rt = Runtime("bookmaker", home)
    try:
        if not rt.start():
            return 0
        market = _load_market(rt)
        if market is None:
            return 0
        port = rt.config.sandbox.port
        sock = bind(rt, port, "sandbox.port")
        if sock is None:
            return 0
        store = BetStore(bets_path(rt.home))
        account, demo = sandbox_account()
        if demo:
            rt.log.warning("bookmaker.demo_account", user=account.user,
                           missing=missing_variables(),
                           hint=f"set {ENV_USER} and {ENV_PASSWORD} to choose the account; the "
                                f"demo account's password is in the README")
        else:
            rt.log.info("bookmaker.account", source=f"${ENV_USER}")  # never the name itself
        app = create_app(market, store, rt.clock, log=rt.log, config=rt.config.sandbox,
                         sessions=Sessions(account))
        book = app.state.bookmaker
        server = QuietServer(uvicorn_config(app))

        def watch() -> None:  # SIGTERM -> graceful stop; meanwhile keep health honest
            while not rt.wait(CONFIG_RELOAD_REAL_S):
                if rt.reload_config():
                    book.configure(rt.config.sandbox)
                rt.recover()  # serving: only a bad config file can keep health from ok
                rt.health.info["bets"] = len(store)
            server.should_exit = True

        threading.Thread(target=watch, name="bookmaker-watch", daemon=True).start()
        url = f"http://{HOST}:{port}"
        rt.health.info.update(url=url, fixtures=len(market), bets=len(store))
        rt.recover()  # clears a missing-data / busy-port failure
        rt.health.beat()  # with the url, before anyone can connect
        rt.log.info("bookmaker.listening", url=url, fixtures=len(market), bets=len(store),
                    skipped_bet_lines=store.skipped_lines)
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
        return 0
    finally:
        rt.close()
