"""The odds history (DESIGN: "Odds history and closing-line value"): the one module that owns
`data/odds-history/` — its writer (the monitor's) and its readers (CLI, backtest, track).

Files: `YYYY-MM-DD.jsonl`, the UTC day of each line's `t` (the match's `seen_at`, else the poll's
`fetched_at`); a finished day is compressed once to `YYYY-MM-DD.jsonl.gz` and never written again.
A line is compact JSON (odds-history-line.schema.json): `t`, `source`, `key`, `competition`,
`status`, `kickoff`, `odds`, `handicap` and `totals` (left out when the match offers none), and
`result` — the match's whole state, so any one line says what was on sale from its `t` on. A
match gets a line when its state (status, kickoff, prices of every market, result) differs from
its last line in the same day file. Each day file is self-contained: a match's first line in a
day also carries `season`, `home` and `away`, so one day (or a `--from` range) is read without
the days before it; the cost is one line per listed match per day.

The writer appends one poll's lines with one write and one fsync, before the snapshot of that
poll is written (the monitor calls it first). It follows the ledger's JSON-lines rules
(pipeline.core.jsonl): a torn last line (a crash mid-write) is ignored by readers and cut off
by the writer when it opens the file; a last line without its newline is kept and ended; a line
that parses but is no history line is skipped and reported; an unparsable line before the last
is corruption (BadFile naming the file and byte) and nothing is appended on top of it. After a
restart the writer rebuilds each match's last line from the open day's file, so unchanged prices
are not appended again. A line whose day is older than the open day (a late `seen_at`) goes to
the open day's file: readers sort by `t`.
"""
from __future__ import annotations

import gzip
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import orjson

from pipeline.core.filebus import BadFile
from pipeline.core.jsonl import AppendError, append_bytes, parse, report_skipped

DIR_NAME = "odds-history"
_DAY_FILE = re.compile(r"^(\d{4}-\d\d-\d\d)\.jsonl(\.gz)?$")
STATE = ("status", "kickoff", "odds", "handicap", "totals", "result")  # a change = a new line
FIRST = ("season", "home", "away")  # on a match's first line of a day only


def history_dir(data: Path) -> Path:
    """`data/odds-history` of a home's data folder."""
    return Path(data) / DIR_NAME


def check_line(rec: object, _prev: dict | None = None) -> str | None:
    """Why a parsed line is no history line (None: it is one)."""
    if not isinstance(rec, dict):
        return "not a JSON object"
    for name in ("t", "key", "kickoff", "status"):
        if type(rec.get(name)) is not str:
            return f"field {name}: missing or not a string"
    return None


def state_of(match: dict) -> tuple:
    """What a new line is written for: status, kickoff, every market's prices, result."""
    return (match.get("status"), match.get("kickoff"), match.get("odds"),
            match.get("handicap") or None, match.get("totals") or None, match.get("result"))


def line_of(match: dict, source: str, t: str, first: bool) -> dict:
    """The history line of an odds-data match seen at `t`."""
    line = {"t": t, "source": source, "key": match["key"],
            "competition": match.get("competition"), "status": match["status"],
            "kickoff": match["kickoff"], "odds": match.get("odds")}
    for market in ("handicap", "totals"):
        if match.get(market):
            line[market] = match[market]
    line["result"] = match.get("result")
    if first:
        for name in FIRST:
            if match.get(name) is not None:
                line[name] = match[name]
    return line


def day_of(t: str) -> str:
    """The UTC day of an odds-data timestamp (always `...Z`)."""
    return t[:10]


# --------------------------------------------------------------------------- reading

@dataclass(frozen=True)
class Day:
    day: str          # YYYY-MM-DD
    path: Path        # the .jsonl.gz when both exist (a compression cut short), else the .jsonl

    @property
    def closed(self) -> bool:
        return self.path.suffix == ".gz"


def days(directory: Path) -> list[Day]:
    """The history's day files, oldest first."""
    found: dict[str, Path] = {}
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    for name in names:
        m = _DAY_FILE.match(name)
        if m and (m.group(1) not in found or m.group(2)):
            found[m.group(1)] = Path(directory) / name
    return [Day(d, p) for d, p in sorted(found.items())]


def read_bytes(path: Path) -> bytes:
    raw = Path(path).read_bytes()
    if path.suffix == ".gz":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise BadFile(path, f"not a readable gzip file ({e})") from None
    return raw


def read_day(path: Path) -> list[dict]:
    """A day file's lines, in file order; a torn last line is left out, lines that are no
    history line are skipped (and reported once); BadFile for corruption before the end."""
    try:
        result = parse(read_bytes(path), check=check_line)
    except ValueError as e:
        raise BadFile(path, str(e)) from None
    if result.skipped:
        for line, _byte, reason in result.skipped:
            report_skipped(Path(path), line, reason)
    return result.records


