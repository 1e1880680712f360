"""The source registry (pipeline.sources.SOURCES): one list with the config's `source.kind`,
each source honest about what it declares; the monitor reads the declarations (page loads per
poll → the poll's deadline, clock speed 1, step clock, browser) and refuses a source that lacks
what it declares, naming it."""
from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import get_args

import pytest

from pipeline.core import clock as clockmod
from pipeline.core.adapters import AdapterError
from pipeline.core.config import Config
from pipeline.core.files import MARKETS
from pipeline.core.log import Logger
from pipeline.core.paths import Home
from pipeline.programs.monitor.program import Monitor, make_source
from pipeline.sources import SOURCES, Capabilities, check_source, source_class
from tests.kit.contracts import FOOTBALL_DATA

CONFIG_KINDS = set(get_args(Config.model_fields["source"].annotation.model_fields["kind"]
                            .annotation))


def test_the_registry_names_every_source_kind_the_config_allows_and_nothing_else():
    assert set(SOURCES) == CONFIG_KINDS == {"sandbox", "hkjc", "replay"}
    for name in SOURCES:
        cls = source_class(name)  # imported and checked: it has what it declares
        assert cls.kind == name  # written into odds-data `source`
        assert set(cls.capabilities.markets) <= set(MARKETS) and cls.capabilities.results
    with pytest.raises(AdapterError, match="no source named 'betfair'; the registry has "
                                           "'sandbox', 'hkjc', 'replay'"):
        source_class("betfair")


def test_what_each_source_declares():
    caps = {name: source_class(name).capabilities for name in SOURCES}
    assert [n for n, c in caps.items() if c.browser] == ["sandbox", "hkjc"]
    assert [n for n, c in caps.items() if c.steps] == ["replay"]
    assert [n for n, c in caps.items() if c.real_time] == ["hkjc"]
    assert {n: c.timeouts_per_poll for n, c in caps.items()} == {"sandbox": 2, "hkjc": 5,
                                                                  "replay": 2}


class Fake:
    kind, url = "fake", None

    def __init__(self, capabilities: Capabilities):
        self.capabilities = capabilities

    def fetch(self, seen_at):
        return [], []


def rt(timeout_s: float = 5):
    health = SimpleNamespace(counters={}, info={}, incr=lambda n: None)
    return SimpleNamespace(health=health, log=Logger("monitor"), stopping=threading.Event(),
                           config=SimpleNamespace(source=SimpleNamespace(timeout_s=timeout_s)))


@pytest.mark.parametrize("pages, deadline", [(2, 12), (5, 27)])
def test_the_polls_deadline_is_the_declared_page_loads(pages, deadline):
    monitor = Monitor(rt(timeout_s=5), Fake(Capabilities(timeouts_per_poll=pages)), None)
    assert monitor.deadline_s == deadline  # each page load up to timeout_s, plus 2 s


@pytest.mark.parametrize("caps, message", [
    (Capabilities(steps=True), "source Fake declares steps but has no next_change() method"),
    (Capabilities(markets=frozenset({"1X2", "BTTS"})), "source Fake declares markets ['BTTS'], "
                                                       "not among 1X2, AH, OU"),
    (Capabilities(timeouts_per_poll=0), "source Fake declares timeouts_per_poll 0"),
])
def test_a_source_lacking_what_it_declares_is_refused(caps, message):
    with pytest.raises(AdapterError) as refused:
        Monitor(rt(), Fake(caps), None)
    assert str(refused.value).startswith(message)
    with pytest.raises(AdapterError, match="source Fake declares no capabilities"):
        check_source(Fake.__new__(Fake))


def test_a_real_time_source_needs_clock_speed_1(tmp_path):
    home = Home(tmp_path / "home").ensure()
    clockmod.anchor(home.clock, start=clockmod.real_now(), speed=60)
    run = SimpleNamespace(home=home, clock=clockmod.load_clock(home.clock),
                          config=Config.model_validate({"source": {"kind": "hkjc"}}))
    with pytest.raises(ValueError, match="source.kind 'hkjc' reads the real site in real time: "
                                         "it needs clock.speed 1, the clock runs at 60"):
        make_source(run, None)
    run.config = Config.model_validate({"source": {"kind": "replay", "replay": {
        "files": [str(FOOTBALL_DATA / "E0_2019-20.csv")]}}})
    assert make_source(run, None).kind == "replay"  # not real time: any speed
