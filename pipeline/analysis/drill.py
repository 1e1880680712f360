"""Factor drilling: match records (or a session's backtest bets) grouped by factors, with count,
hit rate, profit and ROI per group, down to the records themselves. Pure functions of records,
so the dashboard can call them too:

    records = records_for(paths, "b365", "favourite")        # every match, 1 unit on the pick
    records = records_from_backtest(bt, "fav-week")          # or a session's bets
    groups = drill(records, by=["season", "role"], where={"odds_band": "1.5-2"})

Factors (FACTORS): competition, season, month, weekday (UK local), selection (home | draw |
away: the home/away factor), role (favourite | underdog | draw: the backed side), odds_band (the
backed price), drift (the backed side's closing price against its pre-match price, where the
file has both: "n/a" otherwise), ou25_band (the over 2.5 goals price of the same bookmaker or
market aggregate, "n/a" where the file has none), clv_band (the bet's closing-line value,
pipeline.strategies.clv, against the backtest's closing source: the `--odds` bookmaker's closing
columns; bands [lo, hi), "n/a" without a close), drift_close (the backed side's price drift from
the price taken to the close, close / odds − 1; bands (lo, hi] as drift's, "n/a" without a close),
market (1X2 | AH | OU: the bet's market; match records are 1X2), line (the bet's line as people
read it: AH the home line "-0.75" / "+0.5" / "0", OU "2.5"; "n/a" for 1X2, which has none).

A backtest record is the bet as the backtest settled it: its market, line, price, outcome (won |
half_won | void | half_lost | lost) and profit. role for AH is the side giving goals (favourite)
or getting them (underdog), `markets.ah_favourite`; for OU "n/a". drift (pre-match against
closing 1X2 columns) is 1X2-only: "n/a" for AH and OU bets. A group's won counts won and
half_won, its hit rate is won / its non-void records and its staked leaves void records out
(DESIGN: markets; `settlement.figures` does the same).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from pipeline.core.bets import WINS, Bet
from pipeline.core.files import MARKETS
from pipeline.core.matchkey import KeyTables
from pipeline.analysis.backtest import FTR_SIDE, Backtest, BtMatch, load_matches
from pipeline.core.errors import BetpipeError
from pipeline.history.football_data import UK, Fixture, price
from pipeline.strategies import clv
from pipeline.strategies.markets import SIDES_1X2, ah_favourite, line_label
from pipeline.strategies.rules import pick

# a source and its pre-match / closing counterpart (for drift)
PRE_CLOSE = {"b365": ("b365", "b365-closing"), "b365-closing": ("b365", "b365-closing"),
             "pinnacle": ("pinnacle", "pinnacle-closing"),
             "pinnacle-closing": ("pinnacle", "pinnacle-closing"),
             "avg": ("avg", "avg-closing"), "avg-closing": ("avg", "avg-closing"),
             "max": ("max", "max-closing"), "max-closing": ("max", "max-closing")}
# over 2.5 goals columns per source family, tried in order
OVER25 = {"b365": ("B365>2.5",), "b365-closing": ("B365C>2.5", "B365>2.5"),
          "pinnacle": ("P>2.5",), "pinnacle-closing": ("PC>2.5", "P>2.5"),
          "avg": ("Avg>2.5", "BbAv>2.5"), "avg-closing": ("AvgC>2.5", "Avg>2.5"),
          "max": ("Max>2.5", "BbMx>2.5"), "max-closing": ("MaxC>2.5", "Max>2.5")}
ODDS_BANDS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 10.0)
DRIFT_BANDS = (-0.10, -0.05, -0.01, 0.01, 0.05, 0.10)  # closing / pre-match - 1
DRIFT_LABELS = ("<-10%", "-10..-5%", "-5..-1%", "-1..+1%", "+1..+5%", "+5..+10%", ">+10%")
OU_BANDS = (1.0, 1.6, 1.8, 2.0, 2.2, 2.5)
CLV_BANDS = (-0.10, -0.05, -0.02, 0.0, 0.02, 0.05, 0.10)  # [lo, hi)
CLV_LABELS = ("<-10%", "-10..-5%", "-5..-2%", "-2..0%", "0..+2%", "+2..+5%", "+5..+10%",
              ">=+10%")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SELECTIONS = ("home", "draw", "away", "over", "under")
ROLES = ("favourite", "underdog", "draw", "n/a")
NO_LINE = "n/a"  # the line factor's label for a 1X2 record


@dataclass(frozen=True)
class Record:
    """One bet on one match: what was backed, at what price, and how it came out."""

    id: str                      # "E0_2019-20.csv:0"
    key: str                     # season-aware match key
    competition: str
    season: str
    kickoff: datetime            # UTC
    home: str
    away: str
    selection: str               # home | draw | away
    role: str                    # favourite | underdog | draw
    odds: float                  # the backed price
    closing: float | None        # the backed side's price at the other end (drift), if any
    pre: float | None            # ... and at the pre-match end
    over25: float | None         # over 2.5 goals price
    ftr: str                     # H | D | A
    stake: float
    outcome: str                 # won | lost (AH/OU bets also half_won | void | half_lost)
    profit: float
    close: float | None = None   # the backed side's closing price (the backtest's close)
    clv: float | None = None     # odds / close - 1
    market: str = "1X2"          # 1X2 | AH | OU
    line: float | None = None    # AH: the home line; OU: the goals line; 1X2: None

    def to_json(self) -> dict:
        return {**{k: getattr(self, k) for k in self.__dataclass_fields__},
                "kickoff": self.kickoff.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _band(x: float, edges: Sequence[float]) -> tuple[int, str]:
    i = bisect.bisect_right(edges, x) - 1
    lo = edges[max(i, 0)]
    label = f"{lo:g}+" if i >= len(edges) - 1 else f"{lo:g}-{edges[i + 1]:g}"
    return i, label


def _drift(r: Record) -> tuple[int, str]:
    if r.closing is None or r.pre is None:
        return len(DRIFT_LABELS), "n/a"
    i = bisect.bisect_left(DRIFT_BANDS, r.closing / r.pre - 1)
    return i, DRIFT_LABELS[i]


def _clv_band(r: Record) -> tuple[int, str]:
    if r.clv is None:
        return len(CLV_LABELS), "n/a"
    i = bisect.bisect_right(CLV_BANDS, r.clv)
    return i, CLV_LABELS[i]


def _drift_close(r: Record) -> tuple[int, str]:
    if r.close is None:
        return len(DRIFT_LABELS), "n/a"
    i = bisect.bisect_left(DRIFT_BANDS, r.close / r.odds - 1)
    return i, DRIFT_LABELS[i]


def _local(r: Record) -> datetime:
    return r.kickoff.astimezone(UK)


def _line(r: Record) -> tuple[tuple, str]:
    if r.line is None:
        return (MARKETS.index(r.market), float("-inf")), NO_LINE
    return (MARKETS.index(r.market), r.line), line_label(r.market, r.line)


# factor -> record -> (sort key, label)
FACTORS: dict[str, Callable[[Record], tuple]] = {
    "competition": lambda r: (r.competition, r.competition),
    "season": lambda r: (r.season, r.season),
    "month": lambda r: (_local(r).month, MONTHS[_local(r).month - 1]),
    "weekday": lambda r: (_local(r).weekday(), WEEKDAYS[_local(r).weekday()]),
    "selection": lambda r: (SELECTIONS.index(r.selection), r.selection),
    "role": lambda r: (ROLES.index(r.role), r.role),
    "odds_band": lambda r: _band(r.odds, ODDS_BANDS),
    "drift": _drift,
    "ou25_band": lambda r: _band(r.over25, OU_BANDS) if r.over25 else (99, "n/a"),
    "clv_band": _clv_band,
    "drift_close": _drift_close,
    "market": lambda r: (MARKETS.index(r.market), r.market),
    "line": _line,
}


@dataclass
class Group:
    values: dict[str, str]       # factor -> label
    records: list[Record] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def won(self) -> int:
        return sum(1 for r in self.records if r.outcome in WINS)

    @property
    def decided(self) -> int:
        return sum(1 for r in self.records if r.outcome != "void")

    @property
    def staked(self) -> float:
        return round(sum(r.stake for r in self.records if r.outcome != "void"), 2)

    @property
    def profit(self) -> float:
        return round(sum(r.profit for r in self.records), 2)

    @property
    def hit_rate(self) -> float:
        return round(self.won / self.decided, 6) if self.decided else 0.0

    @property
    def roi(self) -> float:
        return round(self.profit / self.staked, 6) if self.staked else 0.0

    def to_json(self, records: bool = False) -> dict:
        out = {**self.values, "count": self.count, "won": self.won, "hit_rate": self.hit_rate,
               "staked": self.staked, "profit": self.profit, "roi": self.roi}
        if records:
            out["records"] = [r.to_json() for r in self.records]
        return out


class DrillError(BetpipeError, ValueError):
    pass


def check_factors(names: Iterable[str]) -> list[str]:
    names = [n.strip() for n in names if n.strip()]
    bad = [n for n in names if n not in FACTORS]
    if bad:
        raise DrillError(f"unknown factor {bad[0]!r}; known: {', '.join(FACTORS)}")
    return names


def matches(r: Record, where: Mapping[str, str | Iterable[str]]) -> bool:
    """`where` maps a factor to a label or labels (any of them; case-insensitive)."""
    for factor, want in where.items():
        wanted = {want} if isinstance(want, str) else set(want)
        if FACTORS[factor](r)[1].casefold() not in {w.casefold() for w in wanted}:
            return False
    return True


def drill(records: Iterable[Record], by: Sequence[str],
          where: Mapping[str, str | Iterable[str]] | None = None) -> list[Group]:
    """Records that pass `where`, grouped by the factors `by`, groups in the factors' order."""
    by, where = check_factors(by), where or {}
    check_factors(where)
    groups: dict[tuple, tuple[tuple, Group]] = {}
    for r in records:
        if where and not matches(r, where):
            continue
        keyed = [FACTORS[f](r) for f in by]
        labels = tuple(label for _, label in keyed)
        if labels not in groups:
            groups[labels] = (tuple(k for k, _ in keyed), Group(dict(zip(by, labels))))
        groups[labels][1].records.append(r)
    return [g for _, g in sorted(groups.values(), key=lambda kg: kg[0])]


