"""The CLI's start-up stays light (issue 20): importing pipeline.cli and building the whole parser
imports no heavy library; each command imports what it needs when it runs. In a subprocess, so
the test's own imports don't count."""
from __future__ import annotations

import subprocess
import sys

import orjson

from pipeline.core.paths import REPO

HEAVY = ("pydantic", "rich", "orjson", "numpy", "scipy", "optuna", "playwright", "starlette",
         "uvicorn", "watchdog", "reactivex", "jinja2", "filelock", "importlib.metadata",
         "pipeline.core.config", "pipeline.core.filebus")


def _modules(code: str) -> set[str]:
    probe = code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    r = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return set(orjson.loads(r.stdout.splitlines()[-1]))


def test_building_the_parser_imports_nothing_heavy():
    loaded = _modules("import pipeline.cli\npipeline.cli.build_parser()")
    assert "argparse" in loaded and "pipeline.cli.sessions" in loaded  # the probe did build it
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY) == []


def test_a_command_imports_what_it_needs_when_it_runs():
    loaded = _modules("import pipeline.cli, contextlib, io\n"
                      "with contextlib.redirect_stdout(io.StringIO()):\n"
                      "    pipeline.cli.main(['implied', '--method', 'shin', '2.7', '2.3', '4.4'])")
    assert "orjson" in loaded  # implied prints with orjson: imported by its run, not the parser
    assert "pydantic" not in loaded and "rich" not in loaded


def test_version_reads_the_metadata_only_when_asked():
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "--version"], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("betpipe ") and r.stdout.split()[1][0].isdigit()
