"""Paper placements in batches (group commit): one fsync makes a batch's intents durable BEFORE
the bookmaker is called, the bookings share one, the outcomes one more; and the ledger says what
the one-at-a-time path says (same placements, same refusals)."""
from __future__ import annotations

import os
from collections import Counter

import pytest

from pipeline.bookmakers import Capabilities
from pipeline.bookmakers.paper import PaperBookmaker, record_path
from pipeline.core.clock import FakeClock
from pipeline.core.filebus import atomic_write_json
from pipeline.core.jsonl import parse
from pipeline.core.ledger import Ledger
from pipeline.core.paths import Home
from pipeline.programs.execute import engine
from pipeline.programs.execute.engine import Executor
from tests.kit.builders import at, config, decision, match, odds_doc
from tests.kit.programs import Quiet

KEYS = [f"2024-25_Team{i} v Other{i}" for i in range(150)]


class Serial:
    """The paper bookmaker without batched placement: the executor places one decision at a
    time."""
    capabilities, problem = Capabilities(), None

    def __init__(self, paper):
        self.paper, self.mode = paper, "paper"

    def place(self, order):
        return self.paper.place(order)

    def lookup(self, ref):
        return self.paper.lookup(ref)

    def close(self):
        pass


class Syncs:
    """Counts fsyncs per file and remembers, at each bookmaker call, what was durable then."""

    def __init__(self, monkeypatch):
        self.by_file: Counter = Counter()
        self.durable: dict[str, bytes] = {}  # path -> its bytes at its last fsync
        real = os.fsync

        def fsync(fd):
            path = os.readlink(f"/proc/self/fd/{fd}")
            real(fd)
            self.by_file[os.path.basename(path)] += 1
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    self.durable[path] = f.read()

        monkeypatch.setattr(os, "fsync", fsync)


def run(home: Home, keys, *, serial=False, cfg=None, syncs=None, seen=None):
    clock = FakeClock(at(60))
    doc = odds_doc(*[match(k) for k in keys])
    atomic_write_json(home.odds, doc)
    paper = PaperBookmaker(home, clock)
    bookmaker = Serial(paper) if serial else paper
    if seen is not None:
        many = paper.place_many

        def place_many(orders):  # what was on disk, durably, when the bookmaker was called
            intents = parse(syncs.durable.get(str(home.ledger), b"")).records
            seen.append(([o.client_ref for o in orders],
                         {e["client_ref"] for e in intents if e["type"] == "BET_INTENDED"}))
            return many(orders)

        paper.place_many = place_many
    ex = Executor(Ledger(home.ledger, clock), bookmaker, clock, Quiet("execute"))
    return ex.run_pass([decision(k) for k in keys], doc, cfg or config(bankroll=1e6))


def test_each_batch_is_durable_before_the_bookmaker_is_called(home, monkeypatch):
    syncs, seen = Syncs(monkeypatch), []
    counts = run(home, KEYS, syncs=syncs, seen=seen)
    assert counts["placed"] == len(KEYS)
    assert [len(refs) for refs, _ in seen] == [64, 64, 22]
    for refs, durable_intents in seen:
        assert set(refs) <= durable_intents  # write-ahead held for every order of the batch
    batches = -(-len(KEYS) // engine.BATCH)
    assert syncs.by_file["bet-record.jsonl"] <= 2 * batches + 1  # intents + outcomes per batch
    assert syncs.by_file["bets.jsonl"] == batches  # the bookings of a batch: one fsync
    assert parse(home.ledger.read_bytes()).records == parse(syncs.durable[str(home.ledger)]).records


@pytest.mark.parametrize("limits", [{"max_open_bets": 3}, {"max_bets": 2},
                                    {"max_exposure_session": 45}])
def test_batches_write_what_one_at_a_time_writes(tmp_path, limits):
    keys = KEYS[:8]
    homes = {how: Home(tmp_path / how).ensure() for how in ("batched", "serial")}
    for how, home in homes.items():
        for _ in range(2):  # and a second pass, as the next file event brings
            run(home, keys, serial=how == "serial", cfg=config(bankroll=1e6, limits=limits))

    def outcome(home):
        events = parse(home.ledger.read_bytes()).records
        return sorted((e["type"], e.get("decision_id", ""), e.get("control", ""),
                       e.get("reason", ""), e.get("client_ref", "")) for e in events)

    assert outcome(homes["batched"]) == outcome(homes["serial"])
    assert parse(record_path(homes["batched"]).read_bytes()).records == \
        parse(record_path(homes["serial"]).read_bytes()).records
