"""`betpipe ledger archive --before DATE` (DESIGN: operations): settled history moves from
`data/bet-record.jsonl` into `data/archive/bet-record-DATE.jsonl.gz` behind a CHECKPOINT
(pipeline.core.checkpoint), so replay stays short and gives the same state.

What moves: among the events before the first one stamped on or after DATE (the cut), every
event of a decision whose bet settled there (its intents, failures, refusals, placement and
settlement), every SESSION_RESET, SESSION_HALTED and TARGET_REACHED, and the CHECKPOINT of an
earlier archive (folded into the new one). Everything else stays, in place and with its seq:
open bets, bets settled after the cut, intents in flight, decisions never placed. It all runs
under the ledger's lock: the archive file is written (fsync) first, then the ledger is replaced
atomically, so a crash in between leaves the events in both places, never in neither
(`history_events` reads each seq once).
`history_events` is the whole history (archives and ledger, checkpoints left out): what
`betpipe export` and `betpipe history` read.
"""
from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import orjson

from pipeline.core import checkpoint
from pipeline.core.checkpoint import CHECKPOINT, Life
from pipeline.core.filebus import BadFile, atomic_write_bytes
from pipeline.core.jsonl import parse
from pipeline.core.events import Checkpoint, from_dicts
from pipeline.core.ledger import Ledger, not_an_event, read_records
from pipeline.core.state import replay
from pipeline.core.timefmt import parse_iso

SESSION_EVENTS = ("SESSION_RESET", "SESSION_HALTED", "TARGET_REACHED")
ARCHIVE_DIR = "archive"


def archive_dir(ledger_path: Path) -> Path:
    return Path(ledger_path).parent / ARCHIVE_DIR


def split(events: list[dict], before: date) -> tuple[list[dict], list[dict], int]:
    """(archived, kept, cut_seq): what an archive before `before` moves and keeps, in order;
    cut_seq is the seq of the last event before the cut (0: none)."""
    k = next((i for i, ev in enumerate(events)
              if ev.get("type") != CHECKPOINT and not _stamped_before(ev, before)), len(events))
    head = events[:k]
    settled = {ev.get("decision_id") for ev in head if ev.get("type") == "BET_SETTLED"}
    archived, kept = [], []
    for i, ev in enumerate(events):
        kind = ev.get("type")
        moves = kind == CHECKPOINT or (i < k and (kind in SESSION_EVENTS
                                                   or ev.get("decision_id") in settled))
        (archived if moves else kept).append(ev)
    cut = max((ev["seq"] for ev in head if ev.get("type") != CHECKPOINT), default=0)
    return archived, kept, cut


def _stamped_before(ev: dict, before: date) -> bool:
    try:
        return parse_iso(ev["ts"]).date() < before
    except (KeyError, TypeError, ValueError):
        return False  # no readable ts (a hand edit): the cut comes no later than it


def total_life(book) -> Life:
    """Every session's bets and settlements of a Book as one Life (settlement order, as
    results.json's total orders them), after what the Book carries from an earlier archive."""
    life = book.carried_total.copy() if book.carried_total is not None else Life()
    bets = sorted((b for sb in book.sessions.values() for b in sb.all_bets), key=lambda b: b.seq)
    settled = sorted((b for sb in book.sessions.values() for b in sb.all_settled),
                     key=lambda b: (parse_iso(b.settled_at), b.seq))
    return life.add_bets(bets).add_settled(settled)


def make_checkpoint(archived: list[dict], before: date, cut: int, last_seq: int, name: str,
                    kept: int) -> Checkpoint:
    """The CHECKPOINT for the archived lines (an earlier checkpoint among them)."""
    book = replay(from_dicts(archived))
    return checkpoint.body(book, total_life(book), last_seq, before=before.isoformat(),
                           cut_seq=cut, archive=f"{ARCHIVE_DIR}/{name}",
                           archived=sum(ev.get("type") != CHECKPOINT for ev in archived),
                           kept=kept)


def archive_name(directory: Path, before: date) -> str:
    """bet-record-DATE.jsonl.gz, or bet-record-DATE.N.jsonl.gz when that one exists."""
    name, n = f"bet-record-{before.isoformat()}.jsonl.gz", 1
    while (directory / name).exists():
        n += 1
        name = f"bet-record-{before.isoformat()}.{n}.jsonl.gz"
    return name


def archive(ledger: Ledger, before: date) -> dict:
    """Archive the ledger's settled history before `before` (under its lock). Returns a report:
    archived and kept event counts, the archive file and the checkpoint's seq (None with
    nothing to archive: the ledger is left as it was)."""
    directory = archive_dir(ledger.path)
    report: dict = {"before": before.isoformat(), "archived": 0, "file": None, "checkpoint": None}

    def decide(events: list[dict]):
        archived, kept, cut = split(events, before)
        if not any(ev.get("type") != CHECKPOINT for ev in archived):
            report["kept"] = len(events)
            return None  # nothing new to move: an earlier checkpoint stays as it is
        directory.mkdir(parents=True, exist_ok=True)
        name = archive_name(directory, before)
        atomic_write_bytes(directory / name, gzip.compress(
            b"".join(orjson.dumps(ev) + b"\n" for ev in archived), mtime=0))
        body = make_checkpoint(archived, before, cut, events[-1]["seq"], name, len(kept))
        report.update(archived=body.archived, kept=len(kept), file=str(directory / name))
        return kept, body

    out = ledger.rewrite(decide)
    if out is not None:
        report["checkpoint"] = out[-1]["seq"]
    return report


def archived_events(directory: Path) -> list[dict]:
    """The events of every archive file in `directory` (BadFile naming a file that does not
    parse)."""
    out: list[dict] = []
    for path in sorted(Path(directory).glob("bet-record-*.jsonl.gz")):
        try:
            out += parse(gzip.decompress(path.read_bytes()), check=not_an_event).records
        except (OSError, EOFError, ValueError) as e:
            raise BadFile(path, f"not a gzipped ledger archive: {e}") from None
    return out


def history_events(ledger_path: Path) -> list[dict]:
    """The whole history in seq order: the archives' events and the ledger's, each seq once,
    checkpoints left out, as lines (dicts). Replaying them (`events.from_dicts`) gives the
    state replaying the ledger gives."""
    by_seq = {ev["seq"]: ev for ev in archived_events(archive_dir(ledger_path))}
    by_seq.update((ev["seq"], ev) for ev in read_records(ledger_path))
    return [by_seq[s] for s in sorted(by_seq) if by_seq[s].get("type") != CHECKPOINT]