def parse_where(text: str | None) -> dict[str, set[str]]:
    """"season=2019-20,role=favourite|underdog" -> {"season": {"2019-20"}, "role": {...}}."""
    out: dict[str, set[str]] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        factor, eq, value = part.partition("=")
        if not eq or not value.strip():
            raise DrillError(f"--where {part!r}: expected factor=value")
        check_factors([factor])
        out.setdefault(factor.strip(), set()).update(v.strip() for v in value.split("|"))
    return out


# --------------------------------------------------------------------------- records

def _side_price(f: Fixture, source: str, side: str) -> float | None:
    prices = f.odds(source)
    return prices[SIDES_1X2.index(side)] if prices else None


def _over25(f: Fixture, source: str) -> float | None:
    for col in OVER25.get(source, ()):
        p = price(f.get(col))
        if p is not None:
            return p
    return None


def _role(m: BtMatch, market: str, selection: str, line: float | None) -> str:
    if market == "OU":
        return "n/a"
    if market == "AH":
        entry = next((e for e in m.handicap if e["line"] == line), None)
        fav = ah_favourite(entry) if entry else "home" if (line or 0) <= 0 else "away"
    else:
        fav = "draw" if selection == "draw" else pick("favourite", m.odds)[0]
    return "draw" if selection == "draw" else "favourite" if selection == fav else "underdog"


