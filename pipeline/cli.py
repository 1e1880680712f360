"""`betpipe`: every program (`betpipe monitor` …) and the operator's commands."""
from __future__ import annotations

import argparse
import importlib
import sys

# program name -> "module:function" (what supervisord.conf starts)
PROGRAMS = {
    "bookmaker": "pipeline.sandbox.server:main",
    "monitor": "pipeline.monitor:main",
    "decide": "pipeline.decide:main",
    "execute": "pipeline.execute:main",
    "track": "pipeline.track:main",
}

# "module:function" registrars of the operator's commands; each adds its subparsers with a
# `run(args) -> int` default. One line per module, so the command families stay apart.
REGISTRARS = [
    "pipeline.cli_status:register",   # status
    "pipeline.cli_home:register",     # key, init-home, clock, preflight
    # sessions, bets, history, reset (issue 4)
    # sources parse (issue 3)
    # backtest, drill, data fetch (issue 6)
    # export, reconcile (issue 5)
]


def _load(target: str):
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="betpipe", description=__doc__)
    parser.add_argument("--home", help="the runtime home (default: $BETPIPE_HOME or the repo)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in PROGRAMS:
        p = sub.add_parser(name, help=f"run the {name} program (supervisord starts it)")
        p.set_defaults(program=name)
    for target in REGISTRARS:
        _load(target)(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "program", None):
        from pipeline.core.paths import Home

        return _load(PROGRAMS[args.program])(Home.from_env(args.home)) or 0
    return args.run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
