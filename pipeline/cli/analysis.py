"""`betpipe backtest`, `betpipe drill`, `betpipe data fetch` (its own module, cli/fetch.py): thin
shells over the analysis modules. Tables (rich) for people, `--json` for programs; progress bars
go to stderr and only to a terminal. Errors name the file, the row and the field, and exit with
status 2."""
from __future__ import annotations

import sys
from contextlib import contextmanager

# every `betpipe` command builds this parser: the analysis modules load only when one runs
FACTOR_NAMES = ("competition", "season", "month", "weekday", "selection", "role", "odds_band",
                "drift", "ou25_band", "clv_band", "drift_close", "market", "line")  # analysis.drill.FACTORS
DATA_URL, URL_ENV = "https://www.football-data.co.uk", "BETPIPE_DATA_URL"  # analysis.fetch's
CREDIT = "data: football-data.co.uk"
BACKTEST_SOURCES = ("b365", "b365-closing", "avg", "max", "pinnacle", "pinnacle-closing",
                    "avg-closing", "max-closing")  # history.football_data.BACKTEST_SOURCES
PRICE_SOURCES = ("avg", "avg-closing", "b365", "b365-closing", "max", "max-closing",
                 "pinnacle", "pinnacle-closing")  # sorted(history.football_data.PRICE_SOURCES)
LONG_RUN = 2000  # matches: show a progress bar from here on


def _fail(msg: str) -> int:
    print(f"betpipe: {msg}", file=sys.stderr)
    return 2


def _console():
    """stdout; wide enough for the tables when it is not a terminal (a pipe, a file)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)


def _print_json(doc) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")


@contextmanager
def _bar(total: int, label: str, show: bool):
    """A progress callback (done count) drawing a bar on stderr when `show` and it is a tty."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn)

    console = Console(stderr=True)
    if not show or not console.is_terminal:
        yield None
        return
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.update(task, completed=done)


# --------------------------------------------------------------------------- backtest

def register_backtest(sub) -> None:
    p = sub.add_parser("backtest", help="run the config's sessions over football-data CSVs "
                       "or the recorded odds history")
    p.add_argument("--data", nargs="+", metavar="CSV",
                   help="football-data.co.uk CSV files (ties in kickoff go in this order)")
    p.add_argument("--history", metavar="DIR", help="an odds history folder (data/odds-history) "
                   "instead of --data: the recorded prices, windows on")
    p.add_argument("--from", dest="start", help="with --history: lines at or after this ISO "
                   "instant")
    p.add_argument("--to", dest="end", help="with --history: lines before this ISO instant")
    p.add_argument("--results", nargs="+", metavar="CSV", default=[],
                   help="with --history: football-data CSVs settling matches the history has "
                        "no result for")
    p.add_argument("--config", required=True, help="a system-config.json with the sessions")
    p.add_argument("--odds", choices=BACKTEST_SOURCES, help="the price columns (with --data)")
    p.add_argument("--closing", choices=PRICE_SOURCES, metavar="SOURCE",
                   help="with --data: the closing prices bets are compared with (CLV; default "
                        "the --odds bookmaker's closing columns, none when --odds is closing)")
    p.add_argument("--refit-days", type=float, default=7.0, metavar="DAYS",
                   help="with --data: sessions with probability from model are priced by a "
                        "walk-forward fit refitted every DAYS (default 7; fits cached under the "
                        "home's data/cache/models)")
    p.add_argument("--json", action="store_true", help="one JSON object keyed by session id")
    p.add_argument("--plot", metavar="FILE.svg", help="write the equity curves as an SVG")
    p.set_defaults(run=run_backtest)


def load_and_run(data: list[str], config_path: str, odds: str, show_progress: bool = False,
                 closing: str | None = None, refit_days: float = 7.0):
    """(config, loaded matches, finished Backtest); ConfigError / BacktestError when unusable.
    `closing`: the closing source (None: `odds`'s own closing columns). Sessions with
    probability from model or reference get theirs from analysis.probabilities (what they
    cost and any lookahead on stderr)."""
    from pathlib import Path

    from pipeline.analysis import backtest as bt
    from pipeline.analysis import probabilities as pr
    from pipeline.core.config import load_config
    from pipeline.core.matchkey import load_tables
    from pipeline.core.paths import Home

    config = load_config(Path(config_path))
    key_tables = load_tables()
    loaded = bt.load_matches(data, odds, key_tables, markets=bt.markets_of(config),
                             closing=closing or bt.DEFAULT)
    for warning in pr.lookahead(config, odds):
        print(f"betpipe: warning: {warning}", file=sys.stderr)
    stats: dict = {}
    cache = Home.from_env().data / "cache" / "models"
    try:
        tables = pr.tables_for(config, loaded.matches, loaded.fixtures, key_tables, refit_days,
                               cache, stats)
    except pr.ProbabilityError as e:
        raise bt.BacktestError(str(e)) from None
    if stats:
        print(f"betpipe: model: {stats['priced']} of {stats['matches']} matches priced "
              f"walk-forward (refit every {refit_days:g} days): {stats['fits_made']} fits "
              f"made, {stats['fits_read']} read from {cache}", file=sys.stderr)
    with _bar(len(loaded.matches), "backtest",
              show_progress and len(loaded.matches) >= LONG_RUN) as progress:
        return config, loaded, bt.run(loaded.matches, config, progress, tables=tables)


