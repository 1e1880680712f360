"""`betpipe optimize`: search a session's parameters with optuna on the backtest engine,
walk-forward by season with `--folds season` (pipeline/analysis/optimize.py, studies.py)."""
from __future__ import annotations

import sys

from pipeline.cli.analysis import BACKTEST_SOURCES, CREDIT, _console, _fail, _print_json

OBJECTIVES = ("roi", "profit", "log_growth")  # pipeline.analysis.optimize.OBJECTIVES


def register(sub) -> None:
    p = sub.add_parser("optimize", help="search a session's parameters (optuna TPE) on the "
                       "backtest, optionally walk-forward by season")
    p.add_argument("--data", nargs="+", required=True, metavar="CSV")
    p.add_argument("--config", required=True, help="a system-config.json holding --session")
    p.add_argument("--session", required=True, help="the session whose keys SPACE sets")
    p.add_argument("--space", required=True, metavar="SPACE.json",
                   help='dotted session keys to ranges: {"odds.min": {"low": 1.3, "high": 2, '
                        '"step": 0.05}, "selection": {"choices": ["favourite", "underdog"]}}')
    p.add_argument("--odds", required=True, choices=BACKTEST_SOURCES)
    p.add_argument("--folds", choices=("season",), help="walk-forward by season")
    p.add_argument("--train", type=int, default=1, metavar="K",
                   help="seasons before the first test season (default 1)")
    p.add_argument("--trials", type=int, default=100, metavar="N", help="trials per fold")
    p.add_argument("--objective", choices=OBJECTIVES, default="roi")
    p.add_argument("--min-bets", type=int, default=1, metavar="N",
                   help="a trial with fewer bets is worthless (pruned)")
    p.add_argument("--storage", metavar="URL", help="optuna storage: a journal file (default "
                   "data/optimize/SESSION.journal) or a database URL (sqlite:///…, "
                   "postgresql://…) shared by workers on several machines")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes")
    p.add_argument("--seed", type=int, help="the TPE sampler's seed (worker i: seed + i)")
    p.add_argument("--plot", metavar="FILE.svg", help="write the out-of-sample equity as an SVG")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_optimize)


def _inputs(args):
    """(Search, folds, study key) from the arguments; OptimizeError / ConfigError / …"""
    from pathlib import Path

    import orjson

    from pipeline.analysis import optimize as op
    from pipeline.core.config import load_config

    if args.trials < 1 or args.jobs < 1 or args.min_bets < 0:
        raise op.OptimizeError("--trials and --jobs must be at least 1, --min-bets at least 0")
    try:
        space_doc = orjson.loads(Path(args.space).read_bytes())
    except FileNotFoundError:
        raise op.OptimizeError(f"{args.space}: no such file") from None
    except orjson.JSONDecodeError as e:
        raise op.OptimizeError(f"{args.space}: $: not JSON: {e}") from None
    config = load_config(Path(args.config))
    market = space_doc.get("market") if isinstance(space_doc, dict) else None
    more = [c for c in (market or {}).get("choices", []) if isinstance(c, str)] if isinstance(
        market, dict) else []
    data = op.Data.load(args.data, args.odds, config, args.session, more)
    dims = op.parse_space(space_doc, args.space, data.base)
    search = op.Search(data, dims, args.objective, args.min_bets)
    the_folds = op.folds(list(data.seasons), args.folds == "season", args.train)
    files = [(Path(f).name, Path(f).stat().st_size) for f in args.data]
    key = {"files": files, "odds": args.odds, "session": data.base.model_dump(mode="json"),
           "space": space_doc, "seed": args.seed}
    return search, the_folds, key


def run_optimize(args) -> int:
    from pipeline.analysis import backtest as bt
    from pipeline.analysis import optimize as op
    from pipeline.analysis import studies
    from pipeline.analysis.plot import check_path, write_plot
    from pipeline.core.config import ConfigError
    from pipeline.core.paths import Home

    try:
        if args.plot:
            check_path(args.plot)
        search, the_folds, key = _inputs(args)
        default_dir = Home.from_env(args.home).data / "optimize"
        specs = studies.search_all(search, the_folds, key, storage_url=args.storage,
                                   default_dir=default_dir, trials=args.trials, jobs=args.jobs,
                                   seed=args.seed)
        storage = studies.storage_for(args.storage, default_dir, search.data.base.id)
        doc = studies.report(search, specs, storage)
    except (ConfigError, bt.BacktestError, op.OptimizeError, ValueError) as e:
        return _fail(str(e))
    if doc["warning"]:
        print(f"betpipe: warning: {doc['warning']}", file=sys.stderr)
    equity = doc.pop("equity")
    if args.plot:
        sid = f"{doc['session']} out-of-sample"
        write_plot(args.plot, {sid: equity}, {sid: {**(doc["out_of_sample"] or op.summed([])),
                                                    "max_drawdown": _drawdown(equity)}})
    if args.json:
        _print_json(doc)
        return 0
    _table(doc, args)
    if args.plot:
        print(f"out-of-sample equity: {args.plot}")
    return 0


def _drawdown(equity) -> float:
    from pipeline.strategies.settlement import max_drawdown

    prev, steps = 0.0, []
    for _, cum in equity:
        steps.append(cum - prev)
        prev = cum
    return max_drawdown(steps)


def _table(doc: dict, args) -> None:
    from rich.table import Table

    walk = doc["out_of_sample"] is not None
    t = Table(title=f"optimize {doc['session']}: {doc['objective']}, {args.trials} trials per "
              f"fold" + (", walk-forward by season" if walk else ""), caption=CREDIT)
    for col in ("train seasons", "test", "best params", "train value", "bets", "staked",
                "profit", "ROI"):
        t.add_column(col, justify="left" if col in ("train seasons", "test", "best params")
                     else "right")
    for f in doc["folds"]:
        tr = f["train_seasons"]
        seasons = tr[0] if len(tr) == 1 else f"{tr[0]}..{tr[-1]}"
        params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in (f["best_params"] or {}).items()) or "no valid trial"
        fig = f["test"] if walk else f["train"]
        value = "-" if f["train_value"] is None else f"{f['train_value']:.4f}"
        t.add_row(seasons, f["test_season"] or "-", params, value, *_figs(fig))
    if walk:
        t.add_section()
        t.add_row("out of sample", "", "", "", *_figs(doc["out_of_sample"]))
        t.add_row("in sample (best trials)", "", "", "", *_figs(doc["in_sample"]))
        if doc["warning"]:
            t.add_row(f"[red]warning: {doc['warning']}[/]", "", "", "", "", "", "", "")
    _console().print(t)


def _figs(f: dict | None) -> list[str]:
    if not f:
        return ["-"] * 4
    return [str(f["bets"]), f"{f['staked']:,.2f}", f"{f['profit']:,.2f}", f"{f['roi']:.2%}"]
