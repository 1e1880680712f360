"""core.timefmt: the one timestamp format of data files."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from pipeline.core.timefmt import iso, parse_iso


def test_iso_writes_utc_z_with_milliseconds_only_when_there_are_some():
    """Against the format spelled out with strftime: any instant, any offset, microseconds
    truncated to milliseconds (never rounded up into the next second)."""
    rng = random.Random(3)
    start = datetime(1970, 1, 1, tzinfo=timezone.utc)
    for _ in range(20_000):
        dt = start + timedelta(seconds=rng.randrange(0, 130 * 365 * 86400),
                               microseconds=rng.choice((0, 999, 999_999,
                                                        rng.randrange(1_000_000))))
        if rng.random() < 0.3:
            dt = dt.astimezone(timezone(timedelta(minutes=15 * rng.randrange(-48, 57))))
        u = dt.astimezone(timezone.utc)
        want = u.strftime("%Y-%m-%dT%H:%M:%S") + (f".{u.microsecond // 1000:03d}Z"
                                                   if u.microsecond else "Z")
        assert iso(dt) == want
    assert iso(datetime(2024, 10, 5, 14, 0, 0, 999_999, tzinfo=timezone.utc)) == \
        "2024-10-05T14:00:00.999Z"
    assert iso(datetime(2024, 10, 5, 14, 0, 0, 500, tzinfo=timezone.utc)) == \
        "2024-10-05T14:00:00.000Z"


def test_parse_iso_reads_back_what_iso_writes():
    dt = datetime(2024, 10, 5, 14, 0, 0, 123_000, tzinfo=timezone.utc)
    assert parse_iso(iso(dt)) == dt
    assert parse_iso("2024-10-05T16:00:00+02:00") == datetime(2024, 10, 5, 14, tzinfo=timezone.utc)
