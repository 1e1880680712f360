"""Season-aware match keys (DESIGN: season-aware match keys). Every process imports this module.

`{season}_{Home} v {Away}` for league matches, `{season}_{CODE}_{Home} v {Away}` for anything
else (cups, and codes the competitions table does not know). Team names go through the aliases of
the repository's `config/teams.json` plus the home's own; tables are read once, at start.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

import orjson

from pipeline.core.paths import REPO, Home

_SPACES = re.compile(r"\s+")


def _norm(name: str) -> str:
    return _SPACES.sub(" ", name.strip()).casefold()


def season_of(kickoff: datetime, calendar_year: bool = False) -> str:
    """From the kickoff date in UTC: on or after 1 July of Y -> "Y-(Y+1 mod 100)"."""
    d = kickoff.astimezone(timezone.utc)
    if calendar_year:
        return f"{d.year}"
    start = d.year if d.month >= 7 else d.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


@dataclass(frozen=True)
class Competition:
    code: str
    name: str = ""
    kind: str = "cup"
    calendar_year: bool = False

    @property
    def is_league(self) -> bool:
        return self.kind == "league"


@dataclass(frozen=True)
class KeyTables:
    aliases: Mapping[str, str] = field(default_factory=dict)  # normalised alias -> canonical
    competitions: Mapping[str, Competition] = field(default_factory=dict)
    divisions: Mapping[str, str] = field(default_factory=dict)  # football-data Div -> code

    def team(self, name: str) -> str:
        """The canonical name; a name the aliases don't know is kept as the source wrote it."""
        cleaned = _SPACES.sub(" ", name.strip())
        return self.aliases.get(cleaned.casefold(), cleaned)

    def competition(self, code: str) -> Competition:
        return self.competitions.get(code) or Competition(code)

    def division(self, div: str) -> str:
        """A football-data Div code (E0) as a competition code (EPL); unknown ones kept."""
        return self.divisions.get(div.strip(), div.strip())

    def season(self, kickoff: datetime, competition: str) -> str:
        return season_of(kickoff, self.competition(competition).calendar_year)

    def key(self, home: str, away: str, *, kickoff: datetime, competition: str,
            season: str | None = None) -> str:
        season = season or self.season(kickoff, competition)
        teams = f"{self.team(home)} v {self.team(away)}"
        if self.competition(competition).is_league:
            return f"{season}_{teams}"
        return f"{season}_{competition}_{teams}"


def _load(path: Path) -> dict:
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except orjson.JSONDecodeError as e:
        raise ValueError(f"{path}: not JSON ({e})") from None


def load_tables(home: Home | None = None) -> KeyTables:
    """The repository's tables, with the home's `config/teams.json` aliases on top."""
    teams = dict(_load(REPO / "config" / "teams.json").get("aliases", {}))
    comps_doc = _load(REPO / "config" / "competitions.json")
    if home is not None and home.config_dir.resolve() != (REPO / "config").resolve():
        teams.update(_load(home.config_dir / "teams.json").get("aliases", {}))
    aliases = {_norm(k): v for k, v in teams.items()}
    comps = {code: Competition(code, c.get("name", ""), c.get("kind", "cup"),
                               bool(c.get("calendar_year", False)))
             for code, c in comps_doc.get("competitions", {}).items()}
    return KeyTables(aliases, comps, dict(comps_doc.get("divisions", {})))
