"""One exception base (core.errors.BetpipeError) and "never reached the bookmaker" as a type."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pipeline
from pipeline.bookmakers import NOT_PLACED, Placement
from pipeline.browser.pool import PoolError
from pipeline.core.config import ConfigError
from pipeline.core.errors import (BROWSER_ERROR, NEVER_REACHED, NOT_FOUND, UNREACHABLE,
                                  BetpipeError, NotPlaced, never_reached)
from pipeline.core.filebus import BadFile


def _pipeline_exceptions() -> dict[str, type]:
    found = {}
    for mod in pkgutil.walk_packages(pipeline.__path__, "pipeline."):
        if mod.name.endswith(".__main__"):  # runs the CLI
            continue
        module = importlib.import_module(mod.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) \
                    and obj.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = obj
    return found


def test_every_exception_class_of_pipeline_derives_from_the_one_base():
    found = _pipeline_exceptions()
    assert len(found) >= 20, sorted(found)  # the walk did find them
    assert [n for n, c in found.items() if not issubclass(c, BetpipeError)] == []


def test_builtin_bases_and_messages_are_kept():
    e = BadFile("/x/odds-data.json", "not JSON")
    assert isinstance(e, ValueError) and str(e) == "/x/odds-data.json: not JSON"
    assert (e.file, e.field, e.reason) == ("/x/odds-data.json", None, "not JSON")
    c = ConfigError("/x/config.json", "$.sessions[0].stake", "must be > 0")
    assert str(c) == "/x/config.json: $.sessions[0].stake: must be > 0"
    assert (c.file, c.field, c.reason) == ("/x/config.json", "$.sessions[0].stake", "must be > 0")


def test_base_names_file_field_reason_without_a_message():
    e = BetpipeError(file="a.json", field="$.x", reason="missing")
    assert str(e) == "a.json: $.x: missing" and e.field == "$.x"
    assert str(BetpipeError("plain")) == "plain" and BetpipeError("plain").reason == "plain"
    assert BetpipeError().file is None and str(BetpipeError()) == ""


def test_never_reached_is_read_from_the_reason_prefix():
    assert NEVER_REACHED == (NOT_FOUND, BROWSER_ERROR, UNREACHABLE)
    for reason in (NOT_FOUND, "browser_error: net::ERR_CONNECTION_REFUSED", "unreachable: x"):
        assert never_reached(reason)
    for reason in ("price_changed", "logged_out: no", "", None, "after the click: unreachable"):
        assert not never_reached(reason)


def test_not_placed_writes_the_same_reasons_as_before():
    assert NotPlaced("net::ERR_CONNECTION_REFUSED", kind=UNREACHABLE).failure == \
        "unreachable: net::ERR_CONNECTION_REFUSED"
    assert NotPlaced(kind=NOT_FOUND).failure == NOT_FOUND
    pool = PoolError("the browser is closed")  # no page was touched
    assert isinstance(pool, NotPlaced) and isinstance(pool, RuntimeError)
    assert pool.failure == "browser_error: the browser is closed"
    p = Placement.not_reached("d1#1", pool)
    assert (p.status, p.reason, p.retryable) == (NOT_PLACED, pool.failure, True)
    assert p.never_reached
    assert not Placement.not_placed("d1#1", "price_changed", retryable=True).never_reached
    assert not Placement.unknown("d1#1", "unreachable: after the click").never_reached
    try:
        NotPlaced("x", kind="price_changed")
    except ValueError as e:
        assert "price_changed" in str(e)
    else:
        raise AssertionError("a kind that is no never-reached reason was taken")