def run_backtest(args) -> int:
    from rich.table import Table

    from pipeline.analysis import backtest as bt
    from pipeline.analysis.plot import check_path, write_plot
    from pipeline.analysis.probabilities import lookahead
    from pipeline.core.config import ConfigError

    try:
        if args.plot:
            check_path(args.plot)
    except ValueError as e:
        return _fail(str(e))
    if bool(args.data) == bool(args.history):
        return _fail("give either --data CSV... (with --odds) or --history DIR")
    if args.data and not args.odds:
        return _fail("--data needs --odds SOURCE")
    if args.history and args.closing:
        return _fail("--closing is for --data: a history's close is its last price before "
                     "kickoff")
    try:
        caption = CREDIT
        if args.history:
            title, result = _history_run(args)
        else:
            config, loaded, result = load_and_run(args.data, args.config, args.odds,
                                                  not args.json, args.closing, args.refit_days)
            closing = args.closing or bt.closing_source(args.odds)
            title = (f"backtest: {len(loaded.matches)} matches with {args.odds} prices "
                     f"({loaded.skipped} of {loaded.rows} rows without them), CLV against "
                     f"{closing or 'nothing (the prices are closing)'}")
            caption = "\n".join([CREDIT] + [f"LOOKAHEAD: {w}" for w in
                                             lookahead(config, args.odds)])
    except (ConfigError, bt.BacktestError) as e:
        return _fail(str(e))
    report = result.report()
    if args.plot:
        try:
            write_plot(args.plot, {sid: result.figures(sid)["equity"] for sid in report}, report)
        except (ValueError, OSError) as e:
            return _fail(str(e))
    if args.json:
        _print_json(report)
        return 0
    table = Table(title=title, caption=caption)
    for col in ("session", "bets", "won", "hit rate", "staked", "profit", "ROI", "max drawdown",
                "bankroll", "halted", "CLV bets", "CLV", "EV at close"):
        table.add_column(col, justify="left" if col in ("session", "halted") else "right")
    for sid, f in report.items():
        table.add_row(sid, str(f["bets"]), str(f["won"]), f"{f['hit_rate']:.1%}",
                      f"{f['staked']:,.2f}", f"{f['profit']:,.2f}", f"{f['roi']:.2%}",
                      f"{f['max_drawdown']:,.2f}", f"{f['bankroll']:,.2f}", f["halted"] or "",
                      str(f["clv_bets"]), _pct(f["clv_mean"]), _pct(f["ev_close_mean"]))
    _console().print(table)
    if args.plot:
        print(f"equity curves: {args.plot}")
    return 0


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:+.2%}"


def _history_run(args):
    """(title, finished HistoryBacktest) of `backtest --history`."""
    from pathlib import Path

    from pipeline.analysis import histback
    from pipeline.analysis.backtest import BacktestError
    from pipeline.core.config import load_config
    from pipeline.core.matchkey import load_tables
    from pipeline.core.timefmt import iso, parse_iso

    bounds = []
    for name, text in (("--from", args.start), ("--to", args.end)):
        try:
            bounds.append(iso(parse_iso(text)) if text else None)
        except ValueError:
            raise BacktestError(f"{name} {text!r}: not an ISO instant (2019-08-17T00:00:00Z)")
    config = load_config(Path(args.config))
    lines = histback.load_history(Path(args.history), *bounds)
    results = histback.load_results(args.results, load_tables()) if args.results else {}
    result = histback.run_history(lines, config, results,
                                  parse_iso(bounds[1]) if bounds[1] else None)
    title = (f"backtest on the odds history {args.history}: {result.changes} price changes of "
             f"{len(result.hmatches)} matches, windows on")
    return title, result


# --------------------------------------------------------------------------- drill

