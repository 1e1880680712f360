"""football-data.co.uk CSVs rewritten for no-lookahead tests."""
from __future__ import annotations

import csv
from datetime import datetime, timedelta

from pipeline.core.matchkey import load_tables
from pipeline.history.football_data import parse_file


def perturbed_copy(src, dst, at: datetime) -> int:
    """dst = src with FTHG/FTAG/FTR of every match kicking off at or after at − 110 min
    rewritten (a 5-0 away win); returns how many rows changed."""
    tables = load_tables()
    late = {f.row for f in parse_file(src, tables) if f.kickoff + timedelta(minutes=110) > at}
    rows = list(csv.reader(src.read_text(encoding="utf-8-sig").splitlines()))
    head = rows[0]
    cols = [head.index(c) for c in ("FTHG", "FTAG", "FTR")]
    for i, row in enumerate(rows[1:]):
        if i in late:
            for c, v in zip(cols, ("0", "5", "A")):
                row[c] = v
    with open(dst, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return len(late)
