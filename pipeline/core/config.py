"""system-config.json: frozen, validated models that reject unknown keys (DESIGN: sessions).

`load_config` turns a file into a `Config` or raises `ConfigError` naming the file, the JSON path
and the reason. `ConfigHolder` is the hot reload: a bad edit keeps the last good config running.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import orjson
from pydantic import (BeforeValidator, Field, ValidationError, field_validator,
                      model_validator)

from pipeline.core.errors import BetpipeError
from pipeline.core.filebus import BadFile, read_capped
from pipeline.core.configmodel import StrictModel as _Model
# the staking plans, one class each (core/plans.py), as config.Flat, config.Staking, …
from pipeline.core.plans import (PLANS, Fibonacci, Flat, Kelly, Ladder,  # noqa: F401
                                 Martingale, Percent, Staking)
# a session (sessions[]: its rule, bounds, staking plan, limits), core/sessionconfig.py
from pipeline.core.sessionconfig import (MARKET_SELECTIONS, ImpliedMethod,  # noqa: F401
                                         Limits, LineBounds, Market, OddsBounds,
                                         Probability, Review, Selection, Session, Window)

MAX_CONFIG_BYTES = 4 * 2**20  # a config file bigger than this is refused unread


def _iso_text(value):
    if isinstance(value, str | datetime):
        return value
    raise ValueError("must be an ISO 8601 date and time text, e.g. \"2019-08-09T18:30:00Z\"")


# an instant written as text (strict mode alone would take only datetime objects)
IsoTime = Annotated[datetime, BeforeValidator(_iso_text), Field(strict=False)]


class ClockConfig(_Model):
    speed: float = Field(default=1.0, gt=0)
    start: IsoTime | None = None
    mode: Literal["anchored", "step"] = "anchored"
    # step mode: real seconds the replay waits for decide, execute and track before it advances
    step_deadline_s: float = Field(default=60, gt=0)


class HkjcFullTime(_Model):
    """Which `results[]` entry of a matchResult answer is the full-time score. HKJC documents
    none; (5, 1) is what public integrations in production read (README: HKJC results)."""
    stage_id: int
    result_type: int


class HkjcConfig(_Model):
    odds_url: str = "https://bet.hkjc.com/en/football/home"
    results_url: str = "https://bet.hkjc.com/en/football/results"
    graphql_url: str = "https://info.cld.hkjc.com/graphql/base/"
    results_every_s: float = Field(default=900, gt=0)  # results page while a result is due
    # null: every results answer is refused; an answer without this entry is refused anyway
    fulltime: HkjcFullTime | None = HkjcFullTime(stage_id=5, result_type=1)


class ReplayConfig(_Model):
    files: list[str] | None = None  # football-data CSVs (relative to the home); else `folder`
    folder: str | None = None  # default: the sandbox's data folder
    odds: Literal["sandbox", "b365", "avg", "max", "pinnacle"] = "sandbox"  # opening->closing
    until: IsoTime | None = None  # step mode: the clock stops advancing here


class SourceConfig(_Model):
    kind: Literal["sandbox", "hkjc", "replay"] = "sandbox"
    url: str | None = None
    interval_s: float = Field(default=30, gt=0)
    timeout_s: float = Field(default=15, gt=0)  # real seconds: navigation, answers, page reads
    hkjc: HkjcConfig = HkjcConfig()
    replay: ReplayConfig = ReplayConfig()


class SandboxConfig(_Model):
    port: int = Field(default=8700, ge=1, le=65535)
    data: str | None = None  # folder of football-data CSVs; default ../shared/data/football-data
    # realism (DESIGN: the sandbox bookmaker); read at start and on every config change
    suspend_before_min: float = Field(default=2, ge=0)  # markets close this long before kickoff
    liquidity: float = Field(default=10000, gt=0)  # depth of each outcome's constant-product pool
    max_stake: float = Field(default=1000, gt=0)  # a bigger stake is refused: over_limit
    postponed: list[str] = []  # fixture ids ("E0_2019-20.csv:7") or match keys: bets void
    postponed_rate: float = Field(default=0, ge=0, le=1)  # and this share of all, picked by seed
    postponed_seed: int = 0
    postponed_notice_min: float = Field(default=120, ge=0)  # announced this long before kickoff


class DashboardConfig(_Model):
    port: int = Field(default=8800, ge=1, le=65535)
    refresh_s: float = Field(default=2.0, ge=0.2, le=3600)  # real seconds between page refreshes


NotifyEvent = Literal["placed", "settled", "halted", "program", "overdue"]


class NotifyConfig(_Model):
    """Chat notifications (programs/notify). The webhook URL comes from $BETPIPE_NOTIFY_URL, else
    `url`; Telegram's bot token only from $BETPIPE_TELEGRAM_TOKEN (`url` is then the API base)."""
    kind: Literal["discord", "telegram"] = "discord"
    url: str | None = None
    chat_id: str | None = None  # Telegram's chat; else $BETPIPE_TELEGRAM_CHAT
    events: list[NotifyEvent] = ["placed", "settled", "halted", "program", "overdue"]
    per_minute: float = Field(default=20, gt=0, le=600)  # messages, after a burst of `burst`
    burst: int = Field(default=5, ge=1, le=100)
    program_grace_s: float = Field(default=10, ge=0)  # real s a program is bad before an alert


