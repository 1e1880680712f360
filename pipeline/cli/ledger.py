"""`betpipe ledger archive --before DATE`: move the settled history before DATE into
`data/archive/bet-record-DATE.jsonl.gz` behind a CHECKPOINT (pipeline.core.archive). Safe while
the pipeline runs: it works under the ledger's lock and replaces the ledger atomically; the
programs notice the new file and rebuild their state from it."""
from __future__ import annotations

import argparse
import sys
from datetime import date


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def register(sub) -> None:
    p = sub.add_parser("ledger", help="ledger maintenance (archive settled history)")
    what = p.add_subparsers(dest="ledger_command", required=True)
    a = what.add_parser("archive", help="move bets settled before DATE (and session events) "
                                        "into data/archive/, behind a CHECKPOINT")
    a.add_argument("--before", type=day, required=True, metavar="DATE",
                   help="UTC date YYYY-MM-DD: events stamped before it may move")
    a.add_argument("--json", action="store_true", help="print the report as JSON")
    a.set_defaults(run=run_archive)


def run_archive(args) -> int:
    import orjson

    from pipeline.cli.sessions import _clock
    from pipeline.core.archive import archive
    from pipeline.core.filebus import BadFile
    from pipeline.core.ledger import Ledger
    from pipeline.core.paths import Home

    home = Home.from_env(args.home)
    if not home.ledger.exists():
        print(f"betpipe ledger archive: there is no ledger ({home.ledger})", file=sys.stderr)
        return 2
    try:
        report = archive(Ledger(home.ledger, _clock(home)), args.before)
    except BadFile as e:
        print(f"betpipe ledger archive: {e}; nothing was moved", file=sys.stderr)
        return 2
    if args.json:
        print(orjson.dumps(report).decode())
    elif report["checkpoint"] is None:
        print(f"nothing settled before {report['before']} to archive ({home.ledger})")
    else:
        print(f"archived {report['archived']} events into {report['file']}; the ledger keeps "
              f"{report['kept']} and a CHECKPOINT at seq {report['checkpoint']}")
    return 0
