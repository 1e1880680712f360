"""The ledger's events as typed, immutable classes (DESIGN: files → bet-record.jsonl; contract
contracts/bet-record-event.schema.json).

One class per event type; `EVENT_TYPES` is derived from them (the schema's `type` enum is tested
against it). Events become dicts only at the ledger boundary (core/ledger.py): `to_dict` when an
event is appended, `from_dict` when a line is read. A field a writer did not give is `ABSENT` and
is not written (None is written as null), so `from_dict(d).to_dict() == d` for every line, key
order included but for `extra`: keys this code does not know (a newer writer's) are kept there and
written back after the known ones. A line of a type this code does not know reads as an `Unknown`
event that keeps the whole line; the Book and the other readers pass it by.

A new event type is one class here: `@event("TYPE")` over a class body that lists its fields in
the order they are written (annotations; a default for the optional ones, ABSENT otherwise) and
`REQUIRED`, the keys a line must carry (a line without one is no event: reported once and
skipped, as every reader skips such lines). The decorator makes it an immutable named tuple of
the base fields (seq, ts, schema_version, session, extra) and the body's: built about as fast as
a dict, which the backtest's fold of ~250,000 events needs (a frozen dataclass costs several
times more); equal only to an event of the same class.
"""
from __future__ import annotations

from collections import namedtuple
from functools import partial
from typing import Any, Callable, Mapping

from pipeline.core.errors import NOT_FOUND, UNREACHABLE, BetpipeError, never_reached


class _Absent:
    """A field the line (or its writer) does not carry: falsy, never written."""
    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "ABSENT"

    def __reduce__(self):
        return "ABSENT"


ABSENT: Any = _Absent()
_BASE = ("seq", "ts", "schema_version", "session", "extra")
_BASE_DEFAULTS = (0, ABSENT, ABSENT, ABSENT, None)


class BadEvent(BetpipeError, ValueError):
    """A body that is no ledger event (appending it is refused)."""


class Event:
    """What every event is: its first fields are `seq` (0 until the ledger stamps it), `ts`,
    `schema_version`, `session` and `extra` (the line's keys this code does not know)."""
    __slots__ = ()
    TYPE = ""
    REQUIRED: tuple[str, ...] = ()  # the keys a line must carry
    KEYS: dict[str, str] = {}  # field -> its key in the line, where they differ

    @property
    def kind(self) -> str:
        """The ledger `type` of the event."""
        return self.TYPE

    def __eq__(self, other):
        return type(self) is type(other) and tuple.__eq__(self, other)

    def __ne__(self, other):
        return not self == other

    __hash__ = tuple.__hash__

    def to_dict(self) -> dict:
        """The line as written: seq, ts, schema_version, type, session, the fields, extra."""
        out: dict = {}
        if self.seq:
            out["seq"] = self.seq
        if self.ts is not ABSENT:
            out["ts"] = self.ts
        if self.schema_version is not ABSENT:
            out["schema_version"] = self.schema_version
        out["type"] = self.TYPE
        if self.session is not ABSENT:
            out["session"] = self.session
        for i, key in _BODY[type(self)]:
            v = self[i]
            if v is not ABSENT:
                out[key] = v
        if self.extra:
            out.update(self.extra)
        return out


CLASSES: dict[str, type] = {}  # type -> class, in the order of the contract
_BODY: dict[type, tuple[tuple[int, str], ...]] = {}  # class -> (index, key) after session
_KEYS: dict[type, dict[str, str]] = {}  # class -> key -> field (every field but extra)
_SPEC = {"__dict__", "__weakref__", "__annotations__"}


def _build(spec: type, type_name: str = "") -> type:
    """The event class of a class body: a named tuple of the base fields and the body's."""
    names = list(spec.__dict__.get("__annotations__", {}))
    fields = namedtuple(spec.__name__ + "Fields", _BASE + tuple(names),
                        defaults=_BASE_DEFAULTS + tuple(spec.__dict__.get(n, ABSENT)
                                                        for n in names))
    ns = {k: v for k, v in spec.__dict__.items() if k not in _SPEC and k not in names}
    ns["__slots__"] = ()
    cls = type(spec.__name__, (Event, fields), ns)
    cls.TYPE = type_name
    keys = cls.KEYS
    _BODY[cls] = tuple((len(_BASE) + i, keys.get(n, n)) for i, n in enumerate(names))
    _KEYS[cls] = {**{k: k for k in _BASE if k != "extra"}, **{keys.get(n, n): n for n in names}}
    return cls


def event(type_name: str):
    """Make a class body an event class, registered under its ledger `type`."""
    def register(spec: type) -> type:
        cls = CLASSES[type_name] = _build(spec, type_name)
        return cls
    return register


@event("BET_INTENDED")
class BetIntended:
    """Write-ahead, before the bookmaker is called."""
    REQUIRED = ("session", "decision_id", "client_ref", "attempt", "match_key", "selection",
                "odds", "stake")
    decision_id: str
    client_ref: str
    attempt: int
    match_key: str
    market: str  # 1X2 | AH | OU
    selection: str
    odds: float
    min_odds: float
    stake: float
    mode: str  # paper | live (paper when absent)
    line: float  # AH, OU only


