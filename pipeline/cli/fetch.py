"""`betpipe data fetch`: football-data.co.uk CSVs into the home (or the sandbox's folder),
resumable, with a download bar on a terminal (pipeline.analysis.fetch does the work)."""
from __future__ import annotations

import os

from pipeline.cli.analysis import CREDIT, DATA_URL, URL_ENV, _fail, _print_json


def register_data(sub) -> None:
    p = sub.add_parser("data", help="historical data: fetch football-data.co.uk CSVs")
    dsub = p.add_subparsers(dest="data_command", required=True)
    f = dsub.add_parser("fetch", help="download football-data.co.uk CSVs (resumable)")
    f.add_argument("--league", default="E0", help="Div codes, comma-separated (default E0)")
    f.add_argument("--seasons", required=True, help="2015-16..2024-25, 2019-20 or a,b")
    f.add_argument("--dest", help="folder (default: the home's data/football-data)")
    f.add_argument("--for-sandbox", action="store_true",
                   help="into the folder the sandbox bookmaker reads (config sandbox.data)")
    f.add_argument("--base-url", default=os.environ.get(URL_ENV) or DATA_URL,
                   help=f"default ${URL_ENV} or {DATA_URL}")
    f.add_argument("--force", action="store_true", help="download files that are already there")
    f.add_argument("--json", action="store_true")
    f.set_defaults(run=run_fetch)


def _dest(args):
    from pathlib import Path

    from pipeline.core.config import ConfigError, load_config
    from pipeline.core.paths import Home, football_data_dir

    home = Home.from_env(args.home)
    if args.dest:
        return Path(args.dest)
    if args.for_sandbox:
        try:
            configured = load_config(home.system_config).sandbox.data
        except ConfigError:
            configured = None
        return football_data_dir(home, configured)
    return home.data / "football-data"


def run_fetch(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from pipeline.analysis import fetch as ft

    try:
        seasons = ft.parse_seasons(args.seasons)
        leagues = [x.strip() for x in args.league.split(",") if x.strip()]
        dest = _dest(args)
        console = Console(stderr=True)
        show = not args.json and console.is_terminal
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                      console=console, transient=True, disable=not show) as progress:
            tasks: dict[str, int] = {}

            def on_bytes(name: str, done: int, total: int | None) -> None:
                if name not in tasks:
                    tasks[name] = progress.add_task(name.strip(".").removesuffix(".part"),
                                                    total=total)
                progress.update(tasks[name], completed=done, total=total)

            def on_file(got: ft.Fetched) -> None:
                if not args.json:
                    detail = got.error or f"{got.matches} matches, {got.bytes:,} bytes"
                    progress.console.print(f"{got.name}: {got.status} ({detail})",
                                           highlight=False, soft_wrap=True)

            done = ft.fetch(leagues, seasons, dest, base_url=args.base_url, force=args.force,
                            progress=on_bytes, on_file=on_file)
    except ft.FetchError as e:
        return _fail(str(e))
    failed = [d for d in done if d.status == "failed"]
    if args.json:
        _print_json({"dest": str(dest), "files": [d.to_json() for d in done]})
    else:
        print(f"{len(done) - len(failed)} of {len(done)} files in {dest} ({CREDIT})")
    return 1 if failed else 0
