"""An independent reading of DESIGN.md's backtest semantics, for the tests to compare against.

Written from the DESIGN text with the plain csv module and zoneinfo, without importing anything
from `pipeline`: rows, kickoffs, prices, the staking plans, the limits and the figures are all
computed here again, so a bug in the project's code cannot hide in both.
"""
from __future__ import annotations

import csv
import functools
import io
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
COLUMNS = {  # DESIGN: backtest semantics
    "b365": [("B365H", "B365D", "B365A")],
    "b365-closing": [("B365CH", "B365CD", "B365CA")],
    "avg": [("AvgH", "AvgD", "AvgA"), ("BbAvH", "BbAvD", "BbAvA")],
    "max": [("MaxH", "MaxD", "MaxA"), ("BbMxH", "BbMxD", "BbMxA")],
    "pinnacle": [("PSH", "PSD", "PSA")],
    "pinnacle-closing": [("PSCH", "PSCD", "PSCA")],
    "avg-closing": [("AvgCH", "AvgCD", "AvgCA")],
    "max-closing": [("MaxCH", "MaxCD", "MaxCA")],
}
RESULT_DEPENDENT = {"martingale", "fibonacci", "ladder"}


def read_rows(path: Path) -> list[dict]:
    """The file's rows as dicts; a file is read once per version (its size and mtime), each
    call gets its own copies."""
    return [dict(row) for row in _rows(*_version(path))]


def _version(path: Path) -> tuple[str, int, int]:
    st = Path(path).stat()
    return str(path), st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=64)
def _rows(path: str, _mtime_ns: int, _size: int) -> tuple[dict, ...]:
    raw = Path(path).read_bytes()
    if raw[:3] == b"\xef\xbb\xbf":
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in rows[0]]
    out = []
    for cells in rows[1:]:
        if not any(c.strip() for c in cells):
            continue
        row: dict = {}
        for i, h in enumerate(header):
            if h and h not in row:  # the first of duplicate names; extra cells ignored
                row[h] = cells[i].strip() if i < len(cells) else ""
        out.append(row)
    return tuple(out)


def kickoff(row: dict) -> datetime:
    d, m, y = row["Date"].split("/")
    year = int(y) + (2000 if len(y) == 2 else 0)
    hh, mm = (row.get("Time") or "15:00").split(":")
    return datetime(year, int(m), int(d), int(hh), int(mm), tzinfo=LONDON).astimezone(timezone.utc)


def prices(row: dict, source: str):
    for cols in COLUMNS[source]:
        try:
            vals = [float(row.get(c) or "nan") for c in cols]
        except ValueError:
            continue
        if all(v > 1 for v in vals):  # NaN compares False
            return dict(zip(("H", "D", "A"), vals))
    return None


def matches(files: list[Path], source: str) -> list[dict]:
    """Every match with the source's prices, in kickoff order, ties file-then-row (worked out
    once per files' versions and source; nothing here changes a match)."""
    return list(_matches(tuple(_version(p) for p in files), source))


@functools.lru_cache(maxsize=64)
def _matches(versions: tuple[tuple[str, int, int], ...], source: str) -> tuple[dict, ...]:
    out = []
    for fi, version in enumerate(versions):
        path = Path(version[0])
        for ri, row in enumerate(_rows(*version)):
            p = prices(row, source)
            if p is None:
                continue
            ko = kickoff(row)
            out.append({"ko": ko, "settle": ko + timedelta(minutes=110), "order": (fi, ri),
                        "p": p, "ftr": row["FTR"], "home": row["HomeTeam"],
                        "away": row["AwayTeam"], "div": row.get("Div") or path.name[:2]})
    out.sort(key=lambda m: (m["ko"], m["order"]))
    return tuple(out)


def cents_down(x: float) -> float:
    return math.floor(x * 100 + 1e-6) / 100


def side_for(rule: str, p: dict) -> str:
    if rule in ("home", "draw", "away"):
        return {"home": "H", "draw": "D", "away": "A"}[rule]
    fav = "H" if p["H"] <= p["A"] else "A"
    dog = "A" if p["A"] >= p["H"] else "H"
    return fav if rule == "favourite" else dog


