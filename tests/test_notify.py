"""Notifications against a LOCAL HTTP server that records what it receives: retries after a 500
and a 429, the rate limit on a burst, a restart that neither repeats nor skips, program alerts,
Discord and Telegram payloads — and the real `betpipe notify` program end to end."""
from __future__ import annotations

import os
import signal
import subprocess
from datetime import timedelta

import orjson
import pytest

from pipeline.core import clock as clockmod
from pipeline.core.clock import FakeClock, real_now
from pipeline.core.config import NotifyConfig, default_config
from pipeline.core.filebus import atomic_write_json, read_json
from pipeline.core.health import Health
from pipeline.core.ledger import Ledger
from pipeline.core.paths import REPO
from pipeline.core.timefmt import iso
from pipeline.programs.notify.messages import program_items
from pipeline.programs.notify.program import Notifier
from pipeline.programs.notify.webhook import TargetError, payload, post, target_from
from tests.kit.builders import replay_lines, bet
from tests.kit.contracts import assert_contract, free_port
from tests.kit.homes import START
from tests.kit.poll import poll

KEYS = [f"2019-20_Team{i} v Other{i}" for i in range(40)]



def placed_events(n: int, start: int = 0) -> list[dict]:
    ledger_like = []
    for i in range(start, start + n):
        intended, placed = bet("fav-week", KEYS[i], "home", 2.0, 10.0, i)
        ledger_like += [{"seq": 2 * i + 1, "ts": "2019-08-09T18:31:00Z", **intended},
                        {"seq": 2 * i + 2, "ts": "2019-08-09T18:31:00Z", **placed}]
    return ledger_like


def notifier(home, url, clock, **cfg) -> Notifier:
    config = NotifyConfig(**cfg)
    return Notifier(home, clock, config, target_from(config, {"BETPIPE_NOTIFY_URL": url}))


def test_a_500_is_retried_with_backoff_and_the_position_saved_only_after(home, recorder):
    rec, clock = recorder([(500, b"oops", {})]), FakeClock("2019-08-09T18:30:00Z")
    n = notifier(home, rec.url, clock)
    n.collect(placed_events(1), {})
    assert [o.status for o in n.flush()] == [500]
    assert n.flush() == []  # backing off
    assert read_json(home.notify_state)["ledger_seq"] == 1  # past the intent (nothing to say) only
    clock.advance(0.5)
    assert [o.ok for o in n.flush()] == [True]
    assert rec.delivered() == ["🟢 bet placed · fav-week · Team0 v Other0 (2019-20) · home @ 2.0 · stake 10.00"]
    assert [r["doc"] for r in rec.received][0] == rec.received[1]["doc"]  # the same message again
    assert read_json(home.notify_state)["ledger_seq"] == 2


def test_a_429_waits_as_long_as_the_server_asks(home, recorder):
    rec = recorder([(429, b'{"retry_after": 3.0, "global": false}', {"Content-Type": "application/json"})])
    clock = FakeClock("2019-08-09T18:30:00Z")
    n = notifier(home, rec.url, clock)
    n.collect(placed_events(1), {})
    assert [o.retry_after for o in n.flush()] == [3.0]
    clock.advance(2.9)
    assert n.flush() == []
    clock.advance(0.2)
    assert [o.ok for o in n.flush()] == [True] and len(rec.delivered()) == 1


def test_a_burst_is_rate_limited_and_batched_without_loss(home, recorder):
    rec, clock = recorder(), FakeClock("2019-08-09T18:30:00Z")
    n = notifier(home, rec.url, clock, per_minute=60, burst=2)
    events = placed_events(12)
    for i in range(1, len(events) + 1):  # events arrive one by one, faster than the rate
        n.collect(events[:i], {})
        n.flush()
    assert len(rec.received) == 2 and n.counts["rate_limited"] > 0 and len(n.pending) == 10
    clock.advance(1.0)  # one more message may go: the 10 waiting lines in one
    n.flush()
    assert len(rec.received) == 3
    assert rec.delivered() == [f"🟢 bet placed · fav-week · Team{i} v Other{i} (2019-20) · home @ 2.0 · stake 10.00"
                               for i in range(12)]


