"""`betpipe model predict --data CSV... --at ISO [--xi X] [--json]`: the probabilities.json
document for the files' matches kicking off in the 7 days after ISO, fitted (Dixon–Coles, one
fit per competition) only on the files' matches finished before ISO.

Without --json a table: kickoff, key, p(home/draw/away), λ, μ. A bad file, date or xi is a
message on stderr naming it (exit 2).
"""
from __future__ import annotations

import math
import sys



def add_predict(p) -> None:
    """`predict` under the `model` program's parser (`betpipe model` alone starts the program)."""
    sub = p.add_subparsers(dest="model_command")
    q = sub.add_parser("predict", help="probabilities.json for CSV matches in the week after --at")
    q.add_argument("--data", nargs="+", required=True, metavar="CSV",
                   help="football-data CSV files (results before --at train the model)")
    q.add_argument("--at", required=True, help="the instant to predict for, ISO with offset")
    q.add_argument("--xi", type=float, default=None,
                   help="time decay per day (default 0.0018)")
    q.add_argument("--json", action="store_true", help="print the document as JSON")
    q.set_defaults(run=_predict)


def _predict(args) -> int:
    import orjson

    from pipeline.core.matchkey import load_tables  # numpy/scipy only for this command
    from pipeline.core.timefmt import iso, parse_iso
    from pipeline.history.football_data import FootballDataError, parse_file
    from pipeline.models import dixon_coles as dc
    from pipeline.models.predict import document, rows_of_fixtures

    def fail(msg: str) -> int:
        print(f"betpipe model predict: {msg}", file=sys.stderr)
        return 2

    try:
        at = parse_iso(args.at)
    except ValueError as e:
        return fail(f"--at {args.at!r}: {e}")
    xi = dc.DEFAULT_XI if args.xi is None else args.xi
    if not (math.isfinite(xi) and xi >= 0):
        return fail(f"--xi {args.xi!r}: must be a finite number >= 0")
    tables = load_tables()
    fixtures = []
    for path in args.data:
        try:
            fixtures.extend(parse_file(path, tables))
        except (OSError, FootballDataError) as e:
            return fail(f"--data {path}: {e}")
    doc = document(rows_of_fixtures(fixtures, tables), at, xi)
    if args.json:
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    m = doc["model"]
    print(f"{m['name']} fitted at {m['fitted_at']} on results until {m['trained_until']} "
          f"(xi {xi:g}); {len(doc['matches'])} match(es) priced, {m['unpriced']} with an "
          "unseen team left out")
    kickoff = {f.key: f.kickoff for f in fixtures}
    for e in doc["matches"]:
        p, g = e["1X2"], e["goals"]
        print(f"{iso(kickoff[e['key']])}  {e['key']:<45} {p['home']:.3f} {p['draw']:.3f} "
              f"{p['away']:.3f}  λ {g['home']:.2f} μ {g['away']:.2f}")
    return 0
