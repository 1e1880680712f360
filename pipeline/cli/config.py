"""`betpipe config schema | check FILE | new [--template NAME]` (issue 20).

schema: the JSON Schema of system-config.json (init-home writes it beside the config, which names
it in "$schema" so editors complete and check keys). check: exit 0 when betpipe would load the
file, else exit 2 with `file: $.json.path: reason` on stderr. new: a config from the cookbook in
config/examples/ (one example session each), to stdout or --out FILE.
"""
from __future__ import annotations

import sys
from pathlib import Path


def _examples_dir() -> Path:
    from pipeline.core.paths import REPO

    return REPO / "config" / "examples"


def templates() -> dict[str, Path]:
    return {p.stem: p for p in sorted(_examples_dir().glob("*.json"))}


DEFAULT_TEMPLATE = "flat-favourite"


def register(sub) -> None:
    p = sub.add_parser("config", help="the config's JSON Schema, check a config, start a new one",
                       description=__doc__)
    verbs = p.add_subparsers(dest="config_verb", required=True)
    v = verbs.add_parser("schema", help="print the JSON Schema of system-config.json")
    v.add_argument("--out", help="write it to FILE instead of stdout")
    v.set_defaults(run=_schema)
    v = verbs.add_parser("check", help="exit 0 if FILE is a valid config, else 2 with the reason")
    v.add_argument("file", nargs="?", help="default: the home's config/system-config.json")
    v.set_defaults(run=_check)
    v = verbs.add_parser("new", help="a new config from a cookbook template (config/examples/)")
    v.add_argument("--template", default=DEFAULT_TEMPLATE,
                   help=f"flat-favourite, ladder, asian-handicap, value-model (default "
                        f"{DEFAULT_TEMPLATE}); --list shows them")
    v.add_argument("--list", action="store_true", help="list the templates and exit")
    v.add_argument("--out", help="write to FILE (never over an existing file) instead of stdout")
    v.set_defaults(run=_new)


def _schema(args) -> int:
    from pipeline.core.configschema import config_schema
    from pipeline.core.filebus import atomic_write_bytes, dumps

    data = dumps(config_schema()) + b"\n"
    if args.out:
        atomic_write_bytes(Path(args.out), data)
        print(f"wrote the config schema to {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
    return 0


def _check(args) -> int:
    from pipeline.cli.common import config_or_say
    from pipeline.core.paths import Home

    path = Path(args.file) if args.file else Home.from_env(args.home).system_config
    cfg = config_or_say(path)
    if cfg is None:
        return 2
    print(f"{path}: ok ({len(cfg.sessions)} sessions)", file=sys.stderr)
    return 0


def _new(args) -> int:
    from pipeline.core.configschema import SCHEMA_NAME

    known = templates()
    if args.list:
        for name in known:
            print(name)
        return 0
    if args.template not in known:
        print(f"betpipe: no template {args.template!r}; there are: {', '.join(known)}",
              file=sys.stderr)
        return 2
    text = known[args.template].read_text()
    # the examples sit one folder below the schema; a new config sits beside it
    text = text.replace(f'"../{SCHEMA_NAME}"', f'"{SCHEMA_NAME}"', 1)
    if not args.out:
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    try:
        with open(out, "x") as f:
            f.write(text)
    except FileExistsError:
        print(f"betpipe: {out} exists; not overwritten", file=sys.stderr)
        return 2
    print(f"wrote the {args.template} template to {out}; check it with: betpipe config check {out}",
          file=sys.stderr)
    return 0
