"""`betpipe session add | set | enable | disable | remove` and `--category` (issue 20), run as
subprocesses on a hand-written config: each leaves a config that loads, changes what it says and
keeps every other value (and the user's text where it did not change)."""
from __future__ import annotations

import orjson

from pipeline.core.config import load_config
from tests.kit.programs import betpipe

HAND = """{
  "$schema": "system-config.schema.json",
  "mode": "paper",
  "halt": false,
  "clock": {"speed": 60, "start": "2019-08-09T18:30:00Z"},
  "sessions": [
    {
      "id": "fav",
      "category": "favourites",
      "selection": "favourite",
      "odds": {"min": 1.2, "max": 3.0},
      "staking": {"plan": "flat", "stake": 10}
    },
    {"id": "dog", "category": "dogs", "enabled": false, "selection": "underdog",
     "staking": {"plan": "flat", "stake": 5}},
    {"id": "fav2", "category": "favourites", "selection": "home",
     "staking": {"plan": "percent", "percent": 2}}
  ]
}
"""


def setup(home) -> dict:
    home.system_config.write_text(HAND)
    return orjson.loads(HAND)


def after(home) -> dict:
    load_config(home.system_config)  # loads
    return orjson.loads(home.system_config.read_bytes())


def test_set_changes_only_the_named_keys_and_keeps_the_text(home):
    want = setup(home)
    r = betpipe(home, "session", "set", "fav", "staking.stake=20", "odds.max=2.5",
                "window.to_minutes=5")
    assert r.returncode == 0, r.stderr
    want["sessions"][0]["staking"]["stake"] = 20
    want["sessions"][0]["odds"]["max"] = 2.5
    want["sessions"][0]["window"] = {"to_minutes": 5}
    got = after(home)
    assert got == want
    assert list(got["sessions"][0]) == ["id", "category", "selection", "odds", "staking", "window"]
    text = home.system_config.read_text()
    assert text.split('"sessions"')[0] == HAND.split('"sessions"')[0]  # top untouched byte-wise
    assert '{"id": "dog", "category": "dogs", "enabled": false' in text
    assert load_config(home.system_config).session("fav").staking.stake == 20


def test_add_from_json_and_template_then_remove(home):
    want = setup(home)
    new = {"id": "late", "selection": "draw", "staking": {"plan": "flat", "stake": 3}}
    r = betpipe(home, "session", "add", "--json", orjson.dumps(new).decode())
    assert r.returncode == 0, r.stderr
    assert after(home) == {**want, "sessions": want["sessions"] + [new]}
    r = betpipe(home, "session", "add", "--template", "ladder", "--id", "lad")
    assert r.returncode == 0, r.stderr
    assert load_config(home.system_config).session("lad").staking.plan == "ladder"
    assert betpipe(home, "session", "remove", "late").returncode == 0
    assert betpipe(home, "session", "remove", "lad").returncode == 0
    assert after(home) == want
    assert home.system_config.read_text() == HAND  # add then remove leaves the very same text


def test_enable_and_disable_a_whole_category(home):
    want = setup(home)
    r = betpipe(home, "session", "disable", "--category", "favourites")
    assert r.returncode == 0, r.stderr
    for i in (0, 2):
        want["sessions"][i]["enabled"] = False
    assert after(home) == want
    assert betpipe(home, "session", "enable", "dog").returncode == 0
    want["sessions"][1]["enabled"] = True
    assert after(home) == want
    audit = [orjson.loads(line) for line in home.audit.read_text().splitlines()]
    assert [a["by"] for a in audit if a["kind"] == "config"] == ["cli", "cli"]


def test_refusals_leave_the_file_alone_and_say_why_on_stderr(home):
    setup(home)
    cases = [(["session", "set", "fav", "staking.stake=-1"], "$.sessions[0].staking.stake"),
             (["session", "set", "nope", "halt=1"], "no session 'nope'"),
             (["session", "add", "--json", '{"id": "fav", "selection": "home"}'], "exists"),
             (["session", "remove", "ghost"], "no session 'ghost'"),
             (["session", "disable", "--category", "martians"], "category 'martians'"),
             (["session", "set", "fav", "id=other"], "id cannot be changed")]
    for args, reason in cases:
        r = betpipe(home, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert reason in r.stderr and r.stdout == "", (args, r.stderr)
        assert home.system_config.read_text() == HAND


def test_sessions_and_status_filter_by_category(home):
    setup(home)
    for cmd in ("sessions", "status"):
        r = betpipe(home, cmd, "--json", "--category", "favourites")
        assert r.returncode == 0, r.stderr
        info = orjson.loads(r.stdout)
        ids = ([s["session"] for s in info["sessions"]] if cmd == "sessions"
               else list(info["sessions"]))
        assert ids == ["fav", "fav2"], cmd