def register_drill(sub) -> None:
    p = sub.add_parser("drill", help="group matches or a session's bets by factors")
    p.add_argument("--data", nargs="+", required=True, metavar="CSV")
    p.add_argument("--odds", required=True, choices=BACKTEST_SOURCES)
    p.add_argument("--by", required=True, metavar="FACTOR[,FACTOR…]",
                   help=f"factors: {', '.join(FACTOR_NAMES)}")
    p.add_argument("--where", metavar="F=V[|V],…", help="keep records whose factors have these "
                   "labels, e.g. season=2019-20,role=favourite|underdog")
    p.add_argument("--selection", default="favourite",
                   choices=("home", "draw", "away", "favourite", "underdog"),
                   help="matches: the side backed with 1 unit (default favourite)")
    p.add_argument("--session", help="drill this session's backtest bets instead (with --config)")
    p.add_argument("--config", help="the system-config.json holding --session")
    p.add_argument("--records", action="store_true", help="list each group's match records")
    p.add_argument("--promote", metavar="F=LABEL,…", help="write this group as a new session, "
                   "disabled, into the home's system-config.json (with --as)")
    p.add_argument("--as", dest="as_id", metavar="SESSION_ID", help="the promoted session's id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_drill)


def _records(args) -> list:
    from pipeline.analysis import drill as dr

    if not args.session:
        return dr.records_for(args.data, args.odds, args.selection)
    if not args.config:
        raise dr.DrillError("--session needs --config (the file that holds the session)")
    config, _, result = load_and_run(args.data, args.config, args.odds, not args.json)
    if config.session(args.session) is None:
        raise dr.DrillError(f"{args.config}: no session {args.session!r} "
                            f"(sessions: {', '.join(s.id for s in config.sessions) or 'none'})")
    return dr.records_from_backtest(result, args.session, args.odds)


def run_drill(args) -> int:
    from rich.table import Table

    from pipeline.analysis import backtest as bt
    from pipeline.analysis import drill as dr
    from pipeline.core.config import ConfigError

    try:
        by = dr.check_factors(args.by.split(","))
        where = dr.parse_where(args.where)
        if bool(args.promote) != bool(args.as_id):
            raise dr.DrillError("--promote GROUP and --as SESSION_ID go together")
        groups = dr.drill(_records(args), by, where)
        if args.promote:
            return _promote(args, by, groups)
    except (ConfigError, bt.BacktestError, dr.DrillError) as e:
        return _fail(str(e))
    what = f"session {args.session}" if args.session else f"matches, 1 unit on the {args.selection}"
    if args.json:
        _print_json({"records": what, "odds": args.odds, "by": by,
                     "where": {k: sorted(v) for k, v in where.items()},
                     "groups": [g.to_json(args.records) for g in groups]})
        return 0
    console = _console()
    table = Table(title=f"drill: {what}, {args.odds} prices, by {', '.join(by)}", caption=CREDIT)
    for f in by:
        table.add_column(f)
    for col in ("count", "won", "hit rate", "staked", "profit", "ROI"):
        table.add_column(col, justify="right")
    for g in groups:
        table.add_row(*g.values.values(), str(g.count), str(g.won), f"{g.hit_rate:.1%}",
                      f"{g.staked:,.2f}", f"{g.profit:,.2f}", f"{g.roi:.2%}")
    console.print(table)
    if args.records:
        for g in groups:
            console.print(_records_table(g))
    return 0


def _promote(args, by, groups) -> int:
    """Write the group as a disabled session through the hand edit's validation, atomic write
    and audit record (core/sessionedit, configedit)."""
    from pathlib import Path

    from pipeline.analysis import promote as pr
    from pipeline.core import clock as clockmod
    from pipeline.core.audit import Audit
    from pipeline.core.config import load_config
    from pipeline.core.configedit import EditRefused, write_edit
    from pipeline.core.paths import Home
    from pipeline.core.sessionedit import add
    from pipeline.core.timefmt import iso

    group = pr.find_group(groups, pr.parse_group(args.promote, by))
    base = None
    if args.session:
        base = load_config(Path(args.config)).session(args.session).model_dump(
            mode="json", exclude_defaults=True)
    session = pr.session_for(group.values, args.as_id, base, args.selection)
    home = Home.from_env(args.home)
    path = home.system_config
    try:
        ts = iso(clockmod.load_clock(home.clock).now())
    except clockmod.ClockError:
        ts = iso(clockmod.real_now())
    try:
        record = write_edit(path, Audit(home.audit), lambda data: add(data, path, session), ts,
                            by="cli")
    except EditRefused as e:
        return _fail(f"drill --promote: {e.reason}")
    except FileNotFoundError:
        return _fail(f"drill --promote: {path}: file not found (betpipe init-home)")
    if args.json:
        _print_json({"promoted": session, "group": group.to_json(), "config": str(path)})
    else:
        print(f"{path}: + session {args.as_id} (disabled): {session}; the group: "
              f"{group.count} bets, ROI {group.roi:.2%}"
              + ("" if record else " (nothing changed)"))
    return 0


def _records_table(g):
    from rich.table import Table

    t = Table(title=", ".join(f"{k}={v}" for k, v in g.values.items()))
    from pipeline.history.football_data import UK
    from pipeline.strategies.markets import pick_label

    for col in ("kickoff (UK)", "match", "backed", "odds", "FTR", "stake", "profit"):
        t.add_column(col, justify="right" if col in ("odds", "stake", "profit") else "left")
    for r in g.records:
        t.add_row(r.kickoff.astimezone(UK).strftime("%Y-%m-%d %H:%M"), f"{r.home} v {r.away}",
                  pick_label(r.market, r.selection, r.line),
                  f"{r.odds:.2f}", r.ftr, f"{r.stake:.2f}", f"{r.profit:+.2f}")
    return t


def register(sub) -> None:
    from pipeline.cli.fetch import register_data

    for add in (register_backtest, register_drill, register_data):
        add(sub)
