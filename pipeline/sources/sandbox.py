"""The sandbox bookmaker's odds page as odds-data matches (DESIGN: files, odds-data.json).

`SandboxSource.fetch` loads `{url}/odds` in the program's browser and reads every row with ONE
`page.evaluate` (per-row locators are 40x slower, NOTES). `parse_rows` is the pure part: raw rows
to odds-data match objects. Bad input never poisons the snapshot: a bad price nulls that match's
odds, a row without its required attributes is skipped, each with a problem reported; a page
whose layout changed (no table, or an empty table on a page without its sim-now meta) raises
`SourceError`, so the monitor keeps the last good snapshot; an empty table on a well-formed page
is a legitimate "no fixtures now" (the summer break) and gives an empty snapshot.
Asian handicap and over/under (`td.line[data-market][data-line]` and its two `td.line-price`
cells, pipeline/programs/bookmaker/pages.py) become odds-data `handicap` / `totals` (one entry
each, absent when not on sale); a bad line or price drops that market of that match alone.
"""
from __future__ import annotations

import math
import re
from typing import Any

import orjson

from pipeline.core.errors import BetpipeError
from pipeline.core.files import LINE_MARKETS, line_ok
from pipeline.core.matchkey import KeyTables
from pipeline.core.timefmt import iso, parse_iso
from pipeline.sources import Capabilities

SELECTIONS = ("home", "draw", "away")
STATUSES = ("scheduled", "live", "finished", "postponed", "void")
REQUIRED = ("competition", "kickoff", "status", "home", "away")
NOT_ON_SALE = {"", "-", "\u2013", "\u2014", "\u2012", "\u2212"}  # dashes: no price on sale
_SCORE = re.compile(r"^\s*(\d+)\s*[-\u2013\u2014:]\s*(\d+)\s*$")
_SEASON = re.compile(r"^\d{4}(-\d\d)?$")

# Everything the page says, in one round trip, as ONE JSON string (Playwright's own serialisation
# of 500 rows of objects takes ~150 ms, a string ~12 ms: benchmarks/monitor.py); null when the
# matches table is missing.
READ_ROWS_JS = """() => {
  const table = document.querySelector('table#matches');
  if (!table) return null;
  const meta = document.querySelector('meta[name="sim-now"]');
  const text = (tr, cls) => {
    const td = tr.querySelector('td.' + cls);
    return td ? td.textContent.trim() : null;
  };
  const rows = [];
  for (const tr of table.querySelectorAll('tr.match')) {
    const prices = {};
    for (const td of tr.querySelectorAll('td.price')) {
      prices[td.dataset.sel] = td.textContent.trim();
    }
    const lines = {};
    for (const td of tr.querySelectorAll('td.line')) {
      lines[td.dataset.market] = {line: td.dataset.line ?? '', prices: {}};
    }
    for (const td of tr.querySelectorAll('td.line-price')) {
      const l = lines[td.dataset.market];
      if (l) l.prices[td.dataset.sel] = td.textContent.trim();
    }
    const d = tr.dataset;
    rows.push({id: d.id ?? null, competition: d.competition ?? null, season: d.season ?? null,
               kickoff: d.kickoff ?? null, status: d.status ?? null,
               home: text(tr, 'home'), away: text(tr, 'away'), prices, score: text(tr, 'score'),
               lines});
  }
  return JSON.stringify({sim_now: meta ? meta.content : null, rows});
}"""


class SourceError(BetpipeError, RuntimeError):
    """The source cannot give a usable snapshot now; the last good one stands."""


def _label(row: dict, index: int) -> str:
    ident = row.get("id") or f"#{index}"
    teams = f" ({row.get('home')} v {row.get('away')})" if row.get("home") else ""
    return f"row {ident}{teams}"


def parse_price(text: Any) -> float | None | str:
    """A decimal price; None when not on sale; a problem string when it is not a usable price."""
    if text is None:
        return None
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        raw = str(text).strip()
        if raw in NOT_ON_SALE:
            return None
        try:
            value = float(raw)
        except ValueError:
            return f"{raw!r} is not a number"
    if math.isnan(value) or math.isinf(value):
        return f"{text!r} is not a finite number"
    if value <= 1:
        return f"{text!r} is not above 1"
    return value


def parse_odds(prices: Any, label: str, problems: list[str]) -> dict | None:
    """The 1X2 prices, or None (not on sale, partly on sale, or a bad price: then a problem)."""
    if not isinstance(prices, dict):
        prices = {}
    parsed = {sel: parse_price(prices.get(sel)) for sel in SELECTIONS}
    bad = {sel: v for sel, v in parsed.items() if isinstance(v, str)}
    if bad:
        problems.extend(f"{label}: price {sel} {why}; odds dropped" for sel, why in bad.items())
        return None
    missing = [sel for sel, v in parsed.items() if v is None]
    if len(missing) == len(SELECTIONS):
        return None
    if missing:
        problems.append(f"{label}: no price for {', '.join(missing)}; odds dropped")
        return None
    return parsed


# the page's data-market -> odds-data's list
LINE_LISTS = {"AH": "handicap", "OU": "totals"}


