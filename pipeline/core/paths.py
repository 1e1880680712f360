"""Where a home's files live (DESIGN: runtime home). One place names every path."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def from_env(cls, override: str | os.PathLike | None = None) -> "Home":
        raw = override or os.environ.get("BETPIPE_HOME") or REPO
        return cls(Path(raw).resolve())

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def system_config(self) -> Path:
        return self.config_dir / "system-config.json"

    @property
    def odds(self) -> Path:
        return self.data / "odds-data.json"

    @property
    def decisions(self) -> Path:
        return self.data / "decisions.json"

    @property
    def probabilities(self) -> Path:
        return self.data / "probabilities.json"

    @property
    def ledger(self) -> Path:
        return self.data / "bet-record.jsonl"

    @property
    def results(self) -> Path:
        return self.data / "results.json"

    @property
    def clock(self) -> Path:
        return self.data / "clock.json"

    @property
    def audit(self) -> Path:
        return self.data / "audit.jsonl"

    @property
    def notify_state(self) -> Path:
        return self.data / "notify.json"

    @property
    def health_dir(self) -> Path:
        return self.data / "health"

    def health(self, program: str) -> Path:
        return self.health_dir / f"{program}.json"

    @property
    def sandbox_dir(self) -> Path:
        return self.data / "sandbox"

    @property
    def logs(self) -> Path:
        return self.data / "logs"

    def profile_dir(self, program: str) -> Path:
        """An isolated browser profile per program (NOTES: orphan clean-up by --user-data-dir)."""
        return self.data / "browser" / program

    @property
    def socket(self) -> Path:
        """supervisord's unix socket: short, outside the home (108-byte limit)."""
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
        return Path("/tmp") / f"betpipe-{digest}.sock"

    def resolve(self, value: str | os.PathLike) -> Path:
        """A config path: relative paths resolve against the home."""
        p = Path(value)
        return p if p.is_absolute() else self.root / p

    def ensure(self) -> "Home":
        for d in (self.config_dir, self.data, self.health_dir, self.logs, self.sandbox_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self


def football_data_dir(home: Home, configured: str | None = None) -> Path:
    """The sandbox's CSVs: config `sandbox.data` (relative to the home), else ../shared/data
    beside the repository, else what `betpipe data fetch` brought into the home."""
    if configured:
        return home.resolve(configured)
    shared = REPO.parent / "shared" / "data" / "football-data"
    return shared if shared.is_dir() else home.data / "football-data"
