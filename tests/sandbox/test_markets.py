"""The sandbox's Asian handicap and over/under over real HTTP (DESIGN: markets, the sandbox):
prices on the price path from the CSV's own columns, a pool per side and line, `line_changed`
for a slip whose line is gone, and settlement by DESIGN's formula on /api/bets and the history
page. Expected figures are computed here from the raw CSV cells, not by the project's code."""
from __future__ import annotations

import csv
import re
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from pipeline.core.clock import FakeClock
from pipeline.core.matchkey import load_tables
from pipeline.history.football_data import parse_file
from pipeline.programs.bookmaker.market import Market
from pipeline.programs.bookmaker.program import bets_path
from tests.kit.contracts import FOOTBALL_DATA
from tests.kit.bookmaker import LiveServer, login
from tests.kit.bookmaker import OddsPage

CSV = FOOTBALL_DATA / "E0_2019-20.csv"
# Newcastle v Arsenal, 11/08/2019 14:00 UK = 13:00Z; AHh 0.75, AHCh 0.25
NEW_ARS = "E0_2019-20.csv:8"
NEW_WAT = "E0_2019-20.csv:35"  # Newcastle v Watford, 31/08/2019 15:00 UK = 14:00Z, 1-1; AHCh -0.25
NEW_ARS_KO = datetime(2019, 8, 11, 13, 0, tzinfo=timezone.utc)
NEW_WAT_KO = datetime(2019, 8, 31, 14, 0, tzinfo=timezone.utc)


def raw(row: int) -> dict:
    with open(CSV, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))[row]


def path_price(opening: str, closing: str, kickoff: datetime, now: datetime) -> float:
    """DESIGN's path: linear from the pre-match price at kickoff - 7 days to the closing one."""
    frac = (now - (kickoff - timedelta(days=7))) / timedelta(days=7)
    return round(float(opening) + (float(closing) - float(opening)) * frac, 2)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(parse_file(CSV, load_tables()))


def cells(page_text: str, match_id: str) -> dict:
    """(class, market, sel) -> text, and the line cells' data-line, of one row of /odds."""
    row = OddsPage(page_text).row(match_id)
    out = {}
    for c in row["cells"]:
        out[(c["class"], c["sel"])] = c["text"].strip()
    return out


def line_cells(page_text: str, match_id: str) -> dict:
    """market -> (data-line, {side: price text}) from the raw HTML of a row."""
    row = re.search(rf'<tr class="match" data-id="{re.escape(match_id)}".*?</tr>',
                    page_text).group(0)
    out = {}
    for m, line in re.findall(r'<td class="line" data-market="(\w+)" data-line="([^"]*)"', row):
        out[m] = (line, {})
    for m, sel, text in re.findall(
            r'<td class="line-price" data-market="(\w+)" data-sel="(\w+)">(?:<a [^>]*>)?([^<]*)',
            row):
        out[m][1][sel] = text
    return out


def test_the_page_and_api_show_ah_and_ou_on_the_price_path_and_the_line_moves_once(market, home):
    r = raw(8)
    before = NEW_ARS_KO - timedelta(days=5)  # pre-match line 0.75 (the line moves at K - 3.5 d)
    after = NEW_ARS_KO - timedelta(days=1)
    clock = FakeClock(iso(before))
    with LiveServer(market, home, clock) as http:
        shown = line_cells(http.get("/odds").text, NEW_ARS)
        assert shown["AH"] == (r["AHh"], {"home": f'{float(r["B365AHH"]):.2f}',
                                          "away": f'{float(r["B365AHA"]):.2f}'})
        over = path_price(r["B365>2.5"], r["B365C>2.5"], NEW_ARS_KO, before)
        under = path_price(r["B365<2.5"], r["B365C<2.5"], NEW_ARS_KO, before)
        assert shown["OU"] == ("2.5", {"over": f"{over:.2f}", "under": f"{under:.2f}"})
        clock.set(iso(after))
        [m] = [m for m in http.get("/api/matches").json()["matches"] if m["id"] == NEW_ARS]
        assert m["handicap"] == [{"line": float(r["AHCh"]), "home": float(r["B365CAHH"]),
                                  "away": float(r["B365CAHA"])}]
        assert m["totals"] == [{"line": 2.5,
                                "over": path_price(r["B365>2.5"], r["B365C>2.5"], NEW_ARS_KO,
                                                   after),
                                "under": path_price(r["B365<2.5"], r["B365C<2.5"], NEW_ARS_KO,
                                                    after)}]
        clock.set(iso(NEW_ARS_KO + timedelta(minutes=5)))  # live: no line on sale
        assert line_cells(http.get("/odds").text, NEW_ARS)["AH"][0] == ""