@event("BET_PLACED")
class BetPlaced:
    REQUIRED = ("session", "decision_id", "client_ref", "bet_ref", "odds", "stake")
    decision_id: str
    client_ref: str
    bet_ref: str
    odds: float  # taken
    stake: float
    match_key: str
    market: str
    selection: str
    line: float  # AH, OU only
    placed_at: str | None


@event("BET_FAILED")
class BetFailed:
    """The bookmaker certainly did not take the bet."""
    REQUIRED = ("session", "decision_id")
    decision_id: str
    client_ref: str
    reason: str
    retryable: bool  # False when absent

    @property
    def never_reached(self) -> bool:
        """The attempt never reached the bookmaker (core.errors.NEVER_REACHED)."""
        return never_reached(self.reason)

    @property
    def unreachable(self) -> bool:
        return str(self.reason or "").startswith(UNREACHABLE)

    @property
    def not_found(self) -> bool:
        return str(self.reason or "").startswith(NOT_FOUND)


@event("BET_REFUSED")
class BetRefused:
    """A risk control refused the decision."""
    REQUIRED = ("session", "decision_id", "control", "reason")
    decision_id: str
    control: str
    reason: str


@event("BET_SETTLED")
class BetSettled:
    REQUIRED = ("session", "decision_id", "bet_ref", "outcome", "payout", "profit")
    decision_id: str
    bet_ref: str
    client_ref: str
    match_key: str
    market: str
    selection: str
    odds: float
    stake: float
    outcome: str  # won | half_won | void | half_lost | lost
    payout: float
    profit: float
    status: str  # the match's, when settled
    result: dict | None  # {"home_goals", "away_goals"}, None for a void match
    line: float  # AH, OU only
    source: str  # track | manual


@event("TARGET_REACHED")
class TargetReached:
    """A ladder cycle ended on a win whose return reached the target."""
    REQUIRED = ("session",)
    KEYS = {"returned": "return"}
    decision_id: str
    bet_ref: str | None
    cycle: int
    returned: float
    target: float


@event("SESSION_HALTED")
class SessionHalted:
    REQUIRED = ("session", "reason")
    reason: str
    detail: str


@event("SESSION_RESET")
class SessionReset:
    REQUIRED = ("session",)


@event("CHECKPOINT")
class Checkpoint:
    """The ledger's events before it were archived (core.archive; `archive` names the file):
    what they leave of each session (`sessions`) and of all of them (`total`), which the Book
    folds in front of the events kept (core.checkpoint.merge)."""
    REQUIRED = ("archive", "sessions", "total")
    last_seq: int
    before: str
    cut_seq: int
    archive: str
    archived: int
    kept: int
    sessions: dict
    total: dict


class Unknown:
    """A line of a type this code does not know: kept whole (`line`), passed by."""
    line: Mapping[str, Any] | None = None

    @property
    def kind(self) -> str:
        return str((self.line or {}).get("type"))

    def to_dict(self) -> dict:
        return dict(self.line or {})


Unknown = _build(Unknown)
EVENT_TYPES: tuple[str, ...] = tuple(CLASSES)


def stamp(ev: Event, seq: int, ts: str) -> Event:
    """`ev` with the seq and ts the ledger would give it (for a fold without a file: the
    backtest), made as cheaply as a tuple is."""
    return _tuple_new(type(ev), (seq, ts, *ev[2:]))


_tuple_new = tuple.__new__


def maker(cls: type) -> Callable[[tuple], Event]:
    """A builder of `cls` from a tuple of all its values in field order (seq, ts,
    schema_version, session, extra, then the class body's): for the backtest's hot path, which
    makes an event per bet and per settlement; `cls(field=...)` everywhere else."""
    return partial(_tuple_new, cls)


def class_of(kind: object) -> type | None:
    """The class of a line's `type` (as the Book always did: any spelling of a known type)."""
    cls = CLASSES.get(kind) if type(kind) is str else None
    if cls is None and kind is not None:
        cls = CLASSES.get(str(kind).upper())
    return cls


def missing(rec: dict) -> str | None:
    """The first key a line of a known type must carry and lacks (None: none lacks)."""
    cls = class_of(rec.get("type"))
    if cls is None:
        return None
    for name in cls.REQUIRED:
        if name not in rec:
            return name
    return None


def from_dict(rec: Mapping[str, Any]) -> Event:
    """The event of one ledger line (or a body to append). Unknown type: `Unknown`. A known type
    lacking a required key: BadEvent naming it (the ledger's readers skip such lines)."""
    cls = class_of(rec.get("type"))
    if cls is None:
        return Unknown(seq=rec.get("seq", 0), ts=rec.get("ts", ABSENT),
                       session=rec.get("session", ABSENT), line=dict(rec))
    for name in cls.REQUIRED:
        if name not in rec:
            raise BadEvent(f"{cls.TYPE} without {name}", field=name)
    keys = _KEYS[cls]
    kw: dict = {}
    extra = None
    for k, v in rec.items():
        attr = keys.get(k)
        if attr is not None:
            kw[attr] = v
        elif k != "type":
            if extra is None:
                extra = {}
            extra[k] = v
    if extra:
        kw["extra"] = extra
    return cls(**kw)


def from_dicts(recs) -> list[Event]:
    return [from_dict(r) for r in recs]
