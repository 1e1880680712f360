"""`betpipe bets`: placed bets (with their closing line and CLV once track took it) and intents
in flight, oldest first; --open, --overdue, --session; a table or JSON lines. Read from the
home's files alone, as cli/sessions.py reads them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.cli.sessions import _clock, _clv, _config, _console, _money, _snapshot, closes_of

if TYPE_CHECKING:
    from datetime import datetime

    from pipeline.core.paths import Home
    from pipeline.core.state import Book


def bet_rows(book: Book, session: str | None = None, open_only: bool = False,
             closes: dict | None = None) -> list[dict]:
    """Placed bets (each with its closing line, once track took it), then intents still in
    flight, each in ledger order."""
    closes = closes or {}
    rows = [{"seq": b.seq, "session": b.session, "decision_id": b.decision_id,
             "match_key": b.match_key, "market": b.market, "selection": b.selection,
             "line": b.line, "odds": b.odds,
             "stake": b.stake, "status": b.outcome or "open", "profit": b.profit,
             "bet_ref": b.bet_ref, "placed_at": b.placed_at, "settled_at": b.settled_at,
             **_close_fields(closes.get(b.bet_ref))}
            for b in book.placed.values()]
    rows += [{"seq": i.seq, "session": i.session, "decision_id": i.decision_id,
              "match_key": i.match_key, "market": i.market, "selection": i.selection,
              "line": i.line, "odds": i.odds, "stake": i.stake, "status": "in flight", "profit": 0.0, "bet_ref": None,
              "placed_at": i.ts, "settled_at": None, **_close_fields(None)}
             for i in book.unresolved.values()]
    rows = [r for r in rows if (session is None or r["session"] == session)
            and (not open_only or r["status"] in ("open", "in flight"))]
    return sorted(rows, key=lambda r: r["seq"])


def _close_fields(close: dict | None) -> dict:
    close = close or {}
    return {"closing": close.get("closing"), "clv": close.get("clv"),
            "ev_close": close.get("ev_close")}


def overdue_rows(home: Home, book: Book, rows: list[dict], now: datetime) -> list[dict]:
    """The rows of overdue bets, each with its kickoff and the instant it became overdue."""
    from pipeline.core.config import Config
    from pipeline.strategies.overdue import overdue_bets

    cfg, _ = _config(home)
    odds = _snapshot(home.odds) or {}
    matches = {m.get("key"): m for m in odds.get("matches") or [] if isinstance(m, dict)}
    late = {o["bet_ref"]: o for o in overdue_bets(book, matches, now,
                                                   (cfg or Config()).settle_overdue_h)}
    return [{**r, "status": "overdue", "kickoff": late[r["bet_ref"]]["kickoff"],
             "overdue_since": late[r["bet_ref"]]["overdue_since"]}
            for r in rows if r["bet_ref"] in late]


def run_bets(args) -> int:
    import orjson
    from rich.markup import escape
    from rich.table import Table

    from pipeline.core.ledger import Ledger
    from pipeline.core.paths import Home
    from pipeline.core.state import replay
    from pipeline.strategies.markets import pick_label

    home = Home.from_env(args.home)
    clock = _clock(home)
    book = replay(Ledger(home.ledger, clock).read())
    rows = bet_rows(book, args.session, args.open, closes_of(home))
    if args.overdue:
        rows = overdue_rows(home, book, rows, clock.now())
    if args.json:
        for r in rows:
            print(orjson.dumps(r).decode())
        return 0
    t = Table("placed at", "session", "match", "market", "pick", "odds", "close", "CLV", "stake",
              "status", "profit", "bet ref")
    for r in rows:
        colour = {"won": "green", "half_won": "green", "lost": "red", "half_lost": "red",
                  "in flight": "yellow", "overdue": "red"}.get(r["status"], "")
        status = f"[{colour}]{r['status']}[/]" if colour else r["status"]
        t.add_row(r["placed_at"], escape(r["session"]), escape(r["match_key"]), r["market"],
                  pick_label(r["market"], r["selection"], r["line"]),
                  f"{r['odds']:.2f}", _money(r["closing"]), _clv(r["clv"]),
                  f"{r['stake']:.2f}", status,
                  _money(r["profit"], True) if r["settled_at"] else "", escape(r["bet_ref"] or ""))
    _console().print(t)
    print(f"{len(rows)} bet(s)" + (" overdue: no result a source will give? settle by hand: "
                                   "betpipe settle BET_REF --score H-A | --void"
                                   if args.overdue and rows else ""))
    return 0
