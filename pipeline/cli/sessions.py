"""`betpipe sessions`, `bets` (cli/bets.py), `history`, `reset SESSION` and `decide --once`: the
strategy sessions as the ledger, the config and the odds make them, from the home's files alone.

Everything here is derived by replaying the ledger with the config (DESIGN: files); `reset` is
the one command that writes: it appends SESSION_RESET through the Ledger.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser alone stays fast: each command imports what it uses
    from datetime import datetime

    from pipeline.core.config import Config
    from pipeline.core.events import Event
    from pipeline.core.paths import Home
    from pipeline.core.state import Book, SessionBook
    from pipeline.strategies.snapshot import OddsIndex


def register(sub) -> None:
    from pipeline.cli.bets import run_bets  # `betpipe bets`: its own module (it imports this one)

    p = sub.add_parser("sessions", help="each strategy session: state, cycle, money, window")
    p.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    p.add_argument("--category", help="only the sessions of this category (config `category`)")
    p.set_defaults(run=run_sessions)
    p = sub.add_parser("bets", help="placed bets (and bets in flight), oldest first")
    p.add_argument("--session", help="only this session's bets")
    p.add_argument("--open", action="store_true", help="only bets not settled yet")
    p.add_argument("--overdue", action="store_true",
                   help="only open bets with no result settle_overdue_h after kickoff")
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    p.set_defaults(run=run_bets)
    p = sub.add_parser("history", help="the ledger's events in order, readable; the odds "
                       "history with days|matches|show KEY|export")
    p.add_argument("--session", help="only this session's events")
    p.add_argument("--json", action="store_true", help="the raw events as JSON lines")
    p.set_defaults(run=run_history)
    from pipeline.cli.oddshistory import add_subcommands as add_odds_history

    add_odds_history(p)  # betpipe history days|matches|show|export (cli/oddshistory.py)
    p = sub.add_parser("reset", help="append SESSION_RESET: the session's counts start again")
    p.add_argument("session", help="the session id")
    p.set_defaults(run=run_reset)


def add_decide_once(p) -> None:
    """`betpipe decide --once …` (the decide program's own subparser)."""
    p.add_argument("--once", action="store_true",
                   help="print the decisions.json document for these files and exit; "
                        "writes nothing")
    p.add_argument("--odds", help="an odds-data.json (with --once)")
    p.add_argument("--config", help="a system-config.json (default: the home's)")
    p.add_argument("--ledger", help="a bet-record.jsonl (default: the home's)")
    p.add_argument("--now", help="the instant to decide at, ISO (default: the home's clock)")
    p.set_defaults(run=_decide_once)


def _decide_once(args) -> int:
    from pipeline.programs.decide.program import run_once  # the program's module: watchdog, reactivex

    return run_once(args)


# --------------------------------------------------------------------------- reading a home

def _clock(home: Home):
    from pipeline.core import clock as clockmod

    try:
        return clockmod.load_clock(home.clock)
    except clockmod.ClockError:  # no pipeline started yet: real time
        real = clockmod.real_now()
        return clockmod.AnchoredClock(real, real, 1.0)


def _config(home: Home) -> tuple[Config | None, str | None]:
    from pipeline.core.config import ConfigError, load_config

    try:
        return load_config(home.system_config), None
    except ConfigError as e:
        return None, str(e)


def _snapshot(path) -> dict | None:
    from pipeline.core.filebus import BadFile, read_snapshot

    try:
        return read_snapshot(path)
    except BadFile:
        return None


def session_ids(config: Config | None, book: Book) -> list[str]:
    ids = [s.id for s in config.sessions] if config else []
    return ids + [sid for sid in book.sessions if sid not in ids]


def _halt_detail(events: list[Event], sb: SessionBook) -> str | None:
    from pipeline.core.events import ABSENT, SessionHalted

    ev = next((e for e in reversed(events) if type(e) is SessionHalted
               and e.session == sb.id and e.seq > sb.reset_seq), None)
    return None if ev is None or ev.detail is ABSENT else ev.detail


def closes_of(home: Home) -> dict[str, dict]:
    """bet_ref -> {closing, clv, ev_close}: the closing lines track took (results.json)."""
    doc = _snapshot(home.results) or {}
    closes = doc.get("closes")
    return closes if isinstance(closes, dict) else {}


def session_row(sid: str, cfg: Config | None, book: Book, events: list[Event],
                index: OddsIndex | None, notes: list[str], now: datetime,
                closes: dict | None = None) -> dict:
    """One session's line of `betpipe sessions`."""
    from pipeline.core.state import SessionBook
    from pipeline.core.timefmt import iso
    from pipeline.strategies import ladder, rules, staking
    from pipeline.strategies.settlement import figures, start_bankroll

    s = cfg.session(sid) if cfg else None
    sb = book.sessions.get(sid) or SessionBook(sid)
    pos = ladder.position(s, sb)
    f = figures(sb, start_bankroll(cfg, sid), closes=closes)  # the figures of results.json
    row = {"session": sid, "in_config": s is not None, "enabled": bool(s and s.enabled),
           "category": s.category if s else None,
           "plan": s.staking.plan if s else None, "halted": rules.standing_halt(sb, now),
           "halt_detail": None, "halting": None, "review": None, "cycle": pos.cycle, "bet_in_cycle": pos.bet,
           "bets": f["bets"], "open_bets": f["open_bets"], "in_flight": f["in_flight"],
           "staked": f["staked"], "profit": f["profit"], "since_reset": f["since_reset"],
           "clv_bets": f["clv_bets"], "clv_mean": f["clv_mean"],
           "ev_close_mean": f["ev_close_mean"],
           "bankroll": None,
           "free_bankroll": None, "next_stake": None, "next_stake_note": None,
           "window": None, "window_opens_at": None, "matches_in_window": None, "notes": notes}
    if row["halted"]:
        row["halt_detail"] = _halt_detail(events, sb)
    if s is None:
        return row
    if not row["halted"]:
        row["halting"] = rules.session_halt_cause(s, sb, now)
    row["review"] = rules.review_state(s, sb)
    row["bankroll"], row["free_bankroll"] = f["bankroll"], f["free_bankroll"]
    res = staking.stake_for(s, sb, None, None)
    row["next_stake"], row["next_stake_note"] = res.stake, None if res.stake else res.reason
    w = s.window
    row["window"] = (f"{'any time' if w.from_minutes is None else f'{w.from_minutes:g} min'}"
                     f" .. {w.to_minutes:g} min before kickoff")
    if index is not None:
        row["matches_in_window"] = sum(1 for _ in index.select(s, now))
        opens = index.next_open(s, now)
        row["window_opens_at"] = iso(opens) if opens else None
    return row


def in_category(cfg: Config | None, sid: str, category: str | None) -> bool:
    """True without a category; else only a session of the config with that category."""
    s = cfg.session(sid) if cfg and category is not None else None
    return category is None or (s is not None and s.category == category)


def collect(home: Home, category: str | None = None) -> dict:
    from pipeline.core.ledger import Ledger
    from pipeline.core.state import replay
    from pipeline.core.timefmt import iso
    from pipeline.strategies.snapshot import OddsIndex

    cfg, config_error = _config(home)
    clock = _clock(home)
    now = clock.now()
    events = Ledger(home.ledger, clock).read()
    book = replay(events)
    odds = _snapshot(home.odds)
    index = OddsIndex(odds) if odds and isinstance(odds.get("matches"), list) else None
    decided = _snapshot(home.decisions) or {}
    notes = decided.get("notes") or {}
    closes = closes_of(home)
    rows = [session_row(sid, cfg, book, events, index, notes.get(sid, []), now, closes)
            for sid in session_ids(cfg, book) if in_category(cfg, sid, category)]
    return {"home": str(home.root), "now": iso(now), "config_error": config_error,
            "odds_version": odds and odds.get("version"), "ledger_seq": book.seq,
            "sessions": rows}


# --------------------------------------------------------------------------- sessions

def _console():
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 200)