def parse_lines(lines: Any, label: str, problems: list[str]) -> dict:
    """odds-data `handicap` / `totals` from a row's line cells: {} when none is on sale; a bad
    line or price drops that market (with a problem), never the match."""
    out: dict = {}
    if not isinstance(lines, dict):
        return out
    for market, field in LINE_LISTS.items():
        cell = lines.get(market)
        if not isinstance(cell, dict) or cell.get("line") in (None, ""):
            continue
        sides = LINE_MARKETS[field]
        prices = cell.get("prices") if isinstance(cell.get("prices"), dict) else {}
        parsed = {side: parse_price(prices.get(side)) for side in sides}
        try:
            line = float(cell["line"])
        except (TypeError, ValueError):
            line = None
        if line is None or not line_ok(line) or (market == "OU" and line < 0):
            problems.append(f"{label}: {market} line {cell['line']!r} is not a multiple of 0.25; "
                            f"{field} dropped")
            continue
        bad = [f"{side} {v if isinstance(v, str) else 'missing'}" for side, v in parsed.items()
               if not isinstance(v, float)]
        if bad:
            problems.append(f"{label}: {market} price {', '.join(bad)}; {field} dropped")
            continue
        out[field] = [{"line": line, **parsed}]
    return out


def parse_score(text: Any) -> dict | None:
    match = _SCORE.match(text) if isinstance(text, str) else None
    if not match:
        return None
    return {"home_goals": int(match.group(1)), "away_goals": int(match.group(2))}


def parse_rows(rows: list[dict], tables: KeyTables, seen_at: str) -> tuple[list[dict], list[str]]:
    """Raw page rows -> (odds-data match objects, problems). Never raises on a bad row."""
    matches: list[dict] = []
    problems: list[str] = []
    keys: set[str] = set()
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.append(f"row #{index}: not an object; skipped")
            continue
        label = _label(row, index)
        missing = [f for f in REQUIRED if not (isinstance(row.get(f), str) and row[f].strip())]
        if missing:
            problems.append(f"{label}: missing {', '.join(missing)}; skipped")
            continue
        try:
            kickoff = parse_iso(row["kickoff"].strip())
        except ValueError:
            problems.append(f"{label}: kickoff {row['kickoff']!r} is not a timestamp; skipped")
            continue
        status = row["status"].strip()
        if status not in STATUSES:
            problems.append(f"{label}: status {status!r} is not one of {', '.join(STATUSES)}; "
                            "skipped")
            continue
        competition = row["competition"].strip()
        season = row.get("season")
        if not (isinstance(season, str) and _SEASON.match(season.strip())):
            if season:
                problems.append(f"{label}: season {season!r} unreadable; taken from the kickoff")
            season = tables.season(kickoff, competition)
        season = season.strip()
        home, away = tables.team(row["home"]), tables.team(row["away"])
        key = tables.key(home, away, kickoff=kickoff, competition=competition, season=season)
        if key in keys:
            problems.append(f"{label}: key {key!r} appears twice; the later row skipped")
            continue
        keys.add(key)
        result = None
        if status == "finished":
            result = parse_score(row.get("score"))
            if result is None and row.get("score"):
                problems.append(f"{label}: score {row['score']!r} unreadable")
        matches.append({"key": key, "season": season, "competition": competition,
                        "home": home, "away": away, "kickoff": iso(kickoff), "status": status,
                        "odds": parse_odds(row.get("prices"), label, problems),
                        **parse_lines(row.get("lines"), label, problems),
                        "seen_at": seen_at, "result": result})
    return matches, problems


class SandboxSource:
    """The sandbox bookmaker's odds page, read through a `Browser` (one evaluate per poll)."""

    kind = "sandbox"
    capabilities = Capabilities(markets=frozenset({"1X2", "AH", "OU"}), results=True)

    @classmethod
    def open(cls, home, config, browser, tables: KeyTables) -> "SandboxSource":
        return cls(browser, config.source_url, tables)

    def __init__(self, browser, url: str, tables: KeyTables):
        self.browser, self.tables = browser, tables
        self.url = url.rstrip("/") + "/odds"
        self.rows_before = 0  # rows the last good page had (said when a page is garbled)
        self.sim_now: str | None = None

    def read_page(self) -> dict:
        """The page's raw rows; SourceError when the page is not the odds page we know."""
        page = self.browser.page()
        response = page.goto(self.url, wait_until="domcontentloaded")
        if response is not None and response.status >= 400:
            raise SourceError(f"{self.url}: HTTP {response.status}")
        raw = page.evaluate(READ_ROWS_JS)
        if raw is None:
            raise SourceError(f"{self.url}: no table#matches (page layout changed?)")
        try:
            raw = orjson.loads(raw)
        except (TypeError, orjson.JSONDecodeError) as e:
            raise SourceError(f"{self.url}: unreadable page reading ({e})") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("rows"), list):
            raise SourceError(f"{self.url}: unexpected page reading {type(raw).__name__}")
        return raw

    def fetch(self, seen_at: str) -> tuple[list[dict], list[str]]:
        """(matches, problems) from the page now; SourceError keeps the last good snapshot."""
        raw = self.read_page()
        rows = raw["rows"]
        if not rows and not raw.get("sim_now"):
            # an empty table on a well-formed page (it says its simulated time) is a legitimate
            # "no fixtures" (the summer break); without it the page is garbled: keep the last
            raise SourceError(f"{self.url}: zero match rows on a page without "
                              f'<meta name="sim-now"> (garbled page?); the last good page had '
                              f"{self.rows_before}")
        matches, problems = parse_rows(rows, self.tables, seen_at)
        if rows and not matches:
            raise SourceError(f"{self.url}: none of {len(rows)} rows usable: {problems[0]}")
        self.rows_before, self.sim_now = len(rows), raw.get("sim_now")
        return matches, problems
