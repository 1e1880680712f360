"""DESIGN "Layout": every supervisord program lives in pipeline/programs/<name>/program.py with
main(), the registry names exactly those programs, and no import breaks the import rules —
`core` imports nothing else of pipeline; `strategies` only `core`; a program never imports
another program; nothing but `cli` and `harness` imports a program. Read with ast: nothing is
imported. (The reviewers' ../shared/tools/import-rules.py checks the same rules.) And in tests/,
no module imports a test module (tests/**/test_*.py): what two need is in tests/kit."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from pipeline.core.paths import REPO
from pipeline.programs import PROGRAMS

MAY_IMPORT_PROGRAMS = ("cli", "harness")


def _imported(path: Path, module: str) -> set[str]:
    """Every module name `path` imports, `from a import b` also as `a.b`; relative resolved."""
    names: set[str] = set()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def _area(name: str) -> str | None:
    """core, strategies, … ; programs.<name> for a program; None outside pipeline."""
    parts = name.split(".")
    if parts[0] != "pipeline" or len(parts) < 2:
        return None
    if parts[1] == "programs" and len(parts) > 2:
        return f"programs.{parts[2]}"
    return parts[1]


def violations(repo: Path) -> list[str]:
    out = []
    for path in sorted((repo / "pipeline").rglob("*.py")):
        rel = path.relative_to(repo)
        here = _area(".".join(rel.with_suffix("").parts))
        for name in sorted(_imported(path, ".".join(rel.with_suffix("").parts))):
            there = _area(name)
            if there is None or there == here:
                continue
            into_program = there.startswith("programs.")
            if here == "core":
                out.append(f"{rel}: core imports {name}")
            elif here == "strategies" and there != "core":
                out.append(f"{rel}: strategies import {name}")
            elif into_program and here.startswith("programs."):
                out.append(f"{rel}: a program imports another program: {name}")
            elif into_program and here not in MAY_IMPORT_PROGRAMS:
                out.append(f"{rel}: {here} imports a program: {name}")
    return out


def imports_of_test_modules(repo: Path) -> list[str]:
    """Every import, anywhere in tests/, of a test module (a test_*.py) or of a conftest."""
    out = []
    for path in sorted((repo / "tests").rglob("*.py")):
        rel = path.relative_to(repo)
        found = set()
        for name in _imported(path, ".".join(rel.with_suffix("").parts)):
            parts = name.split(".")
            tested = [i for i, p in enumerate(parts) if p.startswith("test_") or p == "conftest"]
            if parts[0] == "tests" and tested:  # `from tests.a.test_b import c`: tests.a.test_b
                found.add(".".join(parts[:tested[0] + 1]))
        out += [f"{rel}: imports the test module {name}" for name in sorted(found)]
    return out


def supervised(repo: Path) -> list[str]:
    return re.findall(r"^\[program:([\w-]+)\]", (repo / "supervisord.conf").read_text(), re.M)


def test_no_import_breaks_the_layout_rules():
    assert violations(REPO) == []


def test_every_supervised_program_has_its_folder_and_registry_line():
    programs = supervised(REPO)
    assert programs, "supervisord.conf names no program"
    assert set(programs) == set(PROGRAMS)
    for name in programs:
        assert (REPO / "pipeline" / "programs" / name / "program.py").is_file(), name
        assert PROGRAMS[name] == f"pipeline.programs.{name}.program:main"
        block = supervised_block(name)
        assert f"/.venv/bin/betpipe {name}\n" in block, block


def supervised_block(name: str) -> str:
    text = (REPO / "supervisord.conf").read_text()
    return text[text.index(f"[program:{name}]"):].split("\n\n")[0] + "\n"


def test_every_registered_program_has_main():
    for name, target in PROGRAMS.items():
        path = REPO / Path(*target.split(":")[0].split(".")).with_suffix(".py")
        tree = ast.parse(path.read_text())
        assert any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body), name


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_the_check_finds_each_kind_of_breach(tmp_path):
    repo = _tree(tmp_path, {
        "pipeline/core/clock.py": "from pipeline.strategies import rules\n",
        "pipeline/strategies/rules.py": "import pipeline.sources.replay\n",
        "pipeline/programs/track/program.py": "from pipeline.programs.execute import inputs\n",
        "pipeline/programs/decide/program.py": "from ..execute.engine import Executor\n",
        "pipeline/analysis/backtest.py": "from pipeline.programs import decide\n",
        "pipeline/cli/ops.py": "from pipeline.programs.track import program\n",
        "pipeline/harness/run.py": "import pipeline.programs.execute.program\n",
        "pipeline/programs/dashboard/state.py": "from pipeline import programs\nimport os\n",
    })
    found = violations(repo)
    assert found == [
        "pipeline/analysis/backtest.py: analysis imports a program: pipeline.programs.decide",
        "pipeline/core/clock.py: core imports pipeline.strategies",
        "pipeline/core/clock.py: core imports pipeline.strategies.rules",
        "pipeline/programs/decide/program.py: a program imports another program: "
        "pipeline.programs.execute.engine",
        "pipeline/programs/decide/program.py: a program imports another program: "
        "pipeline.programs.execute.engine.Executor",
        "pipeline/programs/track/program.py: a program imports another program: "
        "pipeline.programs.execute",
        "pipeline/programs/track/program.py: a program imports another program: "
        "pipeline.programs.execute.inputs",
        "pipeline/strategies/rules.py: strategies import pipeline.sources.replay",
    ]


def test_no_test_module_imports_another():
    """What more than one test module needs is in tests/kit, never imported from a test."""
    assert imports_of_test_modules(REPO) == []


def test_the_test_import_check_finds_each_kind_of_breach(tmp_path):
    repo = _tree(tmp_path, {
        "tests/__init__.py": "",
        "tests/a/__init__.py": "",
        "tests/a/test_one.py": "from tests.a.test_two import helper\nfrom tests.kit import poll\n",
        "tests/a/test_two.py": "from . import test_one\nfrom .reference import rows\n",
        "tests/a/reference.py": "from ..b.test_three import X\n",
        "tests/b/test_three.py": "import tests.a.test_one\nfrom tests import conftest\n"
                                 "from tests.kit.builders import match\n",
        "tests/kit/builders.py": "from tests.kit.poll import poll\n",
    })
    assert imports_of_test_modules(repo) == [
        "tests/a/reference.py: imports the test module tests.b.test_three",
        "tests/a/test_one.py: imports the test module tests.a.test_two",
        "tests/a/test_two.py: imports the test module tests.a.test_one",
        "tests/b/test_three.py: imports the test module tests.a.test_one",
        "tests/b/test_three.py: imports the test module tests.conftest",
    ]


def test_the_reviewers_checker_agrees():
    tool = REPO.parent / "shared" / "tools" / "import-rules.py"
    done = subprocess.run([sys.executable, str(tool), str(REPO)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "import-rule violations: 0" in done.stdout
