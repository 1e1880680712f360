"""Everything the dashboard shows, gathered from a home's files as plain values.

`gather(home)` reads odds-data, decisions, the ledger (replayed), results, health and the config,
and returns one JSON-able dict; the page, the JSON endpoint and /metrics are all views of it.
Nothing here writes a file, and nothing secret is read (tokens and webhook URLs live in the
environment; the config's notify.url is left out).
"""
from __future__ import annotations

import os
from datetime import datetime

from pipeline.core.clock import Clock, ClockError, load_clock, real_now
from pipeline.core.config import Config, ConfigHolder
from pipeline.core.events import from_dict
from pipeline.core.filebus import BadFile, read_snapshot
from pipeline.core.health import liveness, read_health
from pipeline.core.jsonl import JsonlFile
from pipeline.core.ledger import not_an_event
from pipeline.core.paths import Home
from pipeline.core.state import Bet, Book
from pipeline import programs as registry  # the program names only
from pipeline.core.timefmt import iso, parse_iso
from pipeline.programs.dashboard.configedit import TOKEN_ENV
from pipeline.core.files import check_decisions
from pipeline.strategies.markets import pick_label
from pipeline.strategies.snapshot import check_snapshot
from pipeline.strategies.rules import review_state
from pipeline.strategies.settlement import figures as session_figures, start_bankroll

MAX_ODDS_ROWS = 40
MAX_BET_ROWS = 25
SPARK_W, SPARK_H = 260, 40


def _snapshot(path, check=lambda doc, path: doc) -> tuple[dict | None, str | None]:
    """The document (None when absent or unusable) and what is wrong with it: `check` raises
    BadFile (or ValueError naming the JSON path) for a document of the wrong shape."""
    try:
        doc = read_snapshot(path)
        check(doc, path)
        return doc, None
    except (BadFile, OSError) as e:
        return None, str(e)
    except ValueError as e:
        return None, f"{path}: {e}"


def check_odds_doc(doc: dict | None, path) -> None:
    if doc is not None:
        check_snapshot(doc)  # what decide requires: keys, statuses, timestamps, prices


def check_results(doc: dict | None, path) -> None:
    """results.json as the pages use it: sessions of figures, equity as [ts, number] pairs."""
    if doc is None:
        return
    figures = [("$.total", doc.get("total"))] if doc.get("total") is not None else []
    if not isinstance(doc.get("sessions"), dict):
        raise BadFile(path, "$.sessions: missing or not an object")
    figures += [(f"$.sessions.{sid}", f) for sid, f in doc["sessions"].items()]
    for where, f in figures:
        if not isinstance(f, dict):
            raise BadFile(path, f"{where}: not an object")
        equity = f.get("equity", [])
        if not isinstance(equity, list) or not all(
                isinstance(p, list) and len(p) == 2 and type(p[1]) in (int, float)
                for p in equity):
            raise BadFile(path, f"{where}.equity: not a list of [time, number] pairs")


def _age_s(now: datetime | None, ts: str | None) -> float | None:
    if now is None or not ts:
        return None
    try:
        return round((now - parse_iso(ts)).total_seconds(), 1)
    except ValueError:
        return None


def match_label(key: str) -> str:
    season, _, teams = key.partition("_")
    return teams or key


def odds_rows(doc: dict | None, now: datetime | None) -> list[dict]:
    """Matches still to play first (by kickoff), then the latest finished; ages in sim seconds."""
    matches = (doc or {}).get("matches", [])
    upcoming = sorted((m for m in matches if m.get("status") in ("scheduled", "live")),
                      key=lambda m: m.get("kickoff") or "")
    done = sorted((m for m in matches if m.get("status") not in ("scheduled", "live")),
                  key=lambda m: m.get("kickoff") or "", reverse=True)
    fields = ("key", "competition", "home", "away", "kickoff", "status", "odds", "result")
    return [{**{k: m.get(k) for k in fields},
             "age_s": _age_s(now, m.get("seen_at") or doc.get("fetched_at"))}
            for m in (upcoming + done)[:MAX_ODDS_ROWS]]


def bet_row(b: Bet, kickoff: str | None = None, close: dict | None = None) -> dict:
    """A bet's row; `close` its closing line from results.json (`closes`), once track took it."""
    return {"session": b.session, "match": match_label(b.match_key), "match_key": b.match_key,
            "selection": b.selection, "market": b.market, "line": b.line,
            "pick": pick_label(b.market, b.selection, b.line),
            "odds": b.odds, "stake": b.stake, "bet_ref": b.bet_ref,
            "placed_at": b.placed_at, "kickoff": kickoff, "outcome": b.outcome,
            "profit": b.profit, "settled_at": b.settled_at,
            "closing": (close or {}).get("closing"), "clv": (close or {}).get("clv")}


