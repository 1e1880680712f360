"""The `model` program (`betpipe model`; DESIGN: "Probabilities, models and value"): a
Dixon–Coles goals model's probabilities for the matches of odds-data -> data/probabilities.json.

Walk-forward: each fit is made at the clock's now, on the results out before it (dixon_coles:
kickoff + 110 min <= now) of the football-data CSVs in `model.data` (default the sandbox's folder)
and of the results the monitor recorded (the odds history, then odds-data's finished matches; a
recorded result replaces the CSV's for the same match key). One fit per competition of
odds-data's matches; a new fit at most once per `model.refit_h` simulated hours (and when xi,
the folder or odds-data's set of competitions changes). Every pass (at start, on a change of
odds-data or the config, and every second for the clock) prices odds-data's matches that are not
over with the standing fits; a match with a team its fit never saw gets no probability (counted
in `model.unpriced`). probabilities.json (SnapshotWriter: atomic, versions strictly increasing)
is rewritten only when its content changed. `model.enabled` false: the program idles, healthy.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pipeline.models  # noqa: F401  (one BLAS thread, before numpy is imported)
from pipeline.core.config import Config
from pipeline.core.filebus import SnapshotWriter
from pipeline.core.files import check_odds
from pipeline.core.log import Logger
from pipeline.core.matchkey import KeyTables, load_tables
from pipeline.core.paths import Home, football_data_dir
from pipeline.core.runtime import Runtime
from pipeline.core.timefmt import iso, parse_iso
from pipeline.core.watchloop import LastGood, serve
from pipeline.history import store
from pipeline.history.football_data import FootballDataError, parse_file
from pipeline.models import dixon_coles as dc
from pipeline.models.predict import Row, entry, fits_at, model_info, rows_of_fixtures

PROGRAM = "model"
PASS_REAL_S = 1.0  # a pass at least this often: refits follow the clock
OVER = ("finished", "void", "postponed")  # statuses that are priced no more


class CsvRows:
    """The CSV folder's matches as model Rows, parsed again only when a file changed."""

    def __init__(self, tables: KeyTables):
        self.tables = tables
        self._sig: tuple | None = None
        self.rows: list[Row] = []

    def load(self, folder: Path) -> list[Row]:
        files = sorted(Path(folder).glob("*.csv"))
        sig = (str(folder), tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files))
        if sig != self._sig:
            fixtures = []
            for p in files:
                try:
                    fixtures.extend(parse_file(p, self.tables))
                except FootballDataError as e:
                    raise FootballDataError(f"{p}: {e}") from None
            self.rows, self._sig = rows_of_fixtures(fixtures, self.tables), sig
        return self.rows


def _recorded_row(m: dict, tables: KeyTables) -> Row | None:
    """A finished match of odds-data or the odds history as a Row, else None."""
    result = m.get("result")
    if m.get("status") != "finished" or not isinstance(result, dict):
        return None
    try:
        return Row(m["key"], m["competition"],
                   dc.Match(tables.team(m["home"]), tables.team(m["away"]),
                            parse_iso(m["kickoff"]), int(result["home_goals"]),
                            int(result["away_goals"])))
    except (KeyError, TypeError, ValueError):
        return None  # a line without the fields (an older day's first line missing): skipped


class Modeller:
    """The model program's state and one pass, without the watching (tests call `run_pass`)."""

    def __init__(self, home: Home, clock, log: Logger | None = None):
        self.home, self.clock, self.log = home, clock, log
        self.tables = load_tables(home)
        self.csv = CsvRows(self.tables)
        self.writer = SnapshotWriter(home.probabilities)
        self.fits: dict[str, dc.Fit] = {}
        self.fitted_at: datetime | None = None
        self.fit_for: tuple | None = None  # (xi, folder, competitions) of the standing fits
        self.last_body: dict | None = None
        self.fit_ms: float | None = None

    def training(self, config: Config, odds: dict | None, at: datetime) -> list[Row]:
        """CSV rows, with the monitor's recorded results (history, then odds-data) on top."""
        folder = self.folder(config)
        rows = {r.key: r for r in (self.csv.load(folder) if folder.is_dir() else [])}
        recorded = store.fold(store.lines(store.history_dir(self.home.data), end=iso(at)))
        for m in [*recorded.values(), *(odds or {}).get("matches", [])]:
            row = _recorded_row(m, self.tables)
            if row is not None:
                rows[row.key] = row
        return list(rows.values())  # dixon_coles.fit keeps only those out before `at`

    def folder(self, config: Config) -> Path:
        return football_data_dir(self.home, config.model.data or config.sandbox.data)

    def due(self, config: Config, comps: tuple, now: datetime) -> bool:
        key = (config.model.xi, str(self.folder(config)), comps)
        return (key != self.fit_for or self.fitted_at is None
                or now - self.fitted_at >= timedelta(hours=config.model.refit_h))

    def run_pass(self, odds: dict | None, config: Config) -> dict | None:
        """Refit when due, price odds-data's open matches; the document written, else None."""
        now = self.clock.now()
        open_matches = [m for m in (odds or {}).get("matches", [])
                        if m.get("status") not in OVER]
        comps = tuple(sorted({m.get("competition") for m in open_matches}))
        if self.due(config, comps, now):
            t0 = time.perf_counter()
            rows = [r for r in self.training(config, odds, now) if r.competition in comps]
            self.fits = fits_at(rows, now, config.model.xi)
            self.fitted_at = now
            self.fit_for = (config.model.xi, str(self.folder(config)), comps)
            self.fit_ms = round((time.perf_counter() - t0) * 1000, 1)
            if self.log is not None:
                self.log.info("model.fitted", fitted_at=iso(now), ms=self.fit_ms,
                              fits={c: f.matches for c, f in self.fits.items()})
        matches, unpriced = [], 0
        for m in sorted(open_matches, key=lambda m: (m.get("kickoff", ""), m.get("key", ""))):
            match = dc.Match(self.tables.team(m["home"]), self.tables.team(m["away"]),
                             parse_iso(m["kickoff"]))
            e = entry(m["key"], self.fits.get(m["competition"]), match)
            if e is None:
                unpriced += 1
            else:
                matches.append(e)
        body = {"model": model_info(self.fits, self.fitted_at, config.model.xi, unpriced),
                "matches": matches}
        if body == self.last_body:
            return None
        self.last_body = body
        return self.writer.write(body, written_at=iso(now))


def main(home: Home | None = None) -> int:
    rt = Runtime(PROGRAM, home)
    try:
        if not rt.start():
            return 0
        modeller = Modeller(rt.home, rt.clock, rt.log)
        odds = LastGood(rt.home.odds, rt.log, check_odds)

        def on_pass(_changed) -> str | None:
            enabled = rt.config.model.enabled
            if rt.health.info.get("enabled") != enabled:
                rt.health.info["enabled"] = enabled
                rt.health.beat()
            if not enabled:
                return None  # idle, healthy
            doc = odds.load()
            written = modeller.run_pass(doc, rt.config)
            if written is not None:
                rt.log.info("probabilities.written", version=written["version"],
                            matches=len(written["matches"]),
                            unpriced=written["model"]["unpriced"])
                rt.health.info.update(probabilities_version=written["version"],
                                      fitted_at=written["model"]["fitted_at"],
                                      fit_ms=modeller.fit_ms)
                rt.health.incr("writes")
                rt.health.beat()
            return odds.problem and f"{rt.home.odds.name}: {odds.problem}"

        serve(rt, [rt.home.odds], on_pass, every_real_s=PASS_REAL_S)
        return 0
    finally:
        rt.close()