def record_of(m: BtMatch, source: str, selection: str, stake: float, profit: float) -> Record:
    """A 1X2 match record: `selection` backed at `source`'s price, won or lost by FTR."""
    f = m.fixture
    role = _role(m, "1X2", selection, None)
    pre_src, close_src = PRE_CLOSE.get(source, (source, source))
    won = FTR_SIDE[f.ftr] == selection
    c = clv.of_bet(m.odds[selection], selection, m.closing)
    return Record(f.id, f.key, f.competition, f.season, f.kickoff, f.home, f.away, selection,
                  role, m.odds[selection], _side_price(f, close_src, selection),
                  _side_price(f, pre_src, selection), _over25(f, source), f.ftr, stake,
                  "won" if won else "lost", profit, c and c.closing, c and c.clv)


def records_for(data_paths: Sequence[str | Path], odds_source: str, selection: str = "favourite",
                tables: KeyTables | None = None) -> list[Record]:
    """Every match with `odds_source`'s prices, backing `selection` (home | draw | away |
    favourite | underdog) with 1 unit at the quoted price, in the backtest's order."""
    out = []
    for m in load_matches(data_paths, odds_source, tables).matches:
        side, odds = pick(selection, m.odds)
        won = FTR_SIDE[m.fixture.ftr] == side
        out.append(record_of(m, odds_source, side, 1.0, round(odds - 1, 2) if won else -1.0))
    return out


def record_of_bet(bet: Bet, m: BtMatch, source: str, c: clv.Clv | None) -> Record:
    """A settled bet as a record: its market, line, price, stake, outcome and profit as the
    backtest settled it; `c` its closing-line value (`Backtest.closes`)."""
    f, sel = m.fixture, bet.selection
    closing = pre = None
    if bet.market == "1X2":  # drift reads the 1X2 columns
        pre_src, close_src = PRE_CLOSE.get(source, (source, source))
        closing, pre = _side_price(f, close_src, sel), _side_price(f, pre_src, sel)
    return Record(f.id, f.key, f.competition, f.season, f.kickoff, f.home, f.away, sel,
                  _role(m, bet.market, sel, bet.line), bet.odds, closing, pre,
                  _over25(f, source), f.ftr, bet.stake, bet.outcome, bet.profit,
                  c and c.closing, c and c.clv, bet.market, bet.line)


def records_from_backtest(bt: Backtest, session_id: str, odds_source: str) -> list[Record]:
    """A session's settled backtest bets, with their market, line, stakes and profits."""
    closes = bt.closes()
    return [record_of_bet(bet, m, odds_source, closes.get(bet.bet_ref))
            for bet, m in bt.bets(session_id) if bet.outcome is not None]