def test_ah_and_ou_bets_land_with_market_and_line_and_move_only_their_own_pool(market, home):
    r, now = raw(8), NEW_ARS_KO - timedelta(days=1)
    clock = FakeClock(iso(now))
    ah_line = float(r["AHCh"])
    with LiveServer(market, home, clock) as http:
        first = line_cells(http.get("/odds").text, NEW_ARS)
        odds_1x2 = {k: v for k, v in cells(http.get("/odds").text, NEW_ARS).items()
                    if k[0] == "price"}
        b1 = http.post("/api/bets", json={"client_ref": "ah-1", "match_id": NEW_ARS,
                                          "market": "AH", "selection": "away", "line": ah_line,
                                          "stake": 500})
        assert b1.status_code == 201, b1.text
        bet = b1.json()
        assert (bet["market"], bet["selection"], bet["line"], bet["stake"]) == \
            ("AH", "away", ah_line, 500)
        assert 1.01 < bet["odds"] <= float(r["B365CAHA"])
        b2 = http.post("/api/bets", json={"client_ref": "ou-1", "match_id": NEW_ARS,
                                          "market": "OU", "selection": "over", "line": 2.5,
                                          "stake": 500})
        assert b2.status_code == 201 and (b2.json()["market"], b2.json()["line"]) == ("OU", 2.5)
        second = line_cells(http.get("/odds").text, NEW_ARS)
        assert float(second["AH"][1]["away"]) < float(first["AH"][1]["away"])  # its pool moved
        assert second["AH"][1]["home"] == first["AH"][1]["home"]  # the other side did not
        assert float(second["OU"][1]["over"]) < float(first["OU"][1]["over"])
        assert second["OU"][1]["under"] == first["OU"][1]["under"]
        assert {k: v for k, v in cells(http.get("/odds").text, NEW_ARS).items()
                if k[0] == "price"} == odds_1x2  # 1X2 untouched
        again = http.post("/api/bets", json={"client_ref": "ah-2", "match_id": NEW_ARS,
                                             "market": "AH", "selection": "away", "line": ah_line,
                                             "stake": 500})
        assert again.json()["odds"] < bet["odds"]  # the next bet on that pool gets less
        listed = {b["client_ref"]: b for b in http.get("/api/bets").json()["bets"]}
        assert (listed["ou-1"]["market"], listed["ou-1"]["selection"], listed["ou-1"]["line"]) \
            == ("OU", "over", 2.5)
    records = [orjson.loads(x) for x in bets_path(home).read_bytes().splitlines()]
    assert [(x["market"], x.get("line"), x["pool"]["staked"]) for x in records] == \
        [("AH", ah_line, 500), ("OU", 2.5, 500), ("AH", ah_line, 1000)]
    with LiveServer(market, home, clock) as http:  # restarted: the pools are on disk
        assert line_cells(http.get("/odds").text, NEW_ARS)["AH"][1]["away"] < \
            first["AH"][1]["away"]


