"""The factor-drill app's model: the interactive form of `betpipe drill`, on
`pipeline.analysis.drill` (records_for, drill, FACTORS) — no second drill engine here.

A request names data files (by name, from the sandbox's data folder only), an odds source, the
backed selection, the factors in drilling order, and the labels fixed so far (`w.<factor>`).
The view shows the groups of the next factor, or — once every factor is fixed, or when asked
(`records=1`) — the match records with their profit and loss; the breadcrumb goes back up.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from pipeline.analysis.drill import FACTORS, DrillError, drill, records_for
from pipeline.core.matchkey import KeyTables
from pipeline.history.football_data import BACKTEST_SOURCES

SELECTIONS = ("favourite", "underdog", "home", "draw", "away")
LEVELS = 3  # factor pickers on the form
MAX_RECORDS = 500
CACHE_SIZE = 4


@dataclass(frozen=True)
class Query:
    files: tuple[str, ...]
    odds: str
    selection: str
    by: tuple[str, ...]
    where: tuple[tuple[str, str], ...]  # the fixed labels, in `by` order
    records: bool

    def params(self, **change) -> list[tuple[str, str]]:
        q = {**self.__dict__, **change}
        out = [("file", f) for f in q["files"]] + [("odds", q["odds"]), ("selection", q["selection"])]
        out += [("by", b) for b in q["by"]] + [(f"w.{k}", v) for k, v in q["where"]]
        return out + ([("records", "1")] if q["records"] else [])

    def url(self, **change) -> str:
        return "/drill?" + urlencode(self.params(**change))


def parse_query(params, available: list[str]) -> tuple[Query | None, str | None]:
    """A Query from the request's parameters (a multi-dict); (None, None) for the empty form,
    (None, error) when something is not allowed."""
    files = tuple(f for f in params.getlist("file") if f)
    if not files:
        return None, None
    unknown = [f for f in files if f not in available]
    if unknown:
        return None, f"no data file {unknown[0]!r} in the sandbox data folder"
    odds = params.get("odds") or "b365"
    if odds not in BACKTEST_SOURCES:
        return None, f"unknown odds source {odds!r}"
    selection = params.get("selection") or "favourite"
    if selection not in SELECTIONS:
        return None, f"unknown selection {selection!r}"
    by = tuple(dict.fromkeys(b for b in params.getlist("by") if b))  # order kept, repeats dropped
    bad = [b for b in by if b not in FACTORS]
    if bad:
        return None, f"unknown factor {bad[0]!r}"
    where = []
    for factor in by:  # the fixed labels follow the drilling order, without gaps
        value = params.get(f"w.{factor}")
        if value is None:
            break
        where.append((factor, value))
    return Query(files, odds, selection, by, tuple(where), params.get("records") == "1"), None


class DrillModel:
    """Records per (files, odds, selection), a few kept in memory; the view of a Query."""

    def __init__(self, folder: Path, tables: KeyTables):
        self.folder, self.tables = folder, tables
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def available(self) -> list[str]:
        return sorted(p.name for p in self.folder.glob("*.csv")) if self.folder.is_dir() else []

    def records(self, q: Query) -> list:
        paths = [self.folder / f for f in q.files]
        key = (q.files, q.odds, q.selection, tuple(p.stat().st_mtime_ns for p in paths))
        with self._lock:  # requests run in a thread pool
            if key not in self._cache:
                self._cache[key] = records_for(paths, q.odds, q.selection, self.tables)
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
            self._cache.move_to_end(key)
            return self._cache[key]

    def view(self, q: Query) -> dict:
        records = self.records(q)
        where = dict(q.where)
        crumbs = [{"label": "all matches", "url": q.url(where=(), records=False)}]
        for i, (factor, value) in enumerate(q.where):
            crumbs.append({"label": f"{factor} = {value}",
                           "url": q.url(where=q.where[:i + 1], records=False)})
        (total,) = drill(records, by=[], where=where) or [None]
        level = len(q.where)
        out = {"crumbs": crumbs, "total": total and total.to_json(), "factor": None,
               "groups": [], "records": None, "records_total": 0}
        if q.records or level >= len(q.by):
            rows = total.records if total else []
            out["records_total"] = len(rows)
            out["records"] = [r.to_json() for r in rows[:MAX_RECORDS]]
            return out
        factor = q.by[level]
        out["factor"] = factor
        for g in drill(records, by=[factor], where=where):
            label = g.values[factor]
            fixed = q.where + ((factor, label),)
            out["groups"].append({**g.to_json(), "label": label,
                                  "down": q.url(where=fixed, records=False),
                                  "records": q.url(where=fixed, records=True)})
        return out


__all__ = ["DrillModel", "DrillError", "Query", "parse_query", "FACTORS", "SELECTIONS",
           "BACKTEST_SOURCES", "LEVELS"]
