"""Backtest figures on real CSVs against figures computed independently from the rows
(tests/analysis/reference.py: plain csv + DESIGN's rules), for every --odds source and staking
plan, on new files (dd/mm/yyyy, Time), old ones (dd/mm/yy, latin-1 byte, ragged rows), a BOM +
CRLF copy, and ties across files in command-line order."""
from __future__ import annotations

import functools

import pytest

from pipeline.analysis.backtest import BacktestError, load_matches, run
from pipeline.core.config import Config
from pipeline.history.football_data import BACKTEST_SOURCES
from tests.analysis import reference
from tests.kit.contracts import FOOTBALL_DATA
from tests.kit.sessions import PLANS, SIDE, sessions

NEW = [FOOTBALL_DATA / "E0_2018-19.csv", FOOTBALL_DATA / "E0_2019-20.csv"]
OLD = [FOOTBALL_DATA / "E0_2003-04.csv", FOOTBALL_DATA / "E0_2004-05.csv"]


@functools.cache
def loaded(files: tuple, source: str):
    """load_matches once per files and source for the module (a BtMatch is frozen; run reads)."""
    return load_matches(list(files), source)


def project(files, source, cfg_sessions):
    bt = run(loaded(tuple(files), source).matches,
             Config.model_validate({"sessions": cfg_sessions}))
    report = bt.report()
    bets = {sid: [(m.fixture.home, m.fixture.away, SIDE[b.selection], b.odds, b.stake, b.profit)
                  for b, m in bt.bets(sid)] for sid in report}
    return report, bets


def assert_same(files, source, cfg_sessions) -> int:
    """The project's figures and bets equal the reference's; returns how many bets in all."""
    got, got_bets = project(files, source, cfg_sessions)
    ref = reference.run(files, source, cfg_sessions)
    want = {sid: s.figures() for sid, s in ref.items()}
    assert list(got) == list(want)
    for sid, w in want.items():
        g = got[sid]
        assert got_bets[sid] == reference.bet_list(ref[sid]), sid
        assert (g["bets"], g["won"], bool(g["halted"])) == (w["bets"], w["won"], w["halted"]), sid
        for k in ("staked", "profit", "max_drawdown", "bankroll"):
            assert g[k] == pytest.approx(w[k], abs=0.006), (sid, k)
        for k in ("roi", "hit_rate"):
            assert g[k] == pytest.approx(w[k], abs=1e-5), (sid, k)
    return sum(w["bets"] for w in want.values())


@pytest.mark.parametrize("plan", PLANS)
@pytest.mark.parametrize("source", BACKTEST_SOURCES)
def test_figures_match_an_independent_computation(source, plan):
    assert assert_same(NEW, source, sessions(plan)) > 0


@pytest.mark.parametrize("plan", PLANS)
def test_old_files_two_digit_years_latin1_ragged_rows(plan):
    assert assert_same(OLD, "b365", sessions(plan)) > 0


def test_old_files_without_the_source_have_no_bets():
    got, _ = project(OLD, "pinnacle", sessions("flat"))  # Pinnacle only from 2012-13
    assert all(f["bets"] == 0 and f["profit"] == 0 for f in got.values())
    loaded = load_matches(OLD, "pinnacle")
    assert (loaded.rows, loaded.skipped, loaded.matches) == (760, 760, [])


def test_a_bom_and_crlf_copy_gives_the_same_figures(tmp_path):
    original = FOOTBALL_DATA / "E0_2019-20.csv"
    copy = tmp_path / "E0_2019-20.csv"
    text = original.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    copy.write_bytes(b"\xef\xbb\xbf" + text)
    cfg = sessions("percent")
    assert project([copy], "avg", cfg) == project([original], "avg", cfg)
    assert assert_same([copy], "avg", cfg) > 0


def test_ties_across_files_follow_the_command_line_order():
    """One bet at a time (martingale): at kickoffs shared by both files the first file's match
    gets it, so the order of --data changes the bets, and both orders match the reference."""
    e0, sp1 = FOOTBALL_DATA / "E0_2019-20.csv", FOOTBALL_DATA / "SP1_2019-20.csv"
    cfg = [{"id": "one-at-a-time", "selection": "favourite",
            "staking": {"plan": "martingale", "stake": 2, "max_steps": 3}}]
    ko = lambda m: m.kickoff
    both = load_matches([e0, sp1], "b365").matches
    assert any(ko(a) == ko(b) and a.fixture.file != b.fixture.file for a, b in zip(both, both[1:]))
    _, forward = project([e0, sp1], "b365", cfg)
    _, backward = project([sp1, e0], "b365", cfg)
    assert forward != backward
    assert_same([e0, sp1], "b365", cfg)
    assert_same([sp1, e0], "b365", cfg)