def test_a_slip_for_a_line_no_longer_offered_is_refused_line_changed(market, home):
    r = raw(8)
    clock = FakeClock(iso(NEW_ARS_KO - timedelta(days=5)))
    old = float(r["AHh"])
    body = {"client_ref": "stale-1", "match_id": NEW_ARS, "market": "AH", "selection": "home",
            "line": old, "stake": 10}
    with LiveServer(market, home, clock) as http:
        assert line_cells(http.get("/odds").text, NEW_ARS)["AH"][0] == r["AHh"]
        clock.set(iso(NEW_ARS_KO - timedelta(days=3)))  # the line moved to AHCh
        refused = http.post("/api/bets", json=body)
        assert refused.status_code == 409 and refused.json()["reason_code"] == "line_changed"
        assert r["AHCh"] in refused.json()["error"]
        ok = http.post("/api/bets", json={**body, "client_ref": "stale-2",
                                          "line": float(r["AHCh"])})
        assert ok.status_code == 201 and ok.json()["line"] == float(r["AHCh"])
        ou = http.post("/api/bets", json={**body, "client_ref": "ou-3", "market": "OU",
                                          "selection": "under", "line": 3.5})
        assert ou.json()["reason_code"] == "line_changed"
        for bad in ({"line": None}, {"selection": "draw"}, {"line": 0.3}, {"line": "0.25"},
                    {"market": "1X2", "line": 0.25}, {"market": "XX"}):
            got = http.post("/api/bets", json={**body, "client_ref": "bad", **bad})
            assert got.status_code == 422 and got.json()["reason_code"] == "bad_request", bad
        clock.set(iso(NEW_ARS_KO - timedelta(minutes=1)))  # suspended before kickoff
        closed = http.post("/api/bets", json={**body, "client_ref": "late",
                                              "line": float(r["AHCh"])})
        assert closed.json()["reason_code"] == "suspended"
        over = http.post("/api/bets", json={**body, "client_ref": "big", "stake": 5000,
                                            "line": float(r["AHCh"])})
        assert over.json()["reason_code"] == "suspended"  # closed before the limit is looked at
        assert [b["client_ref"] for b in http.get("/api/bets").json()["bets"]] == ["stale-2"]


def test_bets_settle_by_designs_formula_on_the_api_and_the_history_page(market, home):
    r = raw(35)  # Newcastle 1-1 Watford
    assert (r["FTHG"], r["FTAG"], r["AHCh"]) == ("1", "1", "-0.25")
    clock = FakeClock(iso(NEW_WAT_KO - timedelta(days=1)))
    picks = {"h": ("AH", "home", -0.25), "a": ("AH", "away", -0.25), "o": ("OU", "over", 2.5),
             "u": ("OU", "under", 2.5), "x": ("1X2", "draw", None)}
    with LiveServer(market, home, clock) as http:
        placed = {}
        for ref, (mk, sel, line) in picks.items():
            got = http.post("/api/bets", json={"client_ref": ref, "match_id": NEW_WAT,
                                               "market": mk, "selection": sel, "line": line,
                                               "stake": 10})
            assert got.status_code == 201, got.text
            placed[ref] = got.json()["odds"]
        clock.set(iso(NEW_WAT_KO + timedelta(minutes=115)))
        bets = {b["client_ref"]: b for b in http.get("/api/bets").json()["bets"]}
        # by hand: home -0.25 at 1-1 = half on 0 (void) + half on -0.5 (lost); away the mirror
        expected = {"h": ("half_lost", 5.0),
                    "a": ("half_won", round(10 * (placed["a"] / 2 + .5), 2)),
                    "o": ("lost", 0.0), "u": ("won", round(10 * placed["u"], 2)),
                    "x": ("won", round(10 * placed["x"], 2))}
        assert {k: (b["status"], b["payout"]) for k, b in bets.items()} == expected
        page = login(http).text
        for ref, (status, payout) in expected.items():
            assert f'data-client-ref="{ref}" data-match-key' in page
            row = page.split(f'data-client-ref="{ref}"')[1].split("</tr>")[0]
            assert f'data-status="{status}"' in row and f'data-payout="{payout}"' in row
        assert "AH away +0.25" in page and "OU over 2.5" in page
