"""`betpipe history days|matches|show KEY|export`: the odds history (data/odds-history/, DESIGN:
"Odds history and closing-line value"), read through pipeline.history.store.

`betpipe history` with no subcommand stays what it was: the ledger's events (cli/sessions.py).
The odds history is a history too, and the issue names `betpipe history`; a subcommand keeps
both without breaking a user's scripts (`betpipe history --session S`).
"""
from __future__ import annotations

import sys

CSV_COLUMNS = ("t", "source", "key", "competition", "kickoff", "status", "market", "line",
               "price_1", "price_2", "price_3", "home_goals", "away_goals")
# market -> (odds-data field, its sides in CSV column order)
MARKETS = (("1X2", "odds", ("home", "draw", "away")), ("AH", "handicap", ("home", "away")),
           ("OU", "totals", ("over", "under")))


def add_subcommands(p) -> None:
    sub = p.add_subparsers(dest="odds_history", metavar="{days,matches,show,export}",
                           required=False)
    d = sub.add_parser("days", help="the odds history's day files: lines, matches, bytes")
    d.add_argument("--json", action="store_true")
    d.set_defaults(run=run_days)
    m = sub.add_parser("matches", help="the matches in the odds history: lines, last state")
    m.add_argument("--from", dest="start", help="ISO instant: lines at or after it")
    m.add_argument("--to", dest="end", help="ISO instant: lines before it")
    m.add_argument("--json", action="store_true")
    m.set_defaults(run=run_matches)
    s = sub.add_parser("show", help="one match's price path, line by line")
    s.add_argument("key", help="the match key (betpipe history matches lists them)")
    s.add_argument("--json", action="store_true", help="the lines as JSON lines")
    s.set_defaults(run=run_show)
    e = sub.add_parser("export", help="one CSV row per change of a market's prices")
    e.add_argument("--format", choices=("csv",), default="csv")
    e.add_argument("--from", dest="start")
    e.add_argument("--to", dest="end")
    e.add_argument("--out", help="a file to write (default: standard output)")
    e.set_defaults(run=run_export)


def _dir(args):
    from pipeline.core.paths import Home
    from pipeline.history import store

    return store.history_dir(Home.from_env(args.home).data)


def _guard(fn):
    def run(args) -> int:
        from pipeline.core.filebus import BadFile

        try:
            return fn(args)
        except BadFile as e:
            print(f"betpipe history: {e}", file=sys.stderr)
            return 2
    return run


@_guard
def run_days(args) -> int:
    import orjson
    from rich.console import Console
    from rich.table import Table

    from pipeline.history import store

    rows = []
    for d in store.days(_dir(args)):
        recs = store.read_day(d.path)
        rows.append({"day": d.day, "file": d.path.name, "closed": d.closed, "lines": len(recs),
                     "matches": len({r["key"] for r in recs}), "bytes": d.path.stat().st_size})
    if args.json:
        print(orjson.dumps(rows).decode())
        return 0
    if not rows:
        print(f"no odds history in {_dir(args)}")
        return 0
    table = Table("day", "file", "lines", "matches", "bytes")
    for r in rows:
        table.add_row(r["day"], r["file"], str(r["lines"]), str(r["matches"]), str(r["bytes"]))
    Console(width=120).print(table)
    return 0


def _prices(line: dict) -> str:
    odds = line.get("odds")
    out = ["1X2 " + "/".join(f"{odds[s]:g}" for s in ("home", "draw", "away"))] if odds else []
    out += [f"AH {h['line']:+g} {h['home']:g}/{h['away']:g}" for h in line.get("handicap") or []]
    out += [f"OU {t['line']:g} {t['over']:g}/{t['under']:g}" for t in line.get("totals") or []]
    res = line.get("result")
    if res:
        out.append(f"result {res['home_goals']}-{res['away_goals']}")
    return "  ".join(out) or "-"


@_guard
def run_matches(args) -> int:
    import orjson
    from rich.console import Console
    from rich.table import Table

    from pipeline.history import store

    counts: dict[str, int] = {}
    firsts: dict[str, str] = {}
    recs = list(store.lines(_dir(args), args.start, args.end))
    for r in recs:
        counts[r["key"]] = counts.get(r["key"], 0) + 1
        firsts.setdefault(r["key"], r["t"])
    last = store.fold(recs)
    rows = sorted(last.values(), key=lambda r: (r["kickoff"], r["key"]))
    if args.json:
        for r in rows:
            print(orjson.dumps({"key": r["key"], "competition": r.get("competition"),
                                "kickoff": r["kickoff"], "lines": counts[r["key"]],
                                "first": firsts[r["key"]], "last": r["t"],
                                "status": r["status"]}).decode())
        return 0
    table = Table("key", "kickoff", "lines", "first seen", "last change", "status", "prices")
    for r in rows:
        table.add_row(r["key"], r["kickoff"], str(counts[r["key"]]), firsts[r["key"]], r["t"],
                      r["status"], _prices(r))
    Console(width=200).print(table)
    print(f"{len(rows)} matches, {len(recs)} lines")
    return 0


@_guard
def run_show(args) -> int:
    import orjson

    from pipeline.history import store

    path = [r for r in store.lines(_dir(args)) if r["key"] == args.key]
    if not path:
        print(f"betpipe history show: no line for match {args.key!r} in {_dir(args)} (betpipe "
              f"history matches lists the keys)", file=sys.stderr)
        return 2
    for r in path:
        if args.json:
            print(orjson.dumps(r).decode())
        else:
            print(f"{r['t']}  {r['status']:<9} {_prices(r)}")
    return 0


def change_rows(recs) -> list[list]:
    """One row per market line whose prices changed since the match's line before (or per
    status/result change with no price change: market empty)."""
    from pipeline.history import store

    rows, before = [], {}
    for r in recs:
        prev = before.get(r["key"], {})
        base = [r["t"], r["source"], r["key"], r.get("competition"), r["kickoff"], r["status"]]
        res = r.get("result") or {}
        goals = [res.get("home_goals", ""), res.get("away_goals", "")]
        priced = False
        for market, field, sides in MARKETS:
            now = r.get(field)
            entries = [now] if market == "1X2" else (now or [])
            old = prev.get(field)
            olds = [old] if market == "1X2" else (old or [])
            for entry in entries:
                if entry is None or entry in olds:
                    continue
                priced = True
                prices = [entry[s] for s in sides] + [""] * (3 - len(sides))
                rows.append(base + [market, entry.get("line", "")] + prices + goals)
        if not priced and (not prev or store.state_of(prev) != store.state_of(r)):
            rows.append(base + ["", "", "", "", ""] + goals)
        before[r["key"]] = r
    return rows


@_guard
def run_export(args) -> int:
    import csv

    from pipeline.history import store

    rows = change_rows(store.lines(_dir(args), args.start, args.end))
    out = open(args.out, "w", newline="") if args.out else sys.stdout
    try:
        w = csv.writer(out)
        w.writerow(CSV_COLUMNS)
        w.writerows(rows)
    finally:
        if args.out:
            out.close()
    return 0
