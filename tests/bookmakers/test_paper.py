"""The paper bookmaker prices an order from odds-data as it is on disk; a document another
reader already parsed from the same bytes is taken instead of parsing them again."""
from __future__ import annotations

from pipeline.bookmakers import Order
from pipeline.bookmakers.paper import PaperBookmaker
from pipeline.core.clock import FakeClock
from pipeline.core.filebus import atomic_write_json
from tests.kit.builders import KEY, at, match, odds_doc


def order(ref: str) -> Order:
    return Order(ref, "d", "s1", KEY, "1X2", "away", 2.1, 2.0, 10.0)


def test_paper_takes_odds_data_already_parsed_for_the_same_bytes_and_parses_other_bytes(home):
    atomic_write_json(home.odds, odds_doc(match(odds=(3.1, 3.4, 2.1))))
    first_bytes = home.odds.read_bytes()
    asked: list[bytes] = []
    parsed_elsewhere = odds_doc(match(odds=(3.1, 3.4, 2.5)))  # stands for execute's LastGood

    def known(data: bytes):
        asked.append(data)
        return parsed_elsewhere if data == first_bytes else None

    paper = PaperBookmaker(home, FakeClock(at(60)))
    paper.use_parsed(known)
    first = paper.place(order("a#1"))
    assert first.ok and first.odds == 2.5  # the known document, not the file parsed again
    assert asked == [first_bytes]
    atomic_write_json(home.odds, odds_doc(match(odds=(3.1, 3.4, 2.2)), version=2))
    second = paper.place(order("b#1"))
    assert second.ok and second.odds == 2.2  # bytes it does not know: read from the file
    assert asked == [first_bytes, home.odds.read_bytes()]


def test_paper_without_a_known_document_reads_the_file(home):
    atomic_write_json(home.odds, odds_doc(match(odds=(3.1, 3.4, 2.3))))
    placed = PaperBookmaker(home, FakeClock(at(60))).place(order("a#1"))
    assert placed.ok and placed.odds == 2.3