def _money(x: float | None, sign: bool = False) -> str:
    return "-" if x is None else (f"{x:+.2f}" if sign else f"{x:.2f}")


def run_sessions(args) -> int:
    import orjson
    from rich.markup import escape
    from rich.table import Table

    from pipeline.core.paths import Home

    info = collect(Home.from_env(args.home), getattr(args, "category", None))
    if args.json:
        print(orjson.dumps(info, option=orjson.OPT_INDENT_2).decode())
        return 0
    con = _console()
    con.print(f"[bold]sessions[/] of {escape(info['home'])}   now {info['now']}   "
              f"odds v{info['odds_version'] or '-'}   ledger seq {info['ledger_seq']}")
    if info["config_error"]:
        con.print(f"[red]config error:[/] {escape(info['config_error'])}")
    t = Table("session", "on", "plan", "halted", "cycle", "bet", "bankroll", "free", "staked",
              "profit", "open", "CLV", "next stake", "window")
    remarks: list[str] = []  # long messages, one line each below the table
    for r in info["sessions"]:
        sid = escape(r["session"])
        halted = f"[red]{escape(r['halted'])}[/]" if r["halted"] else ""
        if r["halted"] and r["halt_detail"]:
            remarks.append(f"{sid}: halted: {escape(r['halted'])} ({escape(r['halt_detail'])})")
        if r["halting"]:
            halted = "[yellow]halting[/]"
            remarks.append(f"{sid}: halting: {escape(r['halting'])}")
        if r.get("review"):
            remarks.append(f"{sid}: {escape(r['review'])}")
        stake = _money(r["next_stake"])
        if r["next_stake_note"]:
            stake = "[red]can't[/]" if "exceeds free bankroll" in r["next_stake_note"] else "-"
            remarks.append(f"{sid}: next stake: {escape(r['next_stake_note'])}")
        window = "-"
        if r["window"]:
            window = r["window"]
            if r["matches_in_window"]:
                window += f"; open now ({r['matches_in_window']} matches)"
            elif r["window_opens_at"]:
                window += f"; opens {r['window_opens_at']}"
        since = r["since_reset"]
        if since["reset_seq"]:
            remarks.append(f"{sid}: since its reset at seq {since['reset_seq']}: "
                           f"{since['bets']} bet(s) placed, profit {_money(since['profit'], True)}")
        remarks += [f"{sid}: decide: {escape(n)}" for n in r["notes"]]
        on = "yes" if r["enabled"] else ("no" if r["in_config"] else "not in config")
        t.add_row(sid, on, r["plan"] or "-", halted, str(r["cycle"]), str(r["bet_in_cycle"]),
                  _money(r["bankroll"]), _money(r["free_bankroll"]), _money(r["staked"]),
                  _money(r["profit"], True), f"{r['open_bets']}+{r['in_flight']}",
                  _clv(r["clv_mean"], r["clv_bets"]), stake, window)
    con.print(t)
    con.print("open: open bets + bets in flight; bet: bets placed in the current cycle; "
              "CLV: mean closing-line value (bets with a closing price)")
    for line in remarks:
        con.print(line, soft_wrap=True)
    return 0


