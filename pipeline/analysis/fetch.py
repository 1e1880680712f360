"""`betpipe data fetch`: football-data.co.uk CSVs in the site's URL layout
(`{base}/mmz4281/1516/E0.csv`), saved as `<Div>_<season>.csv` (E0_2015-16.csv).

Resumable: a file that is already there and parses with the project's parser is skipped; a
download goes to a hidden `.<name>.part` beside it and is renamed into place only once it is
complete (Content-Length) and parses, so a reader never sees half a file. A `.part` left by an
interrupted run is continued with an HTTP Range request (If-Range: the ETag or Last-Modified it
began with) where the server allows it and the file is still the size it was — the current
season's file grows every week — else it is downloaded again from the start.
"""
from __future__ import annotations

import os
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

import orjson

from pipeline.core.errors import BetpipeError
from pipeline.core.filebus import fsync_dir
from pipeline.core.matchkey import KeyTables, load_tables, season_of
from pipeline.history.football_data import FootballDataError, decode, parse_text

BASE_URL = "https://www.football-data.co.uk"
URL_ENV = "BETPIPE_DATA_URL"  # another base URL (a mirror; the tests' local server)
SANDBOX_LEAGUE, SANDBOX_SEASON = "E0", "2019-20"  # the demo's (DESIGN: shipped default config)
USER_AGENT = "betpipe-data-fetch/0.1 (+football-data.co.uk CSVs)"
CHUNK = 64 * 1024
_SEASON = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)$")

Progress = Callable[[str, int, int | None], None]  # (file name, bytes so far, total or None)


class FetchError(BetpipeError, ValueError):
    pass


def season_years(season: str) -> int:
    """'2015-16' -> 2015 (its first year); FetchError when it is not YYYY-YY of two years."""
    m = _SEASON.match(season.strip())
    if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        raise FetchError(f"season {season!r} is not like 2015-16")
    return int(m.group(1))


def season_name(first_year: int) -> str:
    return f"{first_year}-{(first_year + 1) % 100:02d}"


def parse_seasons(text: str) -> list[str]:
    """'2015-16..2024-25' (a range), '2019-20' or '2018-19,2019-20' -> the seasons in order."""
    out: list[str] = []
    for part in text.split(","):
        first, dots, last = part.strip().partition("..")
        a = season_years(first)
        b = season_years(last) if dots else a
        if b < a:
            raise FetchError(f"seasons {part.strip()!r}: the range runs backwards")
        out += [season_name(y) for y in range(a, b + 1) if season_name(y) not in out]
    return out


def season_code(season: str) -> str:
    """'2015-16' -> '1516', the folder of the site's URL layout."""
    y = season_years(season)
    return f"{y % 100:02d}{(y + 1) % 100:02d}"


def url_for(base: str, league: str, season: str) -> str:
    return f"{base.rstrip('/')}/mmz4281/{season_code(season)}/{league}.csv"


def file_name(league: str, season: str) -> str:
    return f"{league}_{season}.csv"


def parse_check(data: bytes, name: str, tables: KeyTables) -> int:
    """How many matches `data` holds as `name`; FetchError when it is not a CSV the project's
    parser reads (an HTML error page, a cut file) or holds no match."""
    try:
        n = len(parse_text(decode(data), name, tables))
    except (FootballDataError, ValueError) as e:
        raise FetchError(f"{name}: does not parse: {e}") from None
    if n == 0:
        raise FetchError(f"{name}: no matches in the file")
    return n


@dataclass(frozen=True)
class Fetched:
    name: str
    status: str            # skipped | downloaded | resumed | failed
    matches: int = 0
    bytes: int = 0
    error: str | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _meta(part: Path) -> Path:
    """Beside a .part: the URL, total size and validator (ETag / Last-Modified) it began with."""
    return part.with_name(part.name + ".json")


def _discard(part: Path) -> None:
    part.unlink(missing_ok=True)
    _meta(part).unlink(missing_ok=True)


def _resume_point(part: Path, url: str) -> tuple[int, dict | None]:
    """How many bytes of `part` a download may continue from (0: start again), and its meta."""
    try:
        meta, have = orjson.loads(_meta(part).read_bytes()), part.stat().st_size
    except (OSError, ValueError):
        return 0, None
    if meta.get("url") != url or not isinstance(meta.get("total"), int) or have > meta["total"]:
        return 0, None
    return have, meta


def _open(url: str, headers: dict, timeout: float):
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                      timeout=timeout)
    except urllib.error.HTTPError as e:
        raise FetchError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise FetchError(f"{url}: {getattr(e, 'reason', e)}") from None