class ExecuteConfig(_Model):
    max_concurrent: int = Field(default=1, ge=1, le=16)  # live mode: browser pages placing at once
    url: str | None = None  # live mode: the bookmaker's site (default: the sandbox, sandbox.port)
    timeout_s: float = Field(default=15, gt=0)  # live: real seconds before an outcome is unknown
    # backoff after a retryable BET_FAILED, in SIMULATED seconds (execute/backoff.py): base ×
    # 2^(n-1) after the n-th, at most retry_max_s; an unreachable bookmaker is probed every base
    retry_base_s: float = Field(default=5, gt=0)
    retry_max_s: float = Field(default=300, gt=0)

    @model_validator(mode="after")
    def _retry_order(self) -> "ExecuteConfig":
        if self.retry_max_s < self.retry_base_s:
            raise ValueError(f"retry_max_s {self.retry_max_s:g} < retry_base_s "
                             f"{self.retry_base_s:g}")
        return self


class BrowserConfig(_Model):
    executable: str | None = None  # else $BETPIPE_CHROMIUM, Playwright's own, the system's


class ModelConfig(_Model):
    """The `model` program (issue 18; DESIGN: "Probabilities, models and value"): a Dixon–Coles
    fit, refitted at most once per `refit_h` simulated hours, with time decay `xi` per day, on
    the results finished before now of the CSVs in `data` (relative to the home; default the
    sandbox's folder) and the results the monitor recorded. Disabled: the program idles."""
    enabled: bool = False
    refit_h: float = Field(default=12, gt=0)  # < max_probability_age_h's default 24
    xi: float = Field(default=0.0018, ge=0, le=1)
    data: str | None = None


class Config(_Model):
    mode: Literal["paper", "live"] = "paper"
    log_level: Literal["debug", "info", "warning", "error"] = "info"  # lower lines are dropped
    max_odds_age_s: float = Field(default=90, gt=0)
    halt: bool = False
    # an open bet whose match has no result this many simulated hours after kickoff is overdue
    settle_overdue_h: float = Field(default=12, gt=0)
    clock: ClockConfig = ClockConfig()
    source: SourceConfig = SourceConfig()
    sandbox: SandboxConfig = SandboxConfig()
    dashboard: DashboardConfig = DashboardConfig()
    notify: NotifyConfig = NotifyConfig()
    execute: ExecuteConfig = ExecuteConfig()
    browser: BrowserConfig = BrowserConfig()
    model: ModelConfig = ModelConfig()  # the model program (issue 18)
    sessions: list[Session] = []

    @field_validator("sessions")
    @classmethod
    def _unique_ids(cls, sessions: list[Session]) -> list[Session]:
        seen = set()
        for s in sessions:
            if s.id in seen:
                raise ValueError(f"session id {s.id!r} appears twice")
            seen.add(s.id)
        return sessions

    @property
    def source_url(self) -> str:
        return self.source.url or f"http://127.0.0.1:{self.sandbox.port}"

    def session(self, session_id: str) -> Session | None:
        return next((s for s in self.sessions if s.id == session_id), None)


class ConfigError(BetpipeError, ValueError):
    """A config that cannot be used: `file: $.json.path: reason`."""

    def __init__(self, file: Path, json_path: str, reason: str):
        super().__init__(f"{file}: {json_path}: {reason}", file=file, field=json_path,
                         reason=reason)
        self.file, self.json_path, self.reason = str(file), json_path, reason


