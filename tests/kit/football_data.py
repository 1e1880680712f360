"""football-data.co.uk CSVs read plainly (csv module, for figures worked out independently of
the code under test) and rewritten for no-lookahead tests."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from pipeline.core.matchkey import load_tables
from pipeline.history.football_data import parse_file
from tests.analysis import reference


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


def rows(path) -> list[dict]:
    """The CSV's rows that name a home team, as dicts (BOM dropped, bad bytes replaced)."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        return [r for r in csv.DictReader(fh) if r.get("HomeTeam")]


def price(cell):
    """A price cell as a float, None when empty, not a number or not above 1."""
    try:
        x = float(cell)
    except (TypeError, ValueError):
        return None
    return x if x > 1 else None


def halves(line: float) -> list[float]:
    """A handicap or totals line as its parts: a quarter line is two half lines."""
    return [line] if (line * 2) == int(line * 2) else [line - 0.25, line + 0.25]


def perturbed(src, dst, names, when) -> int:
    """Copies in folder `dst` of the files `names` of folder `src`, with 3 home goals added to
    each result whose kickoff `when` accepts (FTR following the new score); returns how many
    rows changed."""
    dst.mkdir(parents=True)
    changed = 0
    for name in names:
        text = (src / name).read_bytes().decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        head = [h.strip() for h in rows[0]]
        hg, ag, res = head.index("FTHG"), head.index("FTAG"), head.index("FTR")
        for cells, row in zip(rows[1:], reference.read_rows(src / name)):
            if when(reference.kickoff(row)):
                h, a = int(cells[hg]) + 3, int(cells[ag])
                cells[hg], cells[res] = str(h), "H" if h > a else "D" if h == a else "A"
                changed += 1
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        (dst / name).write_text(out.getvalue(), encoding="utf-8")
    return changed
