"""`betpipe sources parse`: captured source answers → the normalised odds-data `matches` array.

    betpipe sources parse --kind hkjc FILE...            # odds answers (matchList, single match)
    betpipe sources parse --kind hkjc --table FILE...    # the same as a table, one row a price line
    betpipe sources parse --kind hkjc-results FILE...    # matchResult answers (needs fulltime)

The JSON is the odds-data `matches` array (with `handicap` and `totals` when on sale); the table
shows each match's status and its 1X2, AH lines (home's handicap) and OU lines.

The tool to reach for when the site changes: save the GraphQL answers from the browser's network
panel, run them through the same parser the monitor uses, see what it makes of them. Problems
with single matches go to stderr; a file of the wrong shape is an error naming the file and the
field (exit 2).
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from pipeline.core.errors import BetpipeError

if TYPE_CHECKING:  # the parser alone stays fast: each command imports what it uses
    from pipeline.core.paths import Home

KINDS = ("hkjc", "hkjc-results")


def register(sub) -> None:
    p = sub.add_parser("sources", help="work with captured source answers")
    actions = p.add_subparsers(dest="action", required=True)
    parse = actions.add_parser("parse", help="print the odds-data matches of captured answers")
    parse.add_argument("--kind", required=True, choices=KINDS)
    parse.add_argument("files", nargs="+", metavar="FILE")
    parse.add_argument("--now", help="ISO time the answers were seen at (default: the home's "
                                     "clock, else now)")
    parse.add_argument("--fulltime", metavar="STAGE,TYPE",
                       help="hkjc-results: the stageId,resultType of the full-time score "
                            "(default: config source.hkjc.fulltime, itself 5,1)")
    parse.add_argument("--table", action="store_true",
                       help="a table (1X2, AH and OU lines per match) instead of JSON")
    parse.set_defaults(run=_parse)


class Refused(BetpipeError):
    """A file or an option the parser cannot use: names the file and the field."""


def _now(home: Home, text: str | None):
    from pipeline.core import clock as clockmod
    from pipeline.core.timefmt import parse_iso

    if text:
        try:
            return parse_iso(text)
        except ValueError as e:
            raise Refused(f"--now: {e}") from None
    try:
        return clockmod.load_clock(home.clock).now()
    except clockmod.ClockError:
        return clockmod.real_now()


def _fulltime(home: Home, text: str | None) -> tuple[int, int] | None:
    from pipeline.core.config import ConfigError, HkjcConfig, load_config

    if text:
        try:
            stage, kind = (int(x) for x in text.split(","))
        except ValueError:
            raise Refused(f"--fulltime {text!r}: expected STAGE,TYPE (two whole numbers)") \
                from None
        return stage, kind
    try:
        ft = load_config(home.system_config).source.hkjc.fulltime
    except ConfigError:
        ft = HkjcConfig().fulltime  # the default: stageId 5, resultType 1
    return (ft.stage_id, ft.result_type) if ft else None


def _load(path: str):
    from pathlib import Path

    import orjson

    from pipeline.sources.hkjc import ShapeError, answer_matches

    try:
        doc = orjson.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise Refused(f"{path}: no such file") from None
    except orjson.JSONDecodeError as e:
        raise Refused(f"{path}: not JSON ({e})") from None
    try:
        answer_matches(doc)
    except ShapeError as e:
        raise Refused(f"{path}: {e}") from None
    return doc


def parse_files(home: Home, kind: str, files: list[str], now_text: str | None = None,
                fulltime_text: str | None = None) -> tuple[list[dict], list[str]]:
    """(matches, problems) of the files; Refused naming the file and field."""
    from pipeline.core.matchkey import load_tables
    from pipeline.core.timefmt import iso
    from pipeline.sources.hkjc import (ShapeError, parse_odds_answers, parse_results,
                                       unique_keys)

    tables = load_tables(home)
    now = _now(home, now_text)
    seen_at = iso(now)
    docs = [_load(f) for f in files]
    if kind == "hkjc":
        return parse_odds_answers(docs, tables, seen_at, now)
    fulltime = _fulltime(home, fulltime_text)
    matches, problems = [], []
    for path, doc in zip(files, docs):
        try:
            got, more = parse_results(doc, fulltime, tables, seen_at, now)
        except ShapeError as e:
            raise Refused(f"{path}: {e}") from None
        matches += got
        problems += more
    return unique_keys(matches, problems), problems


def _parse(args) -> int:
    import orjson

    from pipeline.core.paths import Home

    home = Home.from_env(args.home)
    try:
        matches, problems = parse_files(home, args.kind, args.files, args.now, args.fulltime)
    except Refused as e:
        print(f"betpipe sources parse: {e}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    if args.table:
        sys.stdout.write(table(matches))
    else:
        sys.stdout.write(orjson.dumps(matches, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def _price(x) -> str:
    return f"{x:.2f}"


def table(matches: list[dict]) -> str:
    """One row per match (key, status, kickoff, the source's ref), then one row per price line:
    `1X2 -  home draw away`, `AH <home's line> home away`, `OU <goals> over under`."""
    rows = [("match / market", "status / line", "kickoff / prices", "ref")]
    for m in matches:
        rows.append((m["key"], m["status"], m["kickoff"], str(m.get("source_ref") or "")))
        odds = m.get("odds")
        if odds:
            rows.append(("  1X2", "", "  ".join(f"{s} {_price(odds[s])}" for s in
                                                ("home", "draw", "away")), ""))
        for market, field, sides in (("AH", "handicap", ("home", "away")),
                                     ("OU", "totals", ("over", "under"))):
            for e in m.get(field) or ():
                rows.append((f"  {market}", f"{e['line']:+.2f}" if market == "AH" else
                             f"{e['line']:.2f}", "  ".join(f"{s} {_price(e[s])}" for s in sides),
                             ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n"
                   for r in rows)