def _json_path(loc: tuple) -> str:
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def parse_config(data: bytes, file: Path) -> Config:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise ConfigError(file, "$", f"not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(file, "$", "the top level must be an object")
    # "$schema" names the JSON Schema for editors (betpipe config schema); betpipe ignores it
    if isinstance(doc.get("$schema"), str):
        doc = {k: v for k, v in doc.items() if k != "$schema"}
    try:
        return Config.model_validate(doc)
    except ValidationError as e:
        loc, msg = _staking_error(e.errors()[0])
        more = f" (and {len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
        raise ConfigError(file, _json_path(loc), msg + more) from None


def _staking_error(err: dict) -> tuple[tuple, str]:
    """(JSON location, reason) of a validation error, written as before staking plans were one
    class each: the plan pydantic tells classes apart by is left out of the location, a missing
    field reads "plan 'kelly' needs 'fraction'", an unknown plan names the plans."""
    loc, msg = tuple(err["loc"]), err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    for i in range(1, len(loc)):
        if loc[i - 1] == "staking" and loc[i] in PLANS:
            plan, loc = loc[i], loc[:i] + loc[i + 1:]
            if err["type"] == "missing" and len(loc) == i + 1:
                return loc[:i], f"plan {plan!r} needs {loc[i]!r}"
            break
    if err["type"] == "union_tag_invalid" and loc and loc[-1] == "staking":
        return loc + ("plan",), "Input should be " + ", ".join(f"{p!r}" for p in PLANS[:-1]) \
            + f" or {PLANS[-1]!r}"
    return loc, msg


def read_config_bytes(path: Path) -> bytes:
    """The config file's bytes; ConfigError when it is missing or too big to read."""
    try:
        return read_capped(Path(path), MAX_CONFIG_BYTES)
    except FileNotFoundError:
        raise ConfigError(path, "$", "file not found") from None
    except BadFile as e:  # too big: never read whole
        raise ConfigError(path, "$", e.reason) from None


def load_config(path: Path) -> Config:
    return parse_config(read_config_bytes(path), Path(path))


class ConfigHolder:
    """The running config: reloaded on change; a bad edit keeps the last good one.

    `version` counts good configs loaded (decisions.json's config_version); `error` is the
    current file's problem, None once a good file is back.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.config: Config | None = None
        self.version = 0
        self.error: ConfigError | None = None
        self._last_bytes: bytes | None = None

    def reload(self) -> bool:
        """Read the file again; True when a new good config took effect."""
        try:
            data = read_config_bytes(self.path)
        except ConfigError as e:  # forget the last bytes: the same file back is news again
            self.error, self._last_bytes = e, None
            return False
        if data == self._last_bytes:
            return False
        self._last_bytes = data
        try:
            config = parse_config(data, self.path)
        except ConfigError as e:
            self.error = e
            return False
        self.error = None
        if config == self.config:
            return False
        self.config, self.version = config, self.version + 1
        return True


def default_config() -> dict:
    """The shipped demo (DESIGN: the shipped default config): sandbox, paper, speed 60."""
    return {
        "mode": "paper",
        "max_odds_age_s": 300,
        "halt": False,
        "clock": {"speed": 60, "start": "2019-08-09T18:30:00Z"},
        "source": {"kind": "sandbox", "interval_s": 30},
        "sandbox": {"port": 8700},
        "dashboard": {"port": 8800},
        "execute": {"max_concurrent": 1},
        "sessions": [
            {"id": "fav-week", "competitions": ["EPL"], "selection": "favourite",
             "odds": {"min": 1.05, "max": 3.0}, "window": {"from_minutes": 10080, "to_minutes": 0},
             "staking": {"plan": "flat", "stake": 10}, "bankroll": 1000,
             "limits": {"max_stake": 50, "max_open_bets": 10, "stop_loss": 300}},
            {"id": "dog-late", "selection": "underdog", "odds": {"min": 2.0, "max": 30},
             "window": {"from_minutes": 60, "to_minutes": 5},
             "staking": {"plan": "flat", "stake": 5}, "bankroll": 500,
             "limits": {"max_stake": 20, "max_open_bets": 5}},
        ],
    }
