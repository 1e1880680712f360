"""UTC ISO-8601 with `Z`, the only timestamp format in data files."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache


def iso(dt: datetime) -> str:
    """2024-10-05T14:00:00Z, or with milliseconds when the instant has them."""
    dt = dt.astimezone(timezone.utc)  # isoformat: "...+00:00", milliseconds truncated
    if dt.microsecond:
        return dt.isoformat(timespec="milliseconds")[:-6] + "Z"
    return dt.isoformat()[:-6] + "Z"


def parse_iso(text: str) -> datetime:
    """Parse an ISO timestamp (Z or an offset) to an aware UTC datetime."""
    if not isinstance(text, str):
        raise ValueError(f"not a timestamp: {text!r}")
    return _parse(text)


@lru_cache(maxsize=8192)  # the same texts come back (a poll's seen_at, kickoffs, line times)
def _parse(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"timestamp without a zone: {text!r}")
    return dt.astimezone(timezone.utc)
