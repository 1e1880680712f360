"""football-data.co.uk CSVs as `Fixture`s (data/README.md: the format's quirks).

Pure and side-effect free: the sandbox bookmaker, the replay source and the backtest all read
matches through this module, so they agree on kickoffs, seasons, keys and prices.

- Columns are indexed by header name; fields beyond the header (E0 2002-03 … 2004-05) are ignored.
- Dates are dd/mm/yy or dd/mm/yyyy. `Time` is UK local time (Europe/London, with DST); a file
  without `Time` kicks off at 15:00 UK. Kickoffs are aware UTC datetimes.
- UTF-8 with or without a BOM; a file that is not UTF-8 (E0 2004-05 holds one latin-1 byte) is
  read as cp1252/latin-1. LF or CRLF. Rows whose fields are all empty are skipped.
- A file's season is the season of its first match (the 2019-20 files run into July 2020), so
  every row of one file carries one season, and the match key uses it.
- Prices: `Fixture.odds(source)` with a source name of `PRICE_SOURCES` (b365, b365-closing, avg,
  max, pinnacle, pinnacle-closing; avg and max fall back to the Bb* columns of older files), or
  with an explicit triple of column names. An empty, non-numeric, NaN or ≤ 1 cell gives None.
- Asian handicap and over/under 2.5: `Fixture.handicap(source)` and `Fixture.totals(source)`
  give odds-data's `handicap` / `totals` lists from DESIGN's backtest columns (markets): one
  entry, or [] when the row's line or either price of the first valid set is bad or missing.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence
from zoneinfo import ZoneInfo

from pipeline.core.errors import BetpipeError
from pipeline.core.matchkey import KeyTables, season_of
from pipeline.strategies.markets import is_line

UK = ZoneInfo("Europe/London")
DEFAULT_KICKOFF_UK = time(15, 0)

Triple = tuple[str, str, str]

# price source name -> column triples, tried in order (the first valid triple of a row wins)
PRICE_SOURCES: dict[str, tuple[Triple, ...]] = {
    "b365": (("B365H", "B365D", "B365A"),),
    "b365-closing": (("B365CH", "B365CD", "B365CA"),),
    "avg": (("AvgH", "AvgD", "AvgA"), ("BbAvH", "BbAvD", "BbAvA")),
    "avg-closing": (("AvgCH", "AvgCD", "AvgCA"),),
    "max": (("MaxH", "MaxD", "MaxA"), ("BbMxH", "BbMxD", "BbMxA")),
    "max-closing": (("MaxCH", "MaxCD", "MaxCA"),),
    "pinnacle": (("PSH", "PSD", "PSA"),),
    "pinnacle-closing": (("PSCH", "PSCD", "PSCA"),),
}
# source -> (AH line, home, away) column triples, tried in order (DESIGN: markets, backtest columns)
HANDICAP_SOURCES: dict[str, tuple[Triple, ...]] = {
    "b365": (("AHh", "B365AHH", "B365AHA"),),
    "b365-closing": (("AHCh", "B365CAHH", "B365CAHA"),),
    "pinnacle": (("AHh", "PAHH", "PAHA"),),
    "pinnacle-closing": (("AHCh", "PCAHH", "PCAHA"),),
    "avg": (("AHh", "AvgAHH", "AvgAHA"), ("BbAHh", "BbAvAHH", "BbAvAHA")),
    "max": (("AHh", "MaxAHH", "MaxAHA"), ("BbAHh", "BbMxAHH", "BbMxAHA")),
    "avg-closing": (("AHCh", "AvgCAHH", "AvgCAHA"),),
    "max-closing": (("AHCh", "MaxCAHH", "MaxCAHA"),),
}
TOTALS_LINE = 2.5  # the one goals line football-data prices
# source -> (over 2.5, under 2.5) column pairs, tried in order
TOTALS_SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "b365": (("B365>2.5", "B365<2.5"),),
    "b365-closing": (("B365C>2.5", "B365C<2.5"),),
    "pinnacle": (("P>2.5", "P<2.5"),),
    "pinnacle-closing": (("PC>2.5", "PC<2.5"),),
    "avg": (("Avg>2.5", "Avg<2.5"), ("BbAv>2.5", "BbAv<2.5")),
    "max": (("Max>2.5", "Max<2.5"), ("BbMx>2.5", "BbMx<2.5")),
    "avg-closing": (("AvgC>2.5", "AvgC<2.5"),),
    "max-closing": (("MaxC>2.5", "MaxC<2.5"),),
}
# what `betpipe backtest --odds` offers (DESIGN: backtest semantics)
BACKTEST_SOURCES = ("b365", "b365-closing", "avg", "max", "pinnacle", "pinnacle-closing",
                    "avg-closing", "max-closing")
CLOSING = "-closing"


def closing_source(source: str) -> str | None:
    """The closing columns that go with `source` (DESIGN: closing line): b365 -> b365-closing;
    None when `source` is itself closing (or has no closing columns)."""
    if source.endswith(CLOSING):
        return None
    closing = source + CLOSING
    return closing if closing in PRICE_SOURCES else None


class FootballDataError(BetpipeError, ValueError):
    """A row or file that cannot be read: names the file, the row and the reason."""


def price(cell: str | None) -> float | None:
    """A decimal price from a cell; None when empty, non-numeric, NaN, infinite or ≤ 1."""
    if cell is None:
        return None
    try:
        value = float(cell)
    except ValueError:
        return None
    if math.isnan(value) or math.isinf(value) or value <= 1:
        return None
    return value


def line(cell: str | None) -> float | None:
    """A handicap line from a cell: a finite multiple of 0.25 (-0 reads as 0), else None."""
    try:
        value = float(cell) + 0.0 if cell is not None else None
    except ValueError:
        return None
    return value if is_line(value) else None


def _sources(table: Mapping[str, tuple], source: str, what: str) -> tuple:
    if source not in table:
        raise KeyError(f"unknown {what} source {source!r}; known: {sorted(table)}")
    return table[source]


def _int(cell: str | None) -> int | None:
    try:
        return int(float(cell)) if cell not in (None, "") else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Fixture:
    """One row of a football-data file. `home`/`away` are as the CSV writes them."""

    file: str                 # file name, e.g. "E0_2019-20.csv"
    row: int                  # 0-based index of the record after the header (blank ones count)
    div: str                  # football-data Div, e.g. "E0"
    competition: str          # competition code, e.g. "EPL"
    season: str               # the season of the file's first match, e.g. "2019-20"
    home: str
    away: str
    kickoff: datetime         # aware, UTC
    key: str                  # season-aware match key (pipeline.core.matchkey)
    fthg: int | None
    ftag: int | None
    ftr: str | None           # H | D | A
    columns: Mapping[str, int] = field(repr=False, compare=False, hash=False)  # shared per file
    cells: tuple[str, ...] = field(repr=False, compare=False, hash=False)

    @property
    def id(self) -> str:
        """Stable within a folder: "E0_2019-20.csv:0"."""
        return f"{self.file}:{self.row}"

    def get(self, column: str) -> str | None:
        """The raw cell of a named column; None when the file has no such column."""
        i = self.columns.get(column)
        return self.cells[i] if i is not None and i < len(self.cells) else None

    def odds(self, columns: str | Sequence[str]) -> tuple[float, float, float] | None:
        """(home, draw, away) prices from a source name or a triple of column names, else None.

        A named source tries its triples in order (avg: AvgH/D/A, then BbAvH/D/A); a triple is
        valid only when all three cells are valid prices.
        """
        triples: Iterable[Sequence[str]]
        if isinstance(columns, str):
            if columns not in PRICE_SOURCES:
                raise KeyError(f"unknown price source {columns!r}; known: {sorted(PRICE_SOURCES)}")
            triples = PRICE_SOURCES[columns]
        else:
            triples = (columns,)
        for triple in triples:
            if len(triple) != 3:
                raise ValueError(f"need three columns (home, draw, away), got {triple!r}")
            h, d, a = (price(self.get(c)) for c in triple)
            if h is not None and d is not None and a is not None:
                return h, d, a
        return None

    def handicap(self, source: str) -> list[dict[str, float]]:
        """odds-data `handicap` from a source's columns: [{"line", "home", "away"}] from the
        first column triple whose line and both prices are valid, else []."""
        for line_col, home_col, away_col in _sources(HANDICAP_SOURCES, source, "handicap"):
            ln = line(self.get(line_col))
            h, a = price(self.get(home_col)), price(self.get(away_col))
            if ln is not None and h is not None and a is not None:
                return [{"line": ln, "home": h, "away": a}]
        return []

    def totals(self, source: str) -> list[dict[str, float]]:
        """odds-data `totals` from a source's columns: [{"line": 2.5, "over", "under"}] from
        the first column pair whose prices are both valid, else []."""
        for over_col, under_col in _sources(TOTALS_SOURCES, source, "totals"):
            o, u = price(self.get(over_col)), price(self.get(under_col))
            if o is not None and u is not None:
                return [{"line": TOTALS_LINE, "over": o, "under": u}]
        return []

    @property
    def result(self) -> tuple[int, int] | None:
        """(home goals, away goals) when the row has a full-time score."""
        if self.fthg is None or self.ftag is None:
            return None
        return self.fthg, self.ftag


def _cell(cells: tuple[str, ...], columns: Mapping[str, int], col: str) -> str:
    i = columns.get(col)
    return cells[i] if i is not None and i < len(cells) else ""


def decode(data: bytes) -> str:
    """UTF-8 (BOM stripped); otherwise cp1252, else latin-1, which always decodes."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_date(text: str) -> tuple[int, int, int]:
    """dd/mm/yy or dd/mm/yyyy -> (year, month, day); two-digit years: 90-99 -> 19xx, else 20xx."""
    parts = text.strip().split("/")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"date {text!r} is not dd/mm/yy or dd/mm/yyyy")
    day, month, year = (int(p) for p in parts)
    if len(parts[2].strip()) <= 2:
        year += 1900 if year >= 90 else 2000
    try:
        datetime(year, month, day)
    except ValueError as e:  # 31/02/2020, 01/13/2020
        raise ValueError(f"date {text!r} is out of range ({e})") from None
    return year, month, day


