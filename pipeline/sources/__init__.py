"""Where odds and results come from: the `Source` protocol, the `Capabilities` each source
class declares, and the registry `SOURCES` (config `source.kind` -> class).

The monitor builds the source of `source.kind` with `open(home, config, browser, tables)` and
calls `fetch(seen_at)` every poll: (odds-data matches, problems), or an exception — the last good
snapshot then stands. What a source needs and gives it declares in `capabilities` (checked when
it is built: `source_class`, `check_source`; the monitor reads it and never probes):
- `browser`: it reads through a browser page (the monitor launches one, guarded per poll);
- `timeouts_per_poll`: page loads a poll may wait for, each up to `source.timeout_s` — the
  poll's deadline;
- `real_time`: it reads a real site as it is now, so the clock must run at speed 1;
- `steps`: it can move a step clock itself: `next_change(after, edges_s)` (clock.mode "step");
- `markets` it offers (of core.files.MARKETS) and whether its matches carry `results`
  (finished matches with scores, which track settles bets from).
Sources: `sandbox` (sandbox.py, the sandbox bookmaker's odds page), `hkjc` (hkjc_site.py) and
`replay` (replay.py: football-data CSVs on the clock, no browser).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pipeline.core.adapters import AdapterError, at_least_one, check, label, registered
from pipeline.core.files import MARKETS

# config `source.kind` -> the source's class (tests/sources/test_registry.py: every kind the
# config allows is here, and each class's `kind` is its name)
SOURCES = {
    "sandbox": "pipeline.sources.sandbox:SandboxSource",
    "hkjc": "pipeline.sources.hkjc_site:HkjcSource",
    "replay": "pipeline.sources.replay:ReplaySource",
}
KIND = "source"


@dataclass(frozen=True)
class Capabilities:
    """What a source needs and offers (see the module doc)."""
    markets: frozenset[str] = frozenset({"1X2"})
    results: bool = False
    browser: bool = True
    timeouts_per_poll: int = 2
    real_time: bool = False
    steps: bool = False


ATTRIBUTES, METHODS = ("kind", "url"), ("fetch",)
NEEDS = {"steps": ("next_change",)}
BUILDERS = ("open",)


class Source(Protocol):
    kind: str  # its name in SOURCES: written into odds-data `source`
    url: str | None  # what it reads (logged at start); None: no site
    capabilities: Capabilities

    def fetch(self, seen_at: str) -> tuple[list[dict], list[str]]:
        """odds-data matches seen at `seen_at`, and the problems of rows left out; raises when
        it cannot give a usable snapshot now."""
        ...

    # by capability — steps: next_change(after: datetime, edges_s) -> datetime | None
    # building (a class method, checked by `source_class`):
    # open(home, config, browser, tables) -> Source (ValueError: the config does not allow it)


def check_source(source, name: str | None = None):
    """`source` (class or instance) when it has what the protocol and its declared capabilities
    need; else AdapterError naming it and the missing member."""
    check(KIND, source, Capabilities, ATTRIBUTES, METHODS, NEEDS, name)
    caps = source.capabilities
    unknown = sorted(set(caps.markets) - set(MARKETS))
    if unknown:
        raise AdapterError(f"{label(KIND, source, name)} declares markets {unknown}, not among "
                           f"{', '.join(MARKETS)}")
    at_least_one(KIND, source, "timeouts_per_poll", "page loads", name)
    return source


def source_class(name: str) -> type:
    """The source class registered for config `source.kind` `name`, checked (`open` too)."""
    return registered(KIND, SOURCES, name, check_source, Capabilities, BUILDERS)
