"""A home's files against DESIGN's invariants 1–3 and ../shared/contracts: what `scripts/chaos`
checks after it has killed the pipeline's programs again and again.

- every file under data/ parses (JSON snapshots whole; JSON-lines files with at most a torn
  last line, which readers ignore), and the ones with a contract validate against it (when
  jsonschema and ../shared/contracts are at hand);
- the ledger's `seq` strictly increases and no decision id has two BET_PLACED;
- the bookmaker's accepted bets and the ledger's placed bets match one to one
  (`pipeline.bookmakers.reconcile.compare`, nothing in flight);
- the whole history — data/archive/'s files and the ledger (`check_history`; what check-home.py
  cannot see): each archived event keeps the contract, each seq is one event, no decision
  placed twice, every bet settled at most once and after its placement, and the ledger's
  CHECKPOINT gives the figures the whole history gives.
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson

from pipeline.core.archive import archive_dir, archived_events, history_events
from pipeline.core.filebus import BadFile
from pipeline.core.jsonl import parse
from pipeline.core.events import from_dicts
from pipeline.core.ledger import read_records
from pipeline.core.state import replay
from pipeline.core.paths import REPO, Home
from pipeline.bookmakers.reconcile import compare
from pipeline.strategies.settlement import results_body

CONTRACTS = REPO.parent / "shared" / "contracts"
CHECK_HOME = REPO.parent / "shared" / "tools" / "check-home.py"
SKIP_DIRS = ("logs", "browser", ".tmp")
SNAPSHOT_SCHEMAS = {"odds-data.json": "odds-data", "decisions.json": "decisions",
                    "results.json": "results", "clock.json": "clock"}


def _validator():
    """`errors(schema, doc) -> list[str]`, or None without jsonschema or the contracts."""
    try:
        import jsonschema
        from referencing import Registry, Resource
    except ImportError:
        return None
    if not CONTRACTS.is_dir():
        return None
    schemas = {p.name: json.loads(p.read_text()) for p in CONTRACTS.glob("*.schema.json")}
    registry = Registry().with_resources([(n, Resource.from_contents(s))
                                          for n, s in schemas.items()])
    validators = {n.removesuffix(".schema.json"):
                  jsonschema.Draft202012Validator(s, registry=registry) for n, s in schemas.items()}

    def errors(schema: str, doc) -> list[str]:
        v = validators.get(schema)
        found = v.iter_errors(doc) if v else []
        return [f"{'/'.join(map(str, e.path))}: {e.message}"[:200] for e in found]

    return errors


def data_files(home: Home) -> list[Path]:
    out = []
    for p in sorted(home.data.rglob("*")):
        rel = p.relative_to(home.data)
        if p.is_file() and rel.parts[0] not in SKIP_DIRS and p.suffix in (".json", ".jsonl"):
            out.append(p)
    return out


def schema_of(home: Home, path: Path) -> str | None:
    if path.parent == home.health_dir:
        return "health"
    if path == home.ledger:
        return "bet-record-event"
    return SNAPSHOT_SCHEMAS.get(path.name) if path.parent == home.data else None


def check_files(home: Home) -> dict:
    """Every data file parses and keeps its contract: {"files", "validated", "problems"}."""
    errors, problems, validated = _validator(), [], 0
    files = data_files(home)
    for path in files:
        name = str(path.relative_to(home.data))
        try:
            if path.suffix == ".jsonl":
                docs = parse(path.read_bytes()).records
            else:
                docs = [orjson.loads(path.read_bytes())]
        except (ValueError, OSError) as e:
            problems.append(f"{name} does not parse: {e}")
            continue
        schema = schema_of(home, path)
        if errors and schema:
            validated += 1
            for i, doc in enumerate(docs):
                problems += [f"{name}[{i}] {e}" for e in errors(schema, doc)][:3]
    if errors is None:
        problems.append(f"contracts not checked: no jsonschema or no {CONTRACTS}")
    return {"files": len(files), "validated": validated, "problems": problems}


def check_ledger(events: list[dict]) -> dict:
    """seq strictly increasing, at most one BET_PLACED per decision id, counts by type."""
    problems, last = [], 0
    for ev in events:
        seq = ev.get("seq")
        if not isinstance(seq, int) or seq <= last:
            problems.append(f"seq not increasing: {seq} after {last}")
        else:
            last = seq
    placed = Counter(ev.get("decision_id") for ev in events if ev.get("type") == "BET_PLACED")
    twice = sorted(d for d, n in placed.items() if n > 1)
    if twice:
        problems.append(f"{len(twice)} decision ids with two BET_PLACED: {twice[:5]}")
    return {"events": len(events), "types": dict(Counter(ev.get("type") for ev in events)),
            "placed_twice": twice, "problems": problems}


def check_one_to_one(bets: list[dict], events: list[dict], mode: str) -> dict:
    """The bookmaker's bets and the ledger's BET_PLACED, one to one, nothing left in flight."""
    report = compare(bets, events, events, mode)
    problems = [f"unknown to the ledger: {u['bet_ref']} ({u['why']})" for u in report.unknown]
    problems += [f"unknown to the bookmaker: {m['bet_ref']} ({m['client_ref']})"
                 for m in report.missing]
    problems += [f"still in flight: {ref}" for ref in report.in_flight]
    if report.matched != len(bets) or report.matched != report.ledger_placed:
        problems.append(f"{len(bets)} bets at the bookmaker, {report.ledger_placed} placed in the "
                        f"ledger, {report.matched} matched")
    return {"bookmaker_bets": len(bets), "ledger_placed": report.ledger_placed,
            "matched": report.matched, "problems": problems[:20]}


def ledger_events(home: Home) -> list[dict]:
    """The ledger's lines as readers see them (a torn last line and lines that are no event
    left out), as written."""
    return read_records(home.ledger)


def unresolved(home: Home) -> list[str]:
    """client_refs of BET_INTENDED without BET_PLACED or BET_FAILED."""
    events = ledger_events(home)
    done = {e["client_ref"] for e in events if e["type"] in ("BET_PLACED", "BET_FAILED")}
    return [e["client_ref"] for e in events if e["type"] == "BET_INTENDED"
            and e["client_ref"] not in done]


def check_home_tool(home: Home) -> dict:
    """The shared checker (invariants 1-3, contracts): its JSON summary."""
    if not CHECK_HOME.exists():
        return {"problems": [], "skipped": f"{CHECK_HOME} not found"}
    out = subprocess.run([sys.executable, str(CHECK_HOME), str(home.root)], capture_output=True,
                         text=True, timeout=300)
    try:
        return orjson.loads(out.stdout)
    except orjson.JSONDecodeError:
        return {"problems": [f"check-home.py: {out.stdout[-300:]} {out.stderr[-300:]}"]}


def check_history(home: Home) -> dict:
    """The archives and the ledger as one history (see the module docstring):
    {"archived", "events", "problems"}."""
    try:
        archived, ledger = archived_events(archive_dir(home.ledger)), read_records(home.ledger)
        whole = history_events(home.ledger)
    except BadFile as e:
        return {"archived": 0, "events": 0, "problems": [str(e)]}
    problems, errors = [], _validator()
    for ev in archived:
        problems += [f"archive seq {ev.get('seq')}: {e}"
                     for e in (errors("bet-record-event", ev) if errors else [])][:3]
    seen: dict = {}
    for ev in archived + ledger:
        if seen.setdefault(ev["seq"], ev) != ev:
            problems.append(f"seq {ev['seq']} is two different events (archive and ledger)")
    placed, settled = Counter(), Counter()
    for ev in whole:
        did = ev.get("decision_id")
        if ev.get("type") == "BET_PLACED":
            placed[did] += 1
        elif ev.get("type") == "BET_SETTLED":
            settled[did] += 1
            if not placed[did]:
                problems.append(f"seq {ev['seq']}: BET_SETTLED of {did} before any BET_PLACED")
    problems += [f"{d} placed {n} times" for d, n in placed.items() if n > 1][:5]
    problems += [f"{d} settled {n} times" for d, n in settled.items() if n > 1][:5]
    if any(ev.get("type") == "CHECKPOINT" for ev in ledger):
        short = results_body(replay(from_dicts(ledger)), None)
        full = results_body(replay(from_dicts(whole)), None)
        short.pop("ledger_seq"), full.pop("ledger_seq")
        if short != full:
            problems.append("the ledger's CHECKPOINT does not give the whole history's figures")
    return {"archived": len(archived), "events": len(whole), "problems": problems[:20]}
