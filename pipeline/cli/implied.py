"""`betpipe implied --method M ODDS ODDS [ODDS]`: a market's margin-free probabilities.

    betpipe implied --method shin 2.7 2.3 4.4
    {"method":"shin","probabilities":[...],"margin":0.1362...}

One JSON line on stdout; a bad price or method is a message on stderr naming it (exit 2).
"""
from __future__ import annotations

import sys

from pipeline.strategies.implied import METHODS, implied


def register(sub) -> None:
    p = sub.add_parser("implied", help="margin-free probabilities of one market's prices")
    p.add_argument("--method", required=True, choices=tuple(METHODS),
                   help="how the margin is removed (DESIGN: Probabilities, models and value)")
    p.add_argument("odds", nargs="+", metavar="ODDS",
                   help="the decimal price of every outcome (2 or 3: home draw away, over under)")
    p.set_defaults(run=_run)


def _price(i: int, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"odds[{i}] = {text!r}: not a number") from None


def _run(args) -> int:
    import orjson

    try:
        odds = [_price(i, text) for i, text in enumerate(args.odds)]
        result = implied(odds, args.method)
    except ValueError as e:
        print(f"betpipe implied: {e}", file=sys.stderr)
        return 2
    doc = {"method": args.method, "probabilities": list(result.probabilities),
           "margin": result.margin}
    sys.stdout.write(orjson.dumps(doc).decode() + "\n")
    return 0
