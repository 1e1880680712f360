"""`betpipe`: every program (`betpipe monitor` …) and the operator's commands."""
from __future__ import annotations

import argparse
import functools
import importlib
import sys

from pipeline.programs import PROGRAMS  # name -> "module:function" (what supervisord.conf starts)

# "module:function" registrars of the operator's commands; each adds its subparsers with a
# `run(args) -> int` default. One line per module, so the command families stay apart.
REGISTRARS = [
    "pipeline.cli.status:register",   # status
    "pipeline.cli.home:register",     # key, init-home, clock, preflight
    "pipeline.cli.sessions:register",  # sessions, bets, history, reset (issue 4)
    "pipeline.cli.sources:register",  # sources parse (issue 3)
    "pipeline.cli.analysis:register",  # backtest, drill, data fetch (issue 6)
    "pipeline.cli.ops:register",      # export, reconcile (issue 5)
    "pipeline.cli.settle:register",   # settle BET_REF --score H-A | --void (issue 15)
    "pipeline.cli.implied:register",  # implied (issue 18)
    "pipeline.cli.ctl:register",      # ctl ARGS: supervisorctl for this home (issue 20)
    "pipeline.cli.config:register",   # config schema | check | new (issue 20)
    "pipeline.cli.session:register",  # session add | set | enable | disable | remove (issue 20)
    "pipeline.cli.optimize:register",  # optimize (issue 19)
    "pipeline.cli.ledger:register",   # ledger archive --before DATE (issue 15)
    "pipeline.cli.completion:register",  # completion bash|zsh (issue 20)
]


def _load(target: str):
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("betpipe")
    except PackageNotFoundError:
        return "unknown"


# argparse translates its every label through gettext, which searches the locale folders afresh
# on each call (~135 calls for ~45 parsers: more than the parser's own work); the answers do
# not change within a run, so each is searched once.
argparse._ = functools.cache(argparse._)


class _Version(argparse.Action):
    """--version: the package metadata is read only when asked (importlib.metadata is slow)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"betpipe {_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="betpipe", description=__doc__)
    parser.add_argument("--home", help="the runtime home (default: $BETPIPE_HOME or the repo)")
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in PROGRAMS:
        p = sub.add_parser(name, help=f"run the {name} program (supervisord starts it)")
        p.set_defaults(program=name)
        if name == "decide":  # decide --once --odds FILE …: print, write nothing (issue 4)
            _load("pipeline.cli.sessions:add_decide_once")(p)
        if name == "model":  # model predict …: a command beside the program (issue 18)
            _load("pipeline.cli.model:add_predict")(p)
    for target in REGISTRARS:
        _load(target)(sub)
    return parser


def _program_argv(argv: list[str]) -> tuple[str | None, str] | None:
    """(home override, program) when argv only starts a program (what supervisord runs)."""
    home = None
    if len(argv) == 3 and argv[0] == "--home":
        home, argv = argv[1], argv[2:]
    if len(argv) == 1 and argv[0] in PROGRAMS:
        return home, argv[0]
    return None


def _early_beat(home, program: str) -> None:
    """A first health beat before the program's heavy imports (browser, web server…): a program
    restarted by supervisord shows a new pid with a fresh beat within a fraction of a second.
    Only with the home's clock at hand: a beat must never carry another time than the clock's."""
    from pipeline.core.clock import ClockError, load_clock
    from pipeline.core.health import Health

    try:
        Health(home, program, load_clock(home.clock)).beat()
    except (ClockError, OSError):
        pass  # the program's Runtime reports it, failing, a moment later


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 ok; 1 a failure (a check that fails, an I/O error); 2 bad input or usage
    (argparse's own, an invalid config, an unknown session…). Errors go to stderr only."""
    argv = sys.argv[1:] if argv is None else argv
    fast = _program_argv(argv)
    if fast is not None:  # skip the CLI's parser and its imports: start the program at once
        from pipeline.core.paths import Home

        home = Home.from_env(fast[0]).ensure()
        _early_beat(home, fast[1])
        return _load(PROGRAMS[fast[1]])(home) or 0
    args = build_parser().parse_args(argv)
    if (getattr(args, "program", None) and not getattr(args, "once", False)
            and not getattr(args, "model_command", None)):  # `model predict` runs, not the program
        from pipeline.core.paths import Home

        return _load(PROGRAMS[args.program])(Home.from_env(args.home)) or 0
    try:
        return args.run(args) or 0
    except BrokenPipeError:  # `betpipe history | head`: the reader has all it wanted
        sys.stderr.close()
        return 1
    except OSError as e:  # a file or folder the command could not use: a failure, said plainly
        print(f"betpipe {args.command}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
