"""Operations commands: `betpipe export` (bets as CSV for accounting) and `betpipe reconcile`
(the bookmaker's whole bet history against the ledger, once, as JSON)."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser alone stays fast: each command imports what it uses
    from pipeline.core.state import Bet

EXPORT_COLUMNS = ("placed_at", "session", "decision_id", "match_key", "market", "selection", "line",
                  "odds", "stake", "bet_ref", "outcome", "payout", "profit", "settled_at")


def register(sub) -> None:
    p = sub.add_parser("export", help="placed bets as CSV for accounting")
    p.add_argument("--session", help="only this session's bets")
    p.add_argument("--out", help="write to FILE instead of stdout")
    p.set_defaults(run=_export)
    p = sub.add_parser("reconcile", help="compare the bookmaker's bet history with the ledger "
                                         "(prints JSON; exit 1 on a discrepancy)")
    p.set_defaults(run=_reconcile)


# --------------------------------------------------------------------------- export

def export_rows(lines: list[dict], session: str | None = None) -> list[dict]:
    """One row per placed bet of the ledger's lines (archive.history_events), in ledger order,
    every reset included; an open bet has no outcome, payout, profit or settled_at yet."""
    from pipeline.core.events import from_dicts
    from pipeline.core.state import replay

    bets = sorted(replay(from_dicts(lines)).placed.values(), key=lambda b: b.seq)
    return [_row(b) for b in bets if session is None or b.session == session]


def _row(b: Bet) -> dict:
    settled = b.outcome is not None
    return {"placed_at": b.placed_at, "session": b.session, "decision_id": b.decision_id,
            "match_key": b.match_key, "market": b.market, "selection": b.selection,
            "line": "" if b.line is None else f"{b.line:g}", "odds": f"{b.odds:g}",
            "stake": f"{b.stake:.2f}", "bet_ref": b.bet_ref, "outcome": b.outcome or "",
            "payout": f"{b.payout:.2f}" if settled else "",
            "profit": f"{b.profit:.2f}" if settled else "", "settled_at": b.settled_at or ""}


def to_csv(rows: list[dict]) -> str:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _export(args) -> int:
    from pathlib import Path

    from pipeline.core.archive import history_events
    from pipeline.core.paths import Home

    home = Home.from_env(args.home)
    text = to_csv(export_rows(history_events(home.ledger), args.session))  # archives too
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {text.count(chr(10)) - 1} bets to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


# --------------------------------------------------------------------------- reconcile

def _reconcile(args) -> int:
    import orjson

    from pipeline.bookmakers.reconcile import HistoryUnavailable, check, history
    from pipeline.cli.common import config_or_say
    from pipeline.cli.status import _NullClock
    from pipeline.core.ledger import Ledger
    from pipeline.core.paths import Home

    home = Home.from_env(args.home)
    cfg = config_or_say(home.system_config, "cannot reconcile: ")
    if cfg is None:
        return 2
    try:
        report = check(Ledger(home.ledger, _NullClock()), lambda: history(home, cfg), cfg.mode)
    except HistoryUnavailable as e:
        print(f"betpipe: cannot reconcile: {e}", file=sys.stderr)
        return 2
    print(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2).decode())
    return 0 if report.ok else 1