def uk_kickoff(date_text: str, time_text: str | None) -> datetime:
    """Date + Time as UK local time (DST-aware) -> aware UTC; 15:00 UK when there is no Time."""
    year, month, day = parse_date(date_text)
    t = DEFAULT_KICKOFF_UK
    if time_text and time_text.strip():
        hh, _, mm = time_text.strip().partition(":")
        if not (hh.isdigit() and mm[:2].isdigit()):
            raise ValueError(f"time {time_text!r} is not HH:MM")
        try:
            t = time(int(hh), int(mm[:2]))
        except ValueError as e:  # 25:00, 12:61
            raise ValueError(f"time {time_text!r} is out of range ({e})") from None
    return datetime(year, month, day, t.hour, t.minute, tzinfo=UK).astimezone(timezone.utc)


def parse_text(text: str, name: str, tables: KeyTables) -> list[Fixture]:
    """Every match of one file's decoded text; `name` is the file name (used in ids)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next((r for r in reader if any(c.strip() for c in r)), None)  # blank lines: empty
    if header is None:
        return []
    header = [h.strip().lstrip("\ufeff") for h in header]
    columns = {h: i for i, h in reversed(list(enumerate(header))) if h}  # first of duplicates
    for need in ("Date", "HomeTeam", "AwayTeam"):
        if need not in columns:
            raise FootballDataError(f"{name}: no {need!r} column in the header")
    width = len(header)
    strings: dict[str, str] = {}  # share equal cell strings: ~9,000 rows stay small in memory
    raw: list[tuple[int, tuple[str, ...], datetime]] = []
    for index, record in enumerate(reader):
        cells = tuple(strings.setdefault(s, s) for s in (c.strip() for c in record[:width]))
        if not any(cells):
            continue
        if not all(_cell(cells, columns, c) for c in ("Date", "HomeTeam", "AwayTeam")):
            raise FootballDataError(f"{name} row {index}: Date, HomeTeam or AwayTeam is empty")
        try:
            kickoff = uk_kickoff(_cell(cells, columns, "Date"), _cell(cells, columns, "Time"))
        except ValueError as e:
            raise FootballDataError(f"{name} row {index}: {e}") from None
        raw.append((index, cells, kickoff))
    if not raw:
        return []
    div_default = name.split("_", 1)[0]
    first = min(k for _, _, k in raw)
    out = []
    for index, cells, kickoff in raw:
        def get(col: str, cells=cells) -> str:
            return _cell(cells, columns, col)

        div = get("Div") or div_default
        competition = tables.division(div)
        season = season_of(first, tables.competition(competition).calendar_year)
        home, away = get("HomeTeam"), get("AwayTeam")
        out.append(Fixture(
            file=name, row=index, div=div, competition=competition, season=season,
            home=home, away=away, kickoff=kickoff,
            key=tables.key(home, away, kickoff=kickoff, competition=competition, season=season),
            fthg=_int(get("FTHG")), ftag=_int(get("FTAG")), ftr=get("FTR") or None,
            columns=columns, cells=cells))
    return out


def parse_file(path: str | Path, tables: KeyTables) -> list[Fixture]:
    """Every match of one CSV file, in file order."""
    path = Path(path)
    return parse_text(decode(path.read_bytes()), path.name, tables)


def load_folder(folder: str | Path, tables: KeyTables) -> list[Fixture]:
    """Every match of every `*.csv` in `folder` (files sorted by name, rows in file order)."""
    out: list[Fixture] = []
    for path in sorted(Path(folder).glob("*.csv")):
        out.extend(parse_file(path, tables))
    return out


def iter_files(paths: Iterable[str | Path], tables: KeyTables) -> Iterator[Fixture]:
    """Matches of the given files, in the order given (the backtest's command-line order)."""
    for path in paths:
        yield from parse_file(path, tables)
