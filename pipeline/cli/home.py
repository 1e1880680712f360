"""Home set-up commands used by scripts/start and scripts/stop, and `betpipe key`."""
from __future__ import annotations

import argparse
import sys


def instant(text: str):
    """argparse type: an ISO time with a zone (a bad one is a usage error, exit 2)."""
    from pipeline.core.timefmt import parse_iso

    try:
        return parse_iso(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{e} (an ISO time with a zone, e.g. "
                                         "2024-10-05T14:00:00Z)") from None


def register_key(sub) -> None:
    p = sub.add_parser("key", help="print the season-aware match key of a match")
    p.add_argument("home_team")
    p.add_argument("away_team")
    p.add_argument("--kickoff", required=True, type=instant,
                   help="ISO time, e.g. 2024-10-05T14:00:00Z")
    p.add_argument("--competition", default="EPL", help="HKJC tournament code (default EPL)")
    p.add_argument("--season", help="the season when the source knows it")
    p.set_defaults(run=_key)


def _key(args) -> int:
    from pipeline.core.matchkey import load_tables
    from pipeline.core.paths import Home

    tables = load_tables(Home.from_env(args.home))
    print(tables.key(args.home_team, args.away_team, kickoff=args.kickoff,
                     competition=args.competition, season=args.season))
    return 0


def register_init(sub) -> None:
    p = sub.add_parser("init-home", help="create a home's folders and the default config")
    p.set_defaults(run=_init)


def _init(args) -> int:
    from pipeline.core.config import default_config
    from pipeline.core.filebus import atomic_write_json
    from pipeline.core.paths import Home

    from pipeline.core.configschema import SCHEMA_NAME, write_schema

    home = Home.from_env(args.home).ensure()
    if write_schema(home.config_dir):  # kept up to date: the schema follows the code
        print(f"wrote the config schema to {home.config_dir / SCHEMA_NAME}", file=sys.stderr)
    if not home.system_config.exists():
        atomic_write_json(home.system_config, {"$schema": SCHEMA_NAME, **default_config()})
        print(f"wrote the default config to {home.system_config}", file=sys.stderr)
    return 0


def register_clock(sub) -> None:
    p = sub.add_parser("clock", help="anchor, stop or show the home's clock")
    p.add_argument("action", choices=["anchor", "stop", "now"])
    p.set_defaults(run=_clock)


def _clock(args) -> int:
    from pipeline.cli.common import config_or_say
    from pipeline.core import clock as clockmod
    from pipeline.core.paths import Home
    from pipeline.core.timefmt import iso

    home = Home.from_env(args.home).ensure()
    if args.action == "now":
        try:
            print(iso(clockmod.load_clock(home.clock).now()))
        except clockmod.ClockError as e:
            print(f"betpipe clock now: {e}", file=sys.stderr)
            return 1
        return 0
    if args.action == "stop":
        doc = clockmod.stop(home.clock)
        print(f"clock stopped at {doc['stopped_at']}" if doc else "no clock to stop")
        return 0
    cfg = config_or_say(home.system_config, "cannot anchor the clock: ")
    if cfg is None:
        return 2
    start = cfg.clock.start or clockmod.real_now()  # a fresh home without clock.start starts now
    doc = clockmod.anchor(home.clock, start=start, speed=cfg.clock.speed, mode=cfg.clock.mode)
    print(f"clock anchored: simulated {doc['sim_start']} at speed {doc['speed']:g}")
    return 0


def register_preflight(sub) -> None:
    p = sub.add_parser("preflight", help="check config and data before a start; say what is missing")
    p.add_argument("--fetch", action="store_true",
                   help="when the sandbox has no CSVs, download its season (betpipe data fetch)")
    p.set_defaults(run=_preflight)


def _preflight(args) -> int:
    from pipeline.cli.common import config_or_say
    from pipeline.core.paths import Home, football_data_dir

    home = Home.from_env(args.home)
    cfg = config_or_say(home.system_config, "the config is invalid: ")
    if cfg is None:
        return 2
    if cfg.source.kind == "sandbox":
        folder = football_data_dir(home, cfg.sandbox.data)
        if not any(folder.glob("*.csv")) and getattr(args, "fetch", False):
            from pipeline.analysis.fetch import fetch_for_sandbox  # issue 6

            fetch_for_sandbox(folder, cfg.clock.start)
        if not any(folder.glob("*.csv")):
            print(f"betpipe: the sandbox bookmaker needs football-data.co.uk CSVs in {folder}.\n"
                  f"  Put the repository beside ../shared (it has shared/data/football-data),\n"
                  f"  or set sandbox.data in {home.system_config} to a folder of CSVs,\n"
                  f"  or run: betpipe data fetch --league E0 --seasons 2019-20 --for-sandbox\n"
                  f"  (E0_2019-20.csv from https://www.football-data.co.uk/englandm.php).",
                  file=sys.stderr)
            return 2
    return 0


def sandbox_url() -> str:
    from pipeline.core.config import ConfigError, load_config
    from pipeline.core.paths import Home

    home = Home.from_env()
    try:
        return load_config(home.system_config).source_url
    except ConfigError:
        return "http://127.0.0.1:8700"


def register(sub) -> None:
    for add in (register_key, register_init, register_clock, register_preflight):
        add(sub)
