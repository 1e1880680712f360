"""`betpipe settle BET_REF --score H-A | --void`: settle by hand a bet whose result no source will
ever give (DESIGN: operations). Appends one BET_SETTLED with `source: manual` under the ledger
lock (`Ledger.transact`), so it cannot race track: decided on the ledger as it stands under the
lock, by the settlement rule track uses (`pipeline.strategies.overdue.manual_settlement`). Refused
(exit 2, nothing written) for an unknown bet_ref, a bet without BET_PLACED, a bet already settled.
"""
from __future__ import annotations

import argparse
import re
import sys

SCORE = re.compile(r"^\s*(\d{1,3})\s*-\s*(\d{1,3})\s*$")


def score(text: str) -> tuple[int, int]:
    m = SCORE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a final score HOME-AWAY, e.g. 2-1")
    return int(m.group(1)), int(m.group(2))


def register(sub) -> None:
    p = sub.add_parser("settle", help="settle an open bet by hand (a result no source gives)")
    p.add_argument("bet_ref", help="the bookmaker's bet ref (`betpipe bets --overdue`)")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--score", type=score, metavar="H-A", help="the final score, home-away")
    how.add_argument("--void", action="store_true", help="void: the stake comes back")
    p.set_defaults(run=run)


def run(args) -> int:
    from pipeline.cli.sessions import _clock
    from pipeline.core.ledger import Ledger
    from pipeline.core.paths import Home
    from pipeline.strategies.overdue import Refused, manual_settlement

    home = Home.from_env(args.home)
    if not home.ledger.exists():
        print(f"betpipe settle: unknown bet_ref {args.bet_ref!r}: there is no ledger "
              f"({home.ledger})", file=sys.stderr)
        return 2
    ledger = Ledger(home.ledger, _clock(home))
    score_ = None if args.void else args.score
    try:
        ev = ledger.transact(lambda events: [manual_settlement(events, args.bet_ref, score_)])[0]
    except Refused as e:
        print(f"betpipe settle: {e} ({home.ledger})", file=sys.stderr)
        return 2
    print(f"settled {ev.bet_ref} by hand at seq {ev.seq}: {ev.outcome}, payout "
          f"{ev.payout:.2f}, profit {ev.profit:+.2f} ({ev.session}, {ev.match_key})")
    return 0