def test_bets_settle_at_kickoff_plus_110_minutes_before_the_next_decision():
    """A one-at-a-time plan bets on a match only when the previous bet's result is out."""
    cfg = Config.model_validate({"sessions": [{"id": "fib", "selection": "home",
                                               "staking": {"plan": "fibonacci", "stake": 1}}]})
    bt = run(load_matches([NEW[1]], "b365").matches, cfg)
    placed = bt.bets("fib")
    assert len(placed) > 100
    for (b1, m1), (b2, m2) in zip(placed, placed[1:]):
        assert m2.kickoff >= m1.settle_at
        assert b1.settled_at <= b2.placed_at


def test_bad_rows_name_the_file_row_and_field(tmp_path):
    good = (FOOTBALL_DATA / "E0_2019-20.csv").read_text(encoding="utf-8").splitlines()
    bad_date = tmp_path / "E0_bad-date.csv"
    second = good[2].split(",")
    second[1] = "2019-08-10"
    bad_date.write_text("\n".join([good[0], good[1], ",".join(second)]))
    with pytest.raises(BacktestError, match=r"E0_bad-date.csv.*row 1.*2019-08-10"):
        load_matches([bad_date], "b365")
    cells = good[1].split(",")
    cells[7] = "X"  # FTR
    bad_ftr = tmp_path / "E0_bad-ftr.csv"
    bad_ftr.write_text("\n".join([good[0], ",".join(cells)]))
    with pytest.raises(BacktestError, match=r"E0_bad-ftr.csv row 0: field FTR: 'X'"):
        load_matches([bad_ftr], "b365")
    cells[5], cells[7] = "0", "H"  # 0-1 but FTR H
    bad_ftr.write_text("\n".join([good[0], ",".join(cells)]))
    with pytest.raises(BacktestError, match=r"FTR: 'H' disagrees with the score 0-1"):
        load_matches([bad_ftr], "b365")
    with pytest.raises(BacktestError, match=r"nowhere.csv: no such file"):
        load_matches([tmp_path / "nowhere.csv"], "b365")


def test_a_result_is_out_exactly_110_minutes_after_kickoff(tmp_path):
    """A 12:30 kickoff settles at 14:20: a one-at-a-time plan skips a 14:19 kickoff and bets
    on a 14:20 one, doubling after the loss."""
    lines = (FOOTBALL_DATA / "E0_2019-20.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    template = lines[1].split(",")

    def row(time: str, home: str, ftr: str) -> str:
        cells = list(template)
        cells[header.index("Date")], cells[header.index("Time")] = "10/08/2019", time
        cells[header.index("HomeTeam")], cells[header.index("AwayTeam")] = home, home + " B"
        goals = {"H": ("1", "0"), "D": ("0", "0"), "A": ("0", "1")}[ftr]
        cells[header.index("FTHG")], cells[header.index("FTAG")] = goals
        cells[header.index("FTR")] = ftr
        return ",".join(cells)

    path = tmp_path / "E0_2019-20.csv"
    path.write_text("\n".join([lines[0], row("12:30", "A", "A"), row("14:19", "B", "H"),
                               row("14:20", "C", "H")]) + "\n")
    cfg = [{"id": "m", "selection": "home", "staking": {"plan": "martingale", "stake": 3}}]
    _, got = project([path], "b365", cfg)
    assert [(b[0], b[4]) for b in got["m"]] == [("A", 3.0), ("C", 6.0)]
    assert_same([path], "b365", cfg)


def test_a_review_halts_at_the_bet_the_rows_say():
    """review after 30 settled bets: the first results instant with >= 30 settled and their ROI
    below min_roi halts the session; no bet is placed on a match kicking off at or after it."""
    files = [FOOTBALL_DATA / "E0_2019-20.csv"]
    review = {"after_bets": 30, "min_roi": 0.0}
    cfg = [{"id": "dog", "selection": "underdog", "staking": {"plan": "flat", "stake": 10},
            "review": review}]
    # by hand from the rows: every match is bet (no bounds); results come out at kickoff + 110
    ms = reference.matches(files, "b365")
    settled, halt_at = [], None
    for m in sorted(ms, key=lambda m: (m["settle"], m["order"])):
        side = reference.side_for("underdog", m["p"])
        settled.append(round(10 * m["p"][side], 2) - 10 if m["ftr"] == side else -10.0)
        nxt = ms.index(m) + 1
        if nxt < len(ms) and ms[nxt]["settle"] == m["settle"]:
            continue  # the rest of this instant's results first
        if len(settled) >= 30 and sum(settled) / (10 * len(settled)) < 0:
            halt_at = m["settle"]
            break
    assert halt_at is not None
    want_bets = sum(1 for m in ms if m["ko"] < halt_at)
    assert 30 <= want_bets < len(ms)
    got, _ = project(files, "b365", cfg)
    assert got["dog"]["halted"] == "review"
    assert got["dog"]["bets"] == want_bets
    assert assert_same(files, "b365", cfg) == want_bets
    # the same session without a review bets on every match
    no_review = [{k: v for k, v in cfg[0].items() if k != "review"}]
    assert project(files, "b365", no_review)[0]["dog"]["bets"] == len(ms)
