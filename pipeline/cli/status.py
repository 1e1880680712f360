"""`betpipe status`: every program (running / stale / stopped / absent, health state, last error)
and every session (bets, open, staked, profit, halted), from the home's files alone.

A home that `scripts/stop` stopped (`stopped_at` in data/clock.json) is `stopped`, and so is every
program of it that left a health file, however fresh its last beat; a program that closed cleanly
(its last health says `stopped`) is `stopped` too, not stale."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser alone stays fast: each command imports what it uses
    from pipeline.core.paths import Home


def register(sub) -> None:
    p = sub.add_parser("status", help="programs and sessions at a glance")
    p.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    p.add_argument("--category", help="only the sessions of this category (config `category`)")
    p.add_argument("--check", action="store_true",
                   help="print nothing; exit 0 only when every program is running")
    p.set_defaults(run=run)


def _stopped_at(home: Home) -> str | None:
    """The simulated instant the home was stopped at, None while it runs (or has no clock)."""
    from pipeline.core.filebus import read_json

    try:
        doc = read_json(home.clock)
    except (OSError, ValueError):
        return None
    at = doc.get("stopped_at") if isinstance(doc, dict) else None
    return at if isinstance(at, str) else None


def collect(home: Home, category: str | None = None) -> dict:
    from pipeline.core.clock import ClockError, load_clock, real_now
    from pipeline.core.config import ConfigError, load_config
    from pipeline.core.health import liveness, read_health
    from pipeline.core.ledger import Ledger
    from pipeline.core.state import replay
    from pipeline.core.timefmt import iso, parse_iso
    from pipeline.programs import PROGRAMS
    from pipeline.strategies.settlement import figures, start_bankroll

    now_real = real_now()
    stopped_at = _stopped_at(home)
    programs = {}
    for name in PROGRAMS:
        doc = read_health(home, name)
        age = None
        if doc and doc.get("last_beat_real"):
            age = round((now_real - parse_iso(doc["last_beat_real"])).total_seconds(), 1)
        alive, state = liveness(doc, now_real), doc and doc.get("state")
        if doc and (stopped_at or doc.get("stopped")):
            alive = state = "stopped"
        programs[name] = {"liveness": alive, "state": state,
                          "pid": doc and doc.get("pid"), "beat_age_s": age,
                          "last_error": doc and doc.get("last_error")}
    state = "stopped" if stopped_at else "running" if home.clock.exists() else "not started"
    out: dict = {"home": str(home.root), "state": state,
                 "stopped_at": stopped_at, "programs": programs, "config_error": None}
    try:
        cfg = load_config(home.system_config)
    except ConfigError as e:
        cfg, out["config_error"] = None, str(e)
    try:
        clock = load_clock(home.clock)
        out["sim_now"] = iso(clock.now())
    except ClockError:
        clock, out["sim_now"] = None, None
    book = replay(Ledger(home.ledger, clock or _NullClock()).read())
    sessions = {}
    ids = [s.id for s in cfg.sessions] if cfg else []
    ids += [sid for sid in book.sessions if sid not in ids]
    for sid in ids:
        sb = book.session(sid)
        scfg = cfg.session(sid) if cfg else None
        if category is not None and (scfg is None or scfg.category != category):
            continue
        f = figures(sb, start_bankroll(cfg, sid))  # as results.json counts them
        sessions[sid] = {
            "enabled": bool(scfg and scfg.enabled), "in_config": scfg is not None,
            "category": scfg.category if scfg else None,
            "bets": f["bets"], "open": f["open_bets"], "in_flight": f["in_flight"],
            "staked": f["staked"], "profit": f["profit"], "since_reset": f["since_reset"],
            "bankroll": f["bankroll"] if scfg else None, "halted": sb.halted,
        }
    out["sessions"] = sessions
    out["ledger_seq"] = book.seq
    return out


class _NullClock:
    speed = 1.0

    def now(self):
        from pipeline.core.clock import real_now

        return real_now()


def run(args) -> int:
    import orjson
    from rich.console import Console
    from rich.table import Table

    from pipeline.core.paths import Home

    home = Home.from_env(args.home)
    info = collect(home, getattr(args, "category", None))
    all_running = all(p["liveness"] == "running" for p in info["programs"].values())
    if args.check:
        return 0 if all_running else 1
    if args.json:
        print(orjson.dumps(info, option=orjson.OPT_INDENT_2).decode())
        return 0
    console = Console(width=None if sys.stdout.isatty() else 150)
    console.print(f"[bold]betpipe[/] home {info['home']}   simulated now {info['sim_now'] or '-'}")
    if info["stopped_at"]:
        console.print(f"[red]stopped[/] at simulated {info['stopped_at']} (scripts/start resumes "
                      "from there)")
    if info["config_error"]:
        console.print(f"[red]config error:[/] {info['config_error']}")
    t = Table("program", "process", "health", "pid", "beat age s", "last error")
    for name, p in info["programs"].items():
        colour = {"running": "green", "stale": "yellow"}.get(p["liveness"], "red")
        t.add_row(name, f"[{colour}]{p['liveness']}[/]", p["state"] or "-", str(p["pid"] or "-"),
                  str(p["beat_age_s"] if p["beat_age_s"] is not None else "-"), p["last_error"] or "")
    console.print(t)
    s = Table("session", "enabled", "bets", "open", "in flight", "staked", "profit", "bankroll",
              "halted")
    for sid, v in info["sessions"].items():
        s.add_row(sid, "yes" if v["enabled"] else "no", str(v["bets"]), str(v["open"]),
                  str(v["in_flight"]), f"{v['staked']:.2f}", f"{v['profit']:+.2f}",
                  f"{v['bankroll']:.2f}" if v["bankroll"] is not None else "-", v["halted"] or "")
    console.print(s)
    return 0