def open_rows(placed: list[Bet], odds: dict | None) -> list[dict]:
    """Open bets, the next to settle first: by their match's kickoff in odds-data (a match no
    longer listed last), then in placing order."""
    kickoffs = {m.get("key"): m.get("kickoff") for m in (odds or {}).get("matches", ())
                if isinstance(m, dict)}
    ko = kickoffs.get
    bets = sorted((b for b in placed if b.open),
                  key=lambda b: (ko(b.match_key) is None, ko(b.match_key) or "", b.seq))
    return [bet_row(b, ko(b.match_key)) for b in bets]


def sparkline(equity: list, width: int = SPARK_W, height: int = SPARK_H) -> dict | None:
    """SVG polyline points of an equity curve (cumulative profit after each settlement), with
    the zero line; x by settlement order, starting at 0 before the first settlement."""
    values = [0.0] + [float(v) for _ts, v in equity or []]
    if len(values) < 2:
        return None
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    pad = 3

    def y(v: float) -> float:
        return round(pad + (hi - v) / span * (height - 2 * pad), 1)

    step = (width - 2 * pad) / (len(values) - 1)
    points = " ".join(f"{round(pad + i * step, 1)},{y(v)}" for i, v in enumerate(values))
    return {"points": points, "zero_y": y(0.0), "width": width, "height": height,
            "last": values[-1], "up": values[-1] >= 0}


class LedgerView:
    """The ledger folded incrementally: each update applies only the events appended since the
    last one (the ledger is append-only), keeping the Book and all-time counts per type."""

    def __init__(self, path):
        self.file = JsonlFile(path, check=not_an_event)  # the ledger's events, as every reader
        self.reset()

    def reset(self) -> None:
        self.book, self.applied = Book(), 0
        self.problem: str | None = None  # a corrupt ledger: the last good fold stands
        self.counts: dict = {}  # type -> session -> n
        self.outcomes: dict = {}  # session -> outcome -> n
        self.halts: dict = {}  # session -> its last SESSION_HALTED

    def update(self) -> "LedgerView":
        try:
            events = self.file.read()
        except BadFile as e:
            self.problem = str(e)
            return self
        self.problem = None
        if (len(events) < self.applied or (events and events[-1].get("seq", 0) < self.book.seq)
                or any(ev.get("type") == "CHECKPOINT" for ev in events[self.applied:])):
            self.reset()  # a different ledger (a new home, an archive): start over
        for ev in events[self.applied:]:  # the lines: counted as written, folded as events
            self.book.apply(from_dict(ev))
            kind, sid = ev.get("type", "?"), ev.get("session", "?")
            per = self.counts.setdefault(kind, {})
            per[sid] = per.get(sid, 0) + 1
            if kind == "BET_SETTLED":
                out = self.outcomes.setdefault(sid, {})
                out[ev.get("outcome", "?")] = out.get(ev.get("outcome", "?"), 0) + 1
            elif kind == "SESSION_HALTED":
                self.halts[sid] = ev
        self.applied = len(events)
        return self


def program_rows(home: Home, now_real: datetime) -> dict[str, dict]:
    """Each program's process (running / stale / absent), health state, pid, beat age (real s),
    last error and counters, from its health file."""
    rows = {}
    for name in registry.PROGRAMS:
        doc = read_health(home, name) or {}
        counters = doc.get("counters")
        counters = {k: v for k, v in counters.items() if type(v) in (int, float)} \
            if isinstance(counters, dict) else {}
        rows[name] = {"liveness": liveness(doc or None, now_real), "state": doc.get("state"),
                      "pid": doc.get("pid"), "beat_age_s": _age_s(now_real, doc.get("last_beat_real")),
                      "last_error": doc.get("last_error"), "counters": counters}
    return rows


def odds_figures(doc: dict | None, now: datetime | None, speed: float | None) -> dict:
    """The snapshot's age and the stalest price on sale (sim s), and how long its fetch took
    (real s: written_at − fetched_at, both simulated, over the clock's speed)."""
    doc = doc or {}
    matches = doc.get("matches", [])
    ages = [_age_s(now, m.get("seen_at") or doc.get("fetched_at")) for m in matches if m.get("odds")]
    ages = [a for a in ages if a is not None]
    fetch = _age_s(parse_iso(doc["written_at"]), doc.get("fetched_at")) if doc.get("written_at") else None
    return {"version": doc.get("version"), "source": doc.get("source"),
            "fetched_at": doc.get("fetched_at"), "age_s": _age_s(now, doc.get("fetched_at")),
            "matches": len(matches), "on_sale": len(ages),
            "max_price_age_s": max(ages) if ages else None,
            "scrape_s": round(fetch / speed, 3) if fetch is not None and speed else None}