def _clv(mean: float | None, n: int | None = None) -> str:
    if mean is None:
        return "-"
    return f"{mean:+.2%}" + (f" ({n})" if n is not None else "")


# --------------------------------------------------------------------------- history

def describe(ev: dict) -> str:
    """One ledger event, readable."""
    import orjson

    g = ev.get
    kind = g("type")
    if kind == "BET_INTENDED":
        return (f"intends {g('selection')} @ {g('odds')} stake {g('stake')} on {g('match_key')} "
                f"(attempt {g('attempt')}, {g('mode')}, ref {g('client_ref')})")
    if kind == "BET_PLACED":
        return f"placed {g('bet_ref')}: stake {g('stake')} @ {g('odds')} ({g('decision_id')})"
    if kind == "BET_FAILED":
        again = "retryable" if g("retryable") else "final"
        return f"failed ({again}): {g('reason')} (ref {g('client_ref')})"
    if kind == "BET_REFUSED":
        return f"refused by {g('control')}: {g('reason')} ({g('decision_id')})"
    if kind == "BET_SETTLED":
        return (f"settled {g('bet_ref')} {g('outcome')}: payout {g('payout')}, profit "
                f"{g('profit'):+} ({g('decision_id')})")
    if kind == "TARGET_REACHED":
        return (f"ladder cycle {g('cycle')} reached its target: return {g('return')} "
                f"({g('decision_id')})")
    if kind == "SESSION_HALTED":
        return f"halted: {g('reason')}" + (f" ({g('detail')})" if g("detail") else "")
    if kind == "SESSION_RESET":
        return "reset: counts, limits and the ladder start again"
    return orjson.dumps({k: v for k, v in ev.items() if k not in ("seq", "ts", "type")}).decode()


def run_history(args) -> int:
    import orjson

    from pipeline.core.archive import history_events
    from pipeline.core.paths import Home

    home = Home.from_env(args.home)
    events = [e for e in history_events(home.ledger)  # archived events too, checkpoints not
              if args.session is None or e.get("session") == args.session]
    for ev in events:
        if args.json:
            print(orjson.dumps(ev).decode())
        else:
            print(f"{ev.get('seq'):>6}  {ev.get('ts')}  {ev.get('type'):<15} "
                  f"{ev.get('session')}  {describe(ev)}")
    if not events and not args.json:
        print("no events" + (f" for session {args.session!r}" if args.session else ""))
    return 0


# --------------------------------------------------------------------------- reset

def run_reset(args) -> int:
    from pipeline.core.events import SessionReset
    from pipeline.core.ledger import Ledger
    from pipeline.core.paths import Home
    from pipeline.core.state import replay

    home = Home.from_env(args.home)
    cfg, config_error = _config(home)
    ledger = Ledger(home.ledger, _clock(home))
    book = replay(ledger.read())
    known = session_ids(cfg, book)
    if args.session not in known:
        where = f"{home.system_config}" + (f" (unreadable: {config_error})" if config_error else "")
        print(f"betpipe reset: unknown session {args.session!r}: it is neither in {where} nor in "
              f"the ledger {home.ledger}. Known sessions: {', '.join(known) or 'none'}",
              file=sys.stderr)
        return 2
    ev = ledger.append(SessionReset(session=args.session))[0]
    print(f"session {args.session!r} reset at seq {ev.seq} ({ev.ts}): its counts, limits, "
          f"halt and ladder cycle start again")
    return 0
