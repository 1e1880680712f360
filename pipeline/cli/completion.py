"""`betpipe completion bash|zsh`: the shell completion script of the whole `betpipe` parser
(shtab), printed on stdout:

    betpipe completion bash > ~/.local/share/bash-completion/completions/betpipe
    betpipe completion zsh > "${fpath[1]}/_betpipe"
"""
from __future__ import annotations

import sys

SHELLS = ("bash", "zsh")


def register(sub) -> None:
    p = sub.add_parser("completion", help="print the shell completion script (bash or zsh)")
    p.add_argument("shell", choices=SHELLS)
    p.set_defaults(run=_run)


def _run(args) -> int:
    import shtab

    from pipeline.cli import build_parser

    sys.stdout.write(shtab.complete(build_parser(), shell=args.shell))
    return 0