def _download(url: str, part: Path, timeout: float, progress: Progress | None) -> bool:
    """Bytes of `url` into `part`, continuing what an earlier run left there when the server
    allows it and the file has not changed since (else from the start); True when it resumed.
    Raises FetchError for an error answer or one shorter than announced (the part stays)."""
    have, meta = _resume_point(part, url)
    if meta is not None and have == meta["total"]:
        return True  # the part is whole already
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
        if meta.get("validator"):
            headers["If-Range"] = meta["validator"]
    resp = _open(url, headers, timeout)
    with resp:
        resumed = bool(have) and resp.status == 206
        if resumed:
            m = _RANGE.match(resp.headers.get("Content-Range") or "")
            if not m or int(m.group(1)) != have or int(m.group(3)) != meta["total"]:
                resp.close()  # the file changed since the part began: start again
                _discard(part)
                return _download(url, part, timeout, progress)
            total = meta["total"]
        else:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            _discard(part)
            if total is not None:  # without a size a cut download cannot be continued
                _meta(part).write_bytes(orjson.dumps({
                    "url": url, "total": total,
                    "validator": resp.headers.get("ETag") or resp.headers.get("Last-Modified")}))
        got = have if resumed else 0
        with open(part, "ab" if resumed else "wb") as out:
            try:
                while chunk := resp.read(CHUNK):
                    out.write(chunk)
                    got += len(chunk)
                    if progress:
                        progress(part.name, got, total)
            except OSError as e:
                raise FetchError(f"{url}: the download broke off after {got} bytes ({e}); "
                                 f"run again to resume") from None
            finally:
                out.flush()
                os.fsync(out.fileno())
    if total is not None and got != total:
        raise FetchError(f"{url}: got {got} of {total} bytes; run again to resume")
    return resumed


def fetch_one(url: str, dest: Path, tables: KeyTables, *, force: bool = False,
              timeout: float = 60, progress: Progress | None = None) -> Fetched:
    """Bring `url` to the file `dest` unless it is already there and parses."""
    name = dest.name
    if dest.exists() and not force:
        try:
            return Fetched(name, "skipped", parse_check(dest.read_bytes(), name, tables),
                           dest.stat().st_size)
        except FetchError:
            pass  # a broken file: download it again
    part = dest.with_name(f".{name}.part")
    if force:
        _discard(part)
    try:
        resumed = _download(url, part, timeout, progress)
        data = part.read_bytes()
        n = parse_check(data, name, tables)
    except FetchError as e:
        if "does not parse" in str(e) or "no matches" in str(e):
            _discard(part)  # a wrong answer, not a cut one: nothing to resume
        return Fetched(name, "failed", error=str(e))
    os.replace(part, dest)
    _meta(part).unlink(missing_ok=True)
    fsync_dir(dest.parent)
    return Fetched(name, "resumed" if resumed else "downloaded", n, len(data))


def fetch(leagues: list[str], seasons: list[str], dest: Path, *, base_url: str = BASE_URL,
          force: bool = False, tables: KeyTables | None = None, timeout: float = 60,
          progress: Progress | None = None,
          on_file: Callable[[Fetched], None] | None = None) -> list[Fetched]:
    """Every league x season into `dest` (created); one `Fetched` per file, failures included."""
    tables = tables or load_tables()
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for league in leagues:
        if not re.fullmatch(r"[A-Z]{1,4}\d?", league):
            raise FetchError(f"league {league!r} is not a football-data Div code like E0 or SP1")
        for season in seasons:
            got = fetch_one(url_for(base_url, league, season), dest / file_name(league, season),
                            tables, force=force, timeout=timeout, progress=progress)
            out.append(got)
            if on_file:
                on_file(got)
    return out


def base_url() -> str:
    return os.environ.get(URL_ENV) or BASE_URL


def fetch_for_sandbox(folder: Path, clock_start: datetime | None) -> list[Fetched]:
    """What `scripts/start` does when the sandbox has no CSVs (`betpipe preflight --fetch`):
    the EPL season the clock starts in (the demo's 2019-20 without a clock.start), into the
    folder the sandbox reads. Says what it does on stderr; never raises for a failed download."""
    season = season_of(clock_start) if clock_start else SANDBOX_SEASON
    url = base_url()
    print(f"betpipe: no historical data in {folder}; fetching {SANDBOX_LEAGUE} {season} from "
          f"{url} (data: football-data.co.uk)", file=sys.stderr)
    try:
        done = fetch([SANDBOX_LEAGUE], [season], folder, base_url=url)
    except (FetchError, OSError) as e:
        print(f"betpipe: data fetch failed: {e}", file=sys.stderr)
        return []
    for got in done:
        print(f"betpipe: {got.name}: {got.status}" + (f" ({got.error})" if got.error else ""),
              file=sys.stderr)
    return done
