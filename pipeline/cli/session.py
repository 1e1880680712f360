"""`betpipe session add | set | enable | disable | remove` (issue 20): the config edited through
the dashboard toggle's validation and atomic write (core/configedit.py), the rest of the file kept
as written, each change recorded in the audit log (by "cli"). Exit 0 done (or nothing to change),
2 refused (no such session, an invalid result: file, JSON path and reason on stderr)."""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("session", help="add, change, enable, disable or remove a session",
                       description=__doc__)
    verbs = p.add_subparsers(dest="session_verb", required=True)
    v = verbs.add_parser("add", help="add a session: --json '{...}' or --template NAME --id ID")
    v.add_argument("--json", help="the session as a JSON object")
    v.add_argument("--template", help="the first session of a cookbook template (config new --list)")
    v.add_argument("--id", help="the new session's id (with --template)")
    v.set_defaults(run=_run, verb="add")
    v = verbs.add_parser("set", help="set keys of a session: set ID staking.stake=20 odds.max=3.5")
    v.add_argument("id")
    v.add_argument("assignments", nargs="+", metavar="KEY=VALUE", help="VALUE is JSON, else text")
    v.set_defaults(run=_run, verb="set")
    for verb in ("enable", "disable"):
        v = verbs.add_parser(verb, help=f"{verb} a session, or every session of --category")
        v.add_argument("id", nargs="?")
        v.add_argument("--category", help=f"{verb} every session of this category")
        v.set_defaults(run=_run, verb=verb)
    v = verbs.add_parser("remove", help="remove a session from the config (its ledger stays)")
    v.add_argument("id")
    v.set_defaults(run=_run, verb="remove")


def _template_session(name: str, new_id: str | None) -> dict:
    import orjson

    from pipeline.cli.config import templates
    from pipeline.core.configedit import EditRefused

    known = templates()
    if name not in known:
        raise EditRefused(422, f"no template {name!r}; there are: {', '.join(known)}")
    session = orjson.loads(known[name].read_bytes())["sessions"][0]
    return {**session, "id": new_id} if new_id else session


def _make(args):
    """A function config bytes -> (new bytes, what changed) for this command."""
    import orjson

    from pipeline.core import sessionedit as se
    from pipeline.core.configedit import EditRefused

    if args.verb == "add":
        if (args.json is None) == (args.template is None):
            raise EditRefused(422, "give --json '{...}' or --template NAME")
        if args.json is not None:
            try:
                session = orjson.loads(args.json)
            except orjson.JSONDecodeError as e:
                raise EditRefused(422, f"--json is not JSON: {e}") from None
        else:
            session = _template_session(args.template, args.id)
        return lambda data, path: se.add(data, path, session)
    if args.verb == "set":
        return lambda data, path: se.set_keys(data, path, args.id, args.assignments)
    if args.verb in ("enable", "disable"):
        if (args.id is None) == (args.category is None):
            raise EditRefused(422, "give a session id or --category, not both")
        on = args.verb == "enable"
        return lambda data, path: se.set_enabled_many(data, path, on, args.id, args.category)
    return lambda data, path: se.remove(data, path, args.id)


def _run(args) -> int:
    from pipeline.core import clock as clockmod
    from pipeline.core.audit import Audit
    from pipeline.core.configedit import EditRefused, write_edit
    from pipeline.core.paths import Home
    from pipeline.core.timefmt import iso

    home = Home.from_env(args.home)
    path = home.system_config
    try:
        make = _make(args)
        try:
            ts = iso(clockmod.load_clock(home.clock).now())
        except clockmod.ClockError:  # no clock anchored yet: the real time
            ts = iso(clockmod.real_now())
        record = write_edit(path, Audit(home.audit), lambda data: make(data, path), ts, by="cli")
    except EditRefused as e:
        print(f"betpipe: session {args.verb}: {e.reason}", file=sys.stderr)
        return 2
    except FileNotFoundError:
        print(f"betpipe: session {args.verb}: {path}: file not found (betpipe init-home)",
              file=sys.stderr)
        return 2
    except OSError as e:
        print(f"betpipe: session {args.verb}: {e}", file=sys.stderr)
        return 1
    if record is None:
        print(f"nothing to change in {path}", file=sys.stderr)
    else:
        print("; ".join(record.get("changes") or []) or f"changed {path}", file=sys.stderr)
    return 0
