"""The match-key rule odds-data.json and probabilities.json share (pipeline.core.files): every
entry an object with a key, no key twice; the first breach named by its JSON path."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.filebus import BadFile
from pipeline.core.files import check_odds, check_probabilities
from tests.kit.builders import match, odds_doc

ODDS = Path("odds-data.json")
PROBS = Path("probabilities.json")
MODEL = {"name": "dixon-coles", "fitted_at": "2024-10-05T12:00:00Z",
         "trained_until": "2024-10-05T12:00:00Z"}


def probabilities(*keys) -> dict:
    return {"model": MODEL, "matches": [
        {"key": k, "1X2": {"home": 0.5, "draw": 0.3, "away": 0.2}} for k in keys]}


KEYS = ["2024-25_A v B", "2024-25_C v D"]


@pytest.mark.parametrize("check, path, doc", [
    (check_odds, ODDS, odds_doc(*(match(k) for k in KEYS))),
    (check_probabilities, PROBS, probabilities(*KEYS))])
def test_a_key_twice_or_an_entry_without_one_is_refused_at_its_path(check, path, doc):
    assert check(doc, path) is doc
    twice = {**doc, "matches": doc["matches"] + [doc["matches"][0]]}
    with pytest.raises(BadFile) as e:
        check(twice, path)
    assert e.value.path == path
    assert e.value.reason == "$.matches[2].key: '2024-25_A v B' appears twice"
    for bad in ("not a match", {k: v for k, v in doc["matches"][1].items() if k != "key"}):
        keyless = {**doc, "matches": [doc["matches"][0], bad]}
        with pytest.raises(BadFile) as e:
            check(keyless, path)
        assert e.value.reason == "$.matches[1]: not an object with a key"


def test_a_probabilities_key_must_be_a_string():
    with pytest.raises(BadFile) as e:
        check_probabilities({**probabilities(*KEYS), "matches": [
            {"key": 7, "1X2": {"home": 0.5, "draw": 0.3, "away": 0.2}}]}, PROBS)
    assert e.value.reason == "$.matches[0]: not an object with a key"
