"""`betpipe ctl ARGS`: supervisorctl for this home (issue 20).

supervisord.conf names its socket `%(ENV_BETPIPE_SOCK)s` and the socket's name is a hash of the
home (Home.socket), so a bare `supervisorctl -c supervisord.conf` cannot reach it. This sets the
two variables for the home and runs supervisorctl with the repository's conf. The programs are the
group `betpipe`; a bare program name (`restart decide`, `tail -f execute`) means `betpipe:<name>`.
"""
from __future__ import annotations

import os
import sys

GROUP = "betpipe"


def register(sub) -> None:
    p = sub.add_parser("ctl", help="supervisorctl for this home: status, restart decide, tail -f execute",
                       description=__doc__, prefix_chars="\0",  # every argument goes to
                       add_help=False)  # supervisorctl, -h too (a NUL-prefixed -h helps no one)
    p.add_argument("ctl_args", nargs="*", metavar="ARGS", help="supervisorctl's arguments")
    p.set_defaults(run=_ctl)


def qualify(args: list[str], programs) -> list[str]:
    """supervisorctl's arguments with each bare program name as `betpipe:<name>`."""
    return [f"{GROUP}:{a}" if a in programs else a for a in args]


def ctl_command(home, args: list[str]) -> tuple[list[str], dict]:
    """(argv, environment) of the supervisorctl call for this home."""
    from pipeline.core.paths import REPO
    from pipeline.programs import PROGRAMS

    env = dict(os.environ, BETPIPE_HOME=str(home.root), BETPIPE_SOCK=str(home.socket))
    argv = [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(REPO / "supervisord.conf"),
            *qualify(args or ["status"], PROGRAMS)]
    return argv, env


def _ctl(args) -> int:
    from pipeline.core.paths import Home

    argv, env = ctl_command(Home.from_env(args.home), args.ctl_args)
    sys.stdout.flush()
    os.execve(argv[0], argv, env)  # supervisorctl's own exit code and terminal (tail -f, Ctrl-C)
    return 1  # not reached
