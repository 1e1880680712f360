"""The two tiers: which tests are `slow` (they start a subprocess, a browser, supervisord or a
real program's server), decided from their code, and the fast tier's guard against a test that
starts a process without the marker. Used by tests/conftest.py."""
from __future__ import annotations

import inspect
import os
import subprocess
import types
from pathlib import Path

FAST = os.environ.get("BETPIPE_TEST_FAST") == "1"  # set by scripts/test --fast


def examples(n: int) -> int:
    """A property test's number of random examples: `n` in the full tier; a fifth (at least 10)
    in the fast tier, to keep the edit loop under two minutes. The same properties, fewer draws."""
    return max(10, n // 5) if FAST else n


SLOW_DIRS = {"e2e", "soak"}  # whole folders of whole-pipeline runs
# names whose use means a process or a real server: the subprocess module and Popen, playwright's
# browser, uvicorn (the real programs' servers), supervisord through the harness; the bookmaker
# adapter that drives Chromium
SPAWNERS = {"subprocess", "Popen", "sync_playwright", "async_playwright", "uvicorn",
            "supervise", "soak", "launch_browser", "BrowserPool", "SandboxBookmaker"}
GUARDS = {"_fast_tier_guard"}  # fixtures that name subprocess only to forbid it
_cache: dict[int, bool] = {}


def classify(item) -> bool:
    """True when `item` (a pytest test) is slow: by folder, or by what its code, its fixtures'
    code and the test helpers they call name."""
    path = Path(str(item.fspath))
    if SLOW_DIRS & set(path.parts[path.parts.index("tests"):] if "tests" in path.parts else ()):
        return True
    funcs = [getattr(item, "function", None)]
    infos = getattr(item, "_fixtureinfo", None)
    if infos is not None:
        for name in item.fixturenames:  # the fixtures of tests/ (not the fast tier's guard)
            funcs += [d.func for d in infos.name2fixturedefs.get(name, ())
                      if _ours(d.func) and name not in GUARDS]
    callspec = getattr(item, "callspec", None)  # a parameter may be a helper that spawns
    if callspec is not None:
        funcs += [v for v in callspec.params.values() if inspect.isfunction(v) or inspect.isclass(v)]
    return any(_reaches(f) for f in funcs if f is not None)


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _ours(obj) -> bool:
    return (getattr(obj, "__module__", "") or "").startswith("tests.")


def _helpers(target) -> list:
    """The functions and classes of tests/ that a name stands for: itself, or every one of a
    tests/ module used through its name (`run.start(...)`), or the ones a table holds
    (`RESTARTS[name](...)`)."""
    if isinstance(target, dict):
        return [h for v in target.values() for h in _helpers(v) if not isinstance(v, dict)]
    if isinstance(target, (list, tuple)):
        return [h for v in target for h in _helpers(v) if not isinstance(v, (dict, list, tuple))]
    if inspect.ismodule(target):
        if not target.__name__.startswith("tests."):
            return []
        return [v for v in vars(target).values()
                if (inspect.isfunction(v) or inspect.isclass(v)) and _ours(v)]
    if (inspect.isfunction(target) or inspect.isclass(target)) and _ours(target):
        return [target]
    return []


def _reaches(obj, seen: set[int] | None = None) -> bool:
    """Whether a function (or a class's methods) of tests/ names a SPAWNER, following the
    functions and classes of tests/ it names."""
    key = id(obj)
    if key in _cache:
        return _cache[key]
    seen = set() if seen is None else seen
    if key in seen:
        return False
    seen.add(key)
    if inspect.isclass(obj):
        members = [m.fget if isinstance(m, property) else m for m in vars(obj).values()]
        found = any(_reaches(m, seen) for m in members if inspect.isfunction(m) or
                    (isinstance(m, property) and m is not None))
    else:
        func = inspect.unwrap(obj)
        code = getattr(func, "__code__", None)
        if code is None:
            return False
        names = _names(code)
        found = bool(names & SPAWNERS)
        if not found:
            scope = getattr(func, "__globals__", {})
            found = any(_reaches(target, seen) for n in names
                        for target in _helpers(scope.get(n)))
    _cache[key] = found
    return found


def forbid_processes(monkeypatch, nodeid: str) -> None:
    """Make starting a process raise, naming the test: it needs the `slow` marker."""
    def refuse(self, args, *_a, **_kw):
        raise RuntimeError(f"{nodeid} starts a process ({args!r}): this test needs the slow "
                           f"marker (tests/kit/tiers.py: add its way of starting to SPAWNERS)")
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