def test_a_restart_neither_repeats_nor_skips(home, recorder):
    rec, clock = recorder(), FakeClock("2019-08-09T18:30:00Z")
    first = notifier(home, rec.url, clock, burst=10)
    first.collect(placed_events(3), {})
    first.flush()
    rec.script.append((500, b"", {}))
    events = placed_events(5)
    first.collect(events, {})
    first.flush()  # the 4th and 5th fail: the process dies before it retries
    again = notifier(home, rec.url, clock, burst=10)
    assert again.position["ledger_seq"] == 7  # the 3rd bet's events and the 4th's intent
    again.collect(events, {})
    again.flush()
    texts = rec.delivered()
    assert [t.split(" · ")[2] for t in texts] == [f"Team{i} v Other{i} (2019-20)" for i in range(5)]


def test_program_alerts_wait_for_the_grace_and_say_when_it_is_over():
    now = real_now()
    doc = {"last_beat_real": iso(now), "state": "degraded", "last_error": "source failing"}
    bad_since: dict = {}
    assert program_items({"monitor": doc}, {}, now, bad_since, grace_s=10) == []
    (alert,) = program_items({"monitor": doc}, {}, now + timedelta(seconds=10), bad_since, 10)
    assert alert.text == "⚠️ program monitor degraded: source failing" and alert.program == ("monitor", "degraded")
    assert program_items({"monitor": doc}, {"monitor": "degraded"}, now, bad_since, 0) == []
    ok = {**doc, "state": "ok", "last_error": None}
    (back,) = program_items({"monitor": ok}, {"monitor": "degraded"}, now, bad_since, 0)
    assert back.program == ("monitor", "ok") and "ok again" in back.text
    stale = {**doc, "last_beat_real": iso(now - timedelta(seconds=60))}
    assert program_items({"decide": stale, "track": None}, {}, now, {}, 0)[0].program == ("decide", "stale")


def test_targets_keep_their_secrets(recorder):
    assert target_from(NotifyConfig(), {}) is None
    discord = target_from(NotifyConfig(), {"BETPIPE_NOTIFY_URL": "https://discord.com/api/webhooks/9/SECRET"})
    assert "SECRET" not in repr(discord) and discord.label == "discord at discord.com"
    assert payload(discord, "@everyone hi")["allowed_mentions"] == {"parse": []}
    with pytest.raises(TargetError, match="BETPIPE_TELEGRAM_TOKEN"):
        target_from(NotifyConfig(kind="telegram", chat_id="42"), {})
    with pytest.raises(TargetError, match="chat_id"):
        target_from(NotifyConfig(kind="telegram"), {"BETPIPE_TELEGRAM_TOKEN": "123:ABC"})
    rec = recorder()
    base = rec.url.split("/api/")[0]
    tg = target_from(NotifyConfig(kind="telegram", url=base, chat_id="42"), {"BETPIPE_TELEGRAM_TOKEN": "123:ABC"})
    assert post(tg, "hello").ok
    assert rec.received[0]["path"] == "/bot123:ABC/sendMessage"
    assert rec.received[0]["doc"] == {"chat_id": "42", "text": "hello", "disable_web_page_preview": True}
    dead = target_from(NotifyConfig(kind="telegram", url=f"http://127.0.0.1:{free_port()}", chat_id="1"),
                       {"BETPIPE_TELEGRAM_TOKEN": "123:ABC"})
    outcome = post(dead, "x", timeout=2)
    assert not outcome.ok and outcome.status is None and "123:ABC" not in outcome.detail