class Session:
    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.st = cfg["staking"]
        self.lim = cfg.get("limits", {})
        self.start = cfg.get("bankroll", 1000)
        self.profit = 0.0
        self.open: list[dict] = []
        self.bets: list[dict] = []
        self.settled: list[dict] = []
        self.halted = False
        # plan progression
        self.k = 0  # martingale: losses in a row
        self.i = 1  # fibonacci index
        self.ride = None  # ladder: the amount riding, None = start a cycle

    def raw_stake(self, p: dict, side: str):
        st, plan = self.st, self.st["plan"]
        bank = round(self.start + self.profit, 2)
        if plan == "flat":
            return st["stake"]
        if plan == "percent":
            return bank * st["percent"] / 100 if bank > 0 else None
        if plan == "kelly":
            inv = {s: 1 / p[s] for s in "HDA"}
            prob = inv[side] / sum(inv.values()) * (1 + st.get("edge", 0))
            f = (prob * p[side] - 1) / (p[side] - 1)
            return st["fraction"] * f * bank if f > 0 and bank > 0 else None
        if plan == "martingale":
            return st["stake"] * st.get("factor", 2) ** self.k
        if plan == "fibonacci":
            a, b = 1, 1
            for _ in range(self.i - 1):
                a, b = b, a + b
            return st["stake"] * a
        if plan == "ladder":
            return self.ride if self.ride is not None else st["stake"]
        raise ValueError(plan)

    def consider(self, m: dict) -> None:
        if self.halted:
            return
        comps = self.cfg.get("competitions")
        if comps is not None and {"E0": "EPL", "SP1": "SFL"}.get(m["div"]) not in comps:
            return
        side = side_for(self.cfg["selection"], m["p"])
        price = m["p"][side]
        bounds = self.cfg.get("odds", {})
        if price < bounds.get("min", 0) or price > bounds.get("max", 1e9):
            return
        if self.st["plan"] in RESULT_DEPENDENT and self.open:
            return
        if "daily_loss" in self.lim:  # no bet for the rest of a UTC day that lost this much
            today = sum(b["profit"] for b in self.settled
                        if b["m"]["settle"].date() == m["ko"].date())
            if round(today, 2) <= -self.lim["daily_loss"]:
                return
        if "max_open_bets" in self.lim and len(self.open) >= self.lim["max_open_bets"]:
            return
        raw = self.raw_stake(m["p"], side)
        if raw is None:
            return
        if "max_stake" in self.lim:
            raw = min(raw, self.lim["max_stake"])
        stake = cents_down(raw)
        free = self.start + self.profit - sum(b["stake"] for b in self.open)
        if stake <= 0 or stake > round(free, 2) + 1e-9:
            return
        bet = {"m": m, "side": side, "odds": price, "stake": stake}
        self.open.append(bet)
        self.bets.append(bet)
        if "max_bets" in self.lim and len(self.bets) >= self.lim["max_bets"]:
            self.halted = True

    def settle(self, bet: dict) -> None:
        self.open.remove(bet)
        won = bet["m"]["ftr"] == bet["side"]
        payout = round(bet["stake"] * bet["odds"], 2) if won else 0.0
        bet["won"], bet["profit"] = won, round(payout - bet["stake"], 2)
        self.profit += bet["profit"]
        self.settled.append(bet)
        st = self.st
        if won:
            self.k = 0
            self.i = max(1, self.i - 2)
            target = st.get("target")
            self.ride = None if target is not None and payout >= target else payout
        else:
            self.k += 1
            if st.get("max_steps") and self.k >= st["max_steps"]:
                self.k = 0
            self.i += 1
            if st.get("max_steps") and self.i > st["max_steps"]:
                self.i = 1
            self.ride = None

    def check_halt(self) -> None:
        """After the results of one instant (the track program settles them in one pass and
        then looks at the limits): stop_loss and take_profit on the settled profit."""
        if "stop_loss" in self.lim and round(self.profit, 2) <= -self.lim["stop_loss"]:
            self.halted = True
        if "take_profit" in self.lim and round(self.profit, 2) >= self.lim["take_profit"]:
            self.halted = True
        review = self.cfg.get("review")  # CSV bets are never void: every settled bet counts
        if review and len(self.settled) >= review["after_bets"]:
            staked = sum(b["stake"] for b in self.settled)
            if sum(b["profit"] for b in self.settled) / staked < review["min_roi"]:
                self.halted = True

    def figures(self) -> dict:
        staked = sum(b["stake"] for b in self.bets)
        profit = sum(b["profit"] for b in self.settled)
        won = sum(1 for b in self.bets if b["won"])
        cum = peak = dd = 0.0
        for b in self.settled:
            cum += b["profit"]
            peak = max(peak, cum)
            dd = max(dd, peak - cum)
        return {"bets": len(self.bets), "won": won, "staked": round(staked, 2),
                "profit": round(profit, 2), "roi": profit / staked if staked else 0.0,
                "hit_rate": won / len(self.bets) if self.bets else 0.0,
                "max_drawdown": round(dd, 2), "bankroll": round(self.start + profit, 2),
                "halted": self.halted}


def run(files: list[Path], source: str, sessions: list[dict]) -> dict[str, Session]:
    """Every session after the backtest, as DESIGN's backtest semantics describe it."""
    ss = {c["id"]: Session(c) for c in sessions}
    pending: list[tuple[dict, str]] = []  # (bet, session id) waiting for the result

    def settle_until(t):
        due = [x for x in pending if t is None or x[0]["m"]["settle"] <= t]
        due.sort(key=lambda x: (x[0]["m"]["settle"], x[0]["m"]["order"]))
        for i, (bet, sid) in enumerate(due):
            pending.remove((bet, sid))
            ss[sid].settle(bet)
            if i + 1 == len(due) or due[i + 1][0]["m"]["settle"] != bet["m"]["settle"]:
                for s in ss.values():  # the end of one instant's results
                    s.check_halt()

    for m in matches(files, source):
        settle_until(m["ko"])
        for sid, s in ss.items():
            n = len(s.bets)
            s.consider(m)
            if len(s.bets) > n:
                pending.append((s.bets[-1], sid))
    settle_until(None)
    return ss


def backtest(files: list[Path], source: str, sessions: list[dict]) -> dict[str, dict]:
    """Figures per session id."""
    return {sid: s.figures() for sid, s in run(files, source, sessions).items()}


def bet_list(s: Session) -> list[tuple]:
    """(home, away, side, odds, stake, profit) of a session's bets, in placement order."""
    return [(b["m"]["home"], b["m"]["away"], b["side"], b["odds"], b["stake"], b["profit"])
            for b in s.bets]