def config_status(holder: ConfigHolder) -> tuple[dict, Config | None]:
    """The file's status now, and the config in force: the last good one (as in every program)."""
    holder.reload()
    cfg, err = holder.config, holder.error
    out = {"ok": err is None, "file": str(holder.path), "running_version": holder.version or None}
    if err is not None:
        out.update(file=err.file, path=err.json_path, reason=err.reason)
    if cfg is not None:
        out.update(mode=cfg.mode, halt=cfg.halt, source=cfg.source.kind, speed=cfg.clock.speed,
                   refresh_s=cfg.dashboard.refresh_s)
    return out, cfg


def session_rows(view: LedgerView, cfg: Config | None, figures: dict) -> list[dict]:
    """Each session of the config in force, then any other the ledger knows."""
    book = view.book
    ids = [s.id for s in cfg.sessions] if cfg else []
    ids += [sid for sid in book.sessions if sid not in ids]
    rows = []
    for sid in ids:
        sb, scfg, f = book.session(sid), cfg.session(sid) if cfg else None, figures.get(sid, {})
        halt = view.halts.get(sid) if sb.halted else None
        own = session_figures(sb, start_bankroll(cfg, sid))  # as results.json counts them
        rows.append({"id": sid, "in_config": scfg is not None, "enabled": bool(scfg and scfg.enabled),
                     "category": scfg.category if scfg else None,
                     "bets": own["bets"], "open": own["open_bets"], "in_flight": own["in_flight"],
                     "staked": own["staked"], "profit": own["profit"],
                     "since_reset": own["since_reset"],
                     "bankroll": own["bankroll"] if scfg else None,
                     "free_bankroll": own["free_bankroll"] if scfg else None,
                     "halted": sb.halted,
                     "halt_detail": halt and (halt.get("detail") or halt.get("reason")),
                     "review": review_state(scfg, sb) if scfg else None,
                     "roi": f.get("roi"), "hit_rate": f.get("hit_rate"),
                     "clv_bets": f.get("clv_bets"), "clv_mean": f.get("clv_mean"),
                     "ev_close_mean": f.get("ev_close_mean"),
                     "max_drawdown": f.get("max_drawdown"), "equity": sparkline(f.get("equity", []))})
    return rows


def in_category(state: dict, category: str | None) -> dict:
    """The state with only the sessions of `category` (config `category`); all without one."""
    if not category:
        return state
    return {**state, "sessions": [r for r in state["sessions"] if r["category"] == category]}


def gather(home: Home, clock: Clock | None = None, ledger: LedgerView | None = None,
           holder: ConfigHolder | None = None) -> dict:
    """The dashboard's view of `home` at `clock`'s now (default: the home's anchored clock).
    Pass the same `ledger` and config `holder` each time: only what the ledger gained is then
    folded, and a bad edit shows the sessions of the last good config, which the programs run."""
    try:
        clock = clock or load_clock(home.clock)
        now, speed = clock.now(), clock.speed
    except ClockError:
        now, speed = None, None
    config, cfg = config_status(holder or ConfigHolder(home.system_config))
    odds, odds_err = _snapshot(home.odds, check_odds_doc)
    decisions, decisions_err = _snapshot(home.decisions, check_decisions)
    results, results_err = _snapshot(home.results, check_results)
    view = (ledger or LedgerView(home.ledger)).update()
    book = view.book
    sessions = session_rows(view, cfg, (results or {}).get("sessions", {}))
    placed = sorted(book.placed.values(), key=lambda b: b.seq, reverse=True)
    settled = sorted((b for b in placed if not b.open), key=lambda b: (b.settled_at or "", b.seq),
                     reverse=True)
    problems = [e for e in (odds_err, decisions_err, results_err, view.problem) if e]
    closes = (results or {}).get("closes")
    closes = closes if isinstance(closes, dict) else {}
    return {
        "home": str(home.root), "sim_now": iso(now) if now else None, "speed": speed,
        "real_now": iso(real_now()), "config": config, "writes": bool(os.environ.get(TOKEN_ENV)),
        "programs": program_rows(home, real_now()), "sessions": sessions, "ledger_seq": book.seq,
        "odds": {**odds_figures(odds, now, speed), "rows": odds_rows(odds, now),
                 "max_age_s": cfg.max_odds_age_s if cfg else None},
        "event_counts": view.counts, "settled_counts": view.outcomes,
        "decisions": [{**d, "match": match_label(d.get("match_key", ""))}
                      for d in (decisions or {}).get("decisions", [])],
        "open_bets": open_rows(placed, odds)[:MAX_BET_ROWS],
        "open_count": sum(1 for b in placed if b.open),
        "settled_bets": [bet_row(b, close=closes.get(b.bet_ref))
                         for b in settled[:MAX_BET_ROWS]],
        "settled_count": len(settled),
        "total": (results or {}).get("total"),
        "file_problems": problems,
    }