def test_the_notify_program_delivers_audits_and_resumes(home, recorder):
    rec = recorder()
    config = default_config()
    config["notify"] = {"per_minute": 600, "burst": 50, "program_grace_s": 0}
    atomic_write_json(home.system_config, config)
    clockmod.anchor(home.clock, start=START, speed=60)
    ledger = Ledger(home.ledger, FakeClock("2019-08-09T18:31:00Z"))
    env = {**os.environ, "BETPIPE_HOME": str(home.root), "BETPIPE_NOTIFY_URL": rec.url}

    def start():
        return subprocess.Popen([str(REPO / ".venv/bin/betpipe"), "notify"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    proc = start()
    try:
        ledger.append(*bet("fav-week", KEYS[0], "home", 2.0, 10.0, 0))
        ledger.append({"type": "BET_SETTLED", "session": "fav-week", "decision_id": f"fav-week|{KEYS[0]}|1X2",
                       "bet_ref": "P-0", "outcome": "won", "payout": 20.0, "profit": 10.0},
                      {"type": "SESSION_HALTED", "session": "fav-week", "reason": "take_profit",
                       "detail": "settled profit 10.00 >= 5"})
        Health(home, "monitor", FakeClock("2019-08-09T18:31:00Z")).set("degraded", "source failing")
        poll(lambda: len(rec.delivered()) >= 4, 60, "four lines", proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        ledger.append(*bet("fav-week", KEYS[1], "away", 3.0, 10.0, 1))
        proc = start()
        poll(lambda: len(rec.delivered()) >= 5, 60, "the fifth line", proc)
        poll(lambda: read_json(home.notify_state)["ledger_seq"] == 6, 30, "the saved position", proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
    lines = rec.delivered()
    assert sorted(lines[:4], key=lines.index) == lines[:4] and len(lines) == 5, lines
    assert lines[0].startswith("🟢 bet placed · fav-week · Team0 v Other0")
    assert lines[1].startswith("✅ won · fav-week") and lines[1].endswith("profit +10.00")
    assert lines[2] == "⛔ session fav-week halted: take_profit (settled profit 10.00 >= 5)"
    assert lines[3] == "⚠️ program monitor degraded: source failing"
    assert lines[4].startswith("🟢 bet placed · fav-week · Team1 v Other1 (2019-20) · away @ 3.0")
    audit = [orjson.loads(line) for line in home.audit.read_text().splitlines()]
    assert [r["ledger_seq"] for r in audit if r["kind"] == "bet"] == [1, 2, 3, 4, 5, 6]
    assert [r["by"] for r in audit if r["kind"] == "config"] == ["file"]
    assert_contract("health", read_json(home.health("notify")))
    assert rec.url not in out and "abc" not in home.audit.read_text()


def test_the_notify_program_skips_a_hand_written_line_and_a_bom_and_says_so_once(home, recorder):
    rec = recorder()
    config = default_config()
    config["notify"] = {"per_minute": 600, "burst": 50, "program_grace_s": 0}
    atomic_write_json(home.system_config, config)
    clockmod.anchor(home.clock, start=START, speed=60)
    ledger = Ledger(home.ledger, FakeClock("2019-08-09T18:31:00Z"))
    ledger.append(*bet("fav-week", KEYS[0], "home", 2.0, 10.0, 0))
    home.ledger.write_bytes(b"\xef\xbb\xbf" + home.ledger.read_bytes())  # saved by an editor
    with open(home.ledger, "ab") as f:  # line 3, the last: parses, but is no event
        f.write(b'{"note": "checked by hand"}\n')
    env = {**os.environ, "BETPIPE_HOME": str(home.root), "BETPIPE_NOTIFY_URL": rec.url}
    proc = subprocess.Popen([str(REPO / ".venv/bin/betpipe"), "notify"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        poll(lambda: len(rec.delivered()) >= 1, 60, "the placed bet", proc)
        ledger.append({"type": "BET_SETTLED", "session": "fav-week", "bet_ref": "P-0",
                       "decision_id": f"fav-week|{KEYS[0]}|1X2", "outcome": "won",
                       "payout": 20.0, "profit": 10.0})
        with open(home.ledger, "ab") as f:  # line 5
            f.write(b'{"seq": 9, "session": "fav-week"}\n')
        ledger.append(*bet("fav-week", KEYS[1], "away", 3.0, 10.0, 1))
        poll(lambda: len(rec.delivered()) >= 3, 60, "the settlement and the second bet", proc)
        poll(lambda: read_json(home.notify_state)["ledger_seq"] == 5, 30, "the saved position",
              proc)
        passes = read_json(home.health("notify"))["counters"].get("passes", 0)
        monitor = Health(home, "monitor", FakeClock("2019-08-09T18:31:00Z"))

        def more_passes():  # another program's beats: passes on a ledger that has not changed
            monitor.beat()
            return read_json(home.health("notify"))["counters"].get("passes", 0) >= passes + 5
        poll(more_passes, 60, "five more passes", proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0
    lines = rec.delivered()
    assert len(lines) == 3, lines
    assert lines[0].startswith("🟢 bet placed · fav-week · Team0 v Other0")
    assert lines[1].startswith("✅ won · fav-week") and lines[2].startswith("🟢 bet placed")
    assert [e.seq for e in ledger.read()] == [1, 2, 3, 4, 5]  # the hand lines took no seq
    logged = [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]
    skipped = [r for r in logged if r["event"] == "file.line_skipped"]
    assert [(r["file"], r["line"]) for r in skipped] == [(str(home.ledger), 3),
                                                         (str(home.ledger), 5)], out[-3000:]
    assert [r for r in logged if r["level"] == "error" or r["event"] == "pass.failed"] == []
    audit = [orjson.loads(line) for line in home.audit.read_text().splitlines()]
    assert [r["ledger_seq"] for r in audit if r["kind"] == "bet"] == [1, 2, 3, 4, 5]


def test_an_overdue_bet_is_alerted_once_in_one_message_even_across_a_restart(home, recorder):
    from pipeline.core.state import replay
    from pipeline.strategies.overdue import overdue_bets

    rec, clock = recorder(), FakeClock("2019-08-10T07:00:00Z")
    events = placed_events(3)
    book = replay_lines(events)
    late = overdue_bets(book, {}, clock.now(), 12)  # placed 18:31: overdue since 06:31
    assert len(late) == 3
    track = {"last_beat_real": iso(clock.real_now()), "state": "ok", "overdue": late[:2]}
    first = notifier(home, rec.url, clock, events=["overdue"])
    first.collect(events, {"track": track})
    first.flush()
    assert len(rec.received) == 1  # one message for both bets
    lines = rec.delivered()
    assert [line.split(" · ")[2] for line in lines] == ["Team0 v Other0 (2019-20)",
                                                         "Team1 v Other1 (2019-20)"]
    assert lines[0].startswith("⏰ bet overdue") and \
        f"betpipe settle {late[0]['bet_ref']} --score H-A | --void" in lines[0]
    first.collect(events, {"track": track})
    assert first.flush() == []  # said once
    again = notifier(home, rec.url, clock, events=["overdue"])  # a restart: the position says what was delivered
    again.collect(events, {"track": {**track, "overdue": late}})
    again.flush()
    assert len(rec.received) == 2
    assert [line.split(" · ")[2] for line in rec.delivered()[2:]] == ["Team2 v Other2 (2019-20)"]
    assert again.position["overdue"] == [o["bet_ref"] for o in late]


def test_overdue_alerts_can_be_turned_off(home, recorder):
    from pipeline.core.state import replay
    from pipeline.strategies.overdue import overdue_bets

    rec, clock = recorder(), FakeClock("2019-08-10T07:00:00Z")
    events = placed_events(1)
    late = overdue_bets(replay_lines(events), {}, clock.now(), 12)
    n = notifier(home, rec.url, clock, events=["settled"])
    n.collect(events, {"track": {"last_beat_real": iso(clock.real_now()), "state": "ok",
                                 "overdue": late}})
    assert n.flush() == [] and rec.received == []
