"""`betpipe completion bash|zsh` (issue 20, shtab): the script names every subcommand, and bash,
sourcing it, completes subcommands and options as a user would see them."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from pipeline.cli import build_parser
from pipeline.core.paths import REPO


def completion(shell: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "completion", shell], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def subcommands() -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return list(sub.choices)


def test_the_bash_script_names_every_subcommand():
    r = completion("bash")
    assert r.returncode == 0 and r.stderr == ""
    names = subcommands()
    assert {"status", "sessions", "session", "ctl", "config", "completion", "decide"} <= set(names)
    line = next(l for l in r.stdout.splitlines() if l.startswith("_shtab_betpipe_subparsers="))
    assert line.split("=", 1)[1].strip("()").split() == names
    assert "\0" not in r.stdout  # a NUL (ctl's prefix_chars) would break the script


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
@pytest.mark.parametrize("words,want", [
    (["betpipe", "ses"], {"sessions", "session"}),
    (["betpipe", "session", "e"], {"enable"}),
    (["betpipe", "bets", "--o"], {"--open", "--overdue"}),
    (["betpipe", "completion", ""], {"bash", "zsh"}),
])
def test_bash_completes_with_it(tmp_path, words, want):
    script = tmp_path / "betpipe.bash"
    script.write_text(completion("bash").stdout)
    probe = (f"source {script}; COMP_WORDS=({' '.join(repr(w) for w in words)}); "
             f"COMP_CWORD={len(words) - 1}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; "
             "COMP_POINT=${#COMP_LINE}; _shtab_betpipe; printf '%s\\n' \"${COMPREPLY[@]}\"")
    r = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert set(r.stdout.split()) == want


def test_zsh_script_and_a_bad_shell():
    r = completion("zsh")
    assert r.returncode == 0 and r.stdout.startswith("#compdef betpipe")
    assert "optimize" in r.stdout and "completion" in r.stdout
    r = completion("fish")
    assert r.returncode == 2 and r.stdout == "" and "invalid choice: 'fish'" in r.stderr
