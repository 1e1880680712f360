"""Every error on stderr, with the documented exit codes (issue 20; README "Operating it"):
0 ok, 1 a failure (an I/O error, a missing clock), 2 bad input or usage. A bad invocation
leaves stdout empty and shows no Python traceback."""
from __future__ import annotations

import pytest

from tests.kit.programs import betpipe


BAD = [  # (argv, exit code, words the message must hold)
    (["nosuchcmd"], 2, "invalid choice: 'nosuchcmd'"),
    (["key", "Arsenal", "Chelsea", "--kickoff", "tomorrow"], 2, "--kickoff"),
    (["key", "Arsenal", "Chelsea", "--kickoff", "2024-10-05T14:00:00"], 2, "without a zone"),
    (["clock", "now"], 1, "no clock anchor"),
    (["clock", "anchor"], 2, "system-config.json"),
    (["preflight"], 2, "the config is invalid"),
    (["implied", "--method", "shin", "2.1", "x"], 2, "odds[1] = 'x'"),
    (["reset", "nosuch"], 2, "unknown session 'nosuch'"),
    (["settle", "R-1", "--void"], 2, "unknown bet_ref 'R-1'"),
    (["settle", "R-1", "--score", "two-one"], 2, "is not a final score"),
    (["config", "check", "{home}/missing.json"], 2, "missing.json"),
    (["session", "disable", "nosuch"], 2, "file not found"),
    (["sources", "parse", "--kind", "hkjc", "{home}/missing.json"], 2, "no such file"),
    (["history", "show", "nokey"], 2, "no line for match 'nokey'"),
    (["reconcile"], 2, "cannot reconcile"),
    (["data", "fetch", "--league", "E0", "--seasons", "2019-20", "--dest", "{home}/a-file/x",
      "--base-url", "http://127.0.0.1:9"], 1, "a-file"),
]


@pytest.mark.parametrize("argv,code,words", BAD, ids=[" ".join(b[0][:3]) for b in BAD])
def test_a_bad_invocation_says_why_on_stderr_only(tmp_path, argv, code, words):
    (tmp_path / "a-file").write_text("not a folder")
    r = betpipe(tmp_path, *(a.format(home=tmp_path) for a in argv))
    assert r.returncode == code, r.stderr
    assert r.stdout == ""
    assert words in r.stderr
    assert "Traceback" not in r.stderr


def test_a_good_invocation_exits_0_with_its_answer_on_stdout(tmp_path):
    r = betpipe(tmp_path, "key", "Man United", "Nott'm Forest", "--kickoff",
                "2024-10-05T14:00:00Z")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "2024-25_Manchester United v Nottingham Forest\n"