def lines(directory: Path, start: str | None = None, end: str | None = None) -> Iterator[dict]:
    """Every line with start <= t < end (ISO texts; None: unbounded), in `t` order (file order
    for equal `t`), reading only the day files that can hold them."""
    for d in days(directory):
        if (start and d.day < start[:10]) or (end and d.day > end[:10]):
            continue
        recs = read_day(d.path)
        recs.sort(key=lambda r: r["t"])  # stable: late lines of an earlier day sort in
        for r in recs:
            if (start is None or r["t"] >= start) and (end is None or r["t"] < end):
                yield r


def fold(records: Iterable[dict]) -> dict[str, dict]:
    """Each match's latest line (with the first-line fields it has had), key -> line."""
    out: dict[str, dict] = {}
    for r in records:
        prev = out.get(r["key"])
        if prev is not None:
            r = {**{k: prev[k] for k in FIRST if k in prev}, **r}
        out[r["key"]] = r
    return out


# --------------------------------------------------------------------------- writing

def compress(path: Path) -> Path:
    """Close a finished day: its whole lines into `DAY.jsonl.gz` (written aside, fsynced,
    renamed), then the `.jsonl` removed. A `.gz` already there (a compression cut short after
    its rename) is kept as it is."""
    gz = path.with_name(path.name + ".gz")
    if not gz.exists():
        data = Path(path).read_bytes()
        good = parse(data, check=check_line).good_bytes if data else 0
        body = data[:good]
        if body and not body.endswith(b"\n"):
            body += b"\n"
        tmp = gz.with_name(gz.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(gzip.compress(body, mtime=0))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, gz)
        _fsync_dir(path.parent)
    path.unlink()
    return gz


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class HistoryWriter:
    """The monitor's appender (sole writer of the folder). `append` per poll."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.day: str | None = None  # the open day
        self._fd: int | None = None
        self._end = 0  # bytes in the open file
        self._unended = False  # its last line lacks its newline
        self.last: dict[str, tuple] = {}  # key -> state of its last line in the open day
        self.lines = 0  # appended by this process
        self.repairs = 0  # torn tails cut off

    def _open(self, day: str) -> None:
        """Make `day` the open day: close the one before, compress every finished day, read
        the day's file (if any) for the last line per match, cut a torn tail."""
        self.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        for d in days(self.directory):
            if d.day < day and not d.closed:
                compress(d.path)
            elif d.day < day and d.path.with_suffix("").exists():  # .gz and a leftover .jsonl
                d.path.with_suffix("").unlink()
        path = self.directory / f"{day}.jsonl"
        if path.with_name(path.name + ".gz").exists():
            raise AppendError(0, f"{path}.gz: day {day} is closed (compressed) and is never "
                                 "written again; the clock went back?")
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            data = os.pread(fd, os.fstat(fd).st_size, 0)
            try:
                result = parse(data, check=check_line)
            except ValueError as e:
                raise BadFile(path, f"{e}; nothing is appended on top of it") from None
            if result.torn:
                os.ftruncate(fd, result.good_bytes)
                self.repairs += 1
        except BaseException:
            os.close(fd)
            raise
        self._fd, self.day, self._end = fd, day, result.good_bytes
        self._unended = result.unended
        self.last = {r["key"]: state_of(r) for r in result.records}

    def append(self, source: str, matches: list[dict], fetched_at: str) -> int:
        """Append the lines of one poll (every match whose state changed) with one write and
        one fsync; returns how many. AppendError (nothing kept) or BadFile on failure."""
        times = [m.get("seen_at") or fetched_at for m in matches]
        newest = max([day_of(t) for t in times] + [day_of(fetched_at)])
        if self.day is None or newest > self.day:
            self._open(newest)
        out, last = [], self.last
        for m, t in zip(matches, times):
            state = state_of(m)
            prev = last.get(m["key"])
            if prev == state:
                continue
            out.append(line_of(m, source, t, first=prev is None))
            last[m["key"]] = state
        if not out:
            return 0
        data = b"".join(orjson.dumps(r) + b"\n" for r in out)
        if self._unended:
            data = b"\n" + data
        try:
            append_bytes(self._fd, data, self._end, self.directory / f"{self.day}.jsonl")
        except AppendError:
            self.close()  # reopened on the next poll, its last lines read again from the file
            raise
        os.fsync(self._fd)
        self._end += len(data)
        self._unended = False
        self.lines += len(out)
        return len(out)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self.day, self.last = None, None, {}
