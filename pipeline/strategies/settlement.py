"""Settlement math and the figures of `data/results.json`: pure functions of plain values.

`settle(bet, match)` says how an open bet settles against a match of odds-data.json (or None
while it cannot yet), `halt_cause(...)` whether a session's limits halt it, `figures(sb, start)`
a session's numbers for results.json (DESIGN: strategy sessions → halts; contracts/results).
The track program (and the executor, for halts caused by placements) call them; nothing here
reads a file or a clock.
"""
from __future__ import annotations

from typing import Iterable, Mapping

from pipeline.core.config import Config
from pipeline.core.checkpoint import Carried, Life
from pipeline.core.events import ABSENT, BetSettled, SessionHalted, maker
from pipeline.core.state import Bet, Book, SessionBook, bankroll, free_bankroll
from pipeline.core.timefmt import parse_iso
from pipeline.strategies import clv, markets, rules
from pipeline.strategies.ladder import cycle

VOID_STATUSES = ("postponed", "void")
_settled = maker(BetSettled)  # positional: one per bet settled (the backtest's hot path)
DEFAULT_BANKROLL = 1000.0


def winner(result: dict) -> str:
    """home | draw | away from {"home_goals", "away_goals"}."""
    return markets.winner(int(result["home_goals"]), int(result["away_goals"]))


def settle(bet: Bet, match: dict | None, source: str = ABSENT) -> BetSettled | None:
    """The BET_SETTLED body for `bet` once its match is finished (with a result), postponed or
    void; None while the match is still to be decided (or unknown to odds-data). The outcome,
    payout and profit are `markets.settle`'s (a postponed or void match: `markets.void`).
    `source` (track | manual) is written when given (the backtest gives none)."""
    if match is None or bet.outcome is not None:
        return None
    status, result = match.get("status"), match.get("result")
    if status in VOID_STATUSES:  # the stake back: paid to the cent, profit 0
        s = markets.void(bet.odds, bet.stake)
    elif status == "finished" and result:
        s = markets.settle(bet.market, bet.selection, bet.line, bet.odds, bet.stake,
                           int(result["home_goals"]), int(result["away_goals"]))
    else:
        return None
    line = ABSENT if bet.line is None else bet.line
    return _settled((0, ABSENT, ABSENT, bet.session, None, bet.decision_id, bet.bet_ref,
                     bet.client_ref, bet.match_key, bet.market, bet.selection, bet.odds,
                     bet.stake, s.outcome, s.payout, s.profit, status, result, line, source))


halt_cause = rules.halt_cause  # the one halt rule of decide, execute and track


def halt_event(session: str, cause: tuple[str, str]) -> SessionHalted:
    return SessionHalted(session=session, reason=cause[0], detail=cause[1])


def max_drawdown(profits: Iterable[float]) -> float:
    """Largest fall of cumulative profit from its running peak; the peak starts at 0."""
    cum = peak = worst = 0.0
    for p in profits:
        cum += p
        peak = max(peak, cum)
        worst = max(worst, peak - cum)
    return round(worst, 2)


def figures(sb: SessionBook, start: float, cycle_no: int = 1,
            closes: Mapping[str, object] | None = None) -> dict:
    """One session's numbers for results.json (and every other report): its whole ledger.

    bets: every bet placed; staked: their stakes but void ones (open or settled otherwise);
    profit: every settlement; roi = profit / staked; hit_rate = (won + half_won) / settled
    non-void bets (DESIGN: markets); equity:
    cumulative settled profit after each settlement, in settlement order; bankroll = start +
    profit; free_bankroll = that - open and in-flight stakes (`core.state` defines both).
    `since_reset` is what the limits count since the session's last SESSION_RESET (`reset_seq`
    0: never reset): bets placed and the profit of the settlements written since. Both ratios
    are 0 when their denominator is. `closes` (bet_ref -> `clv.Clv` or None: no closing
    price) gives `clv_bets`, `clv_mean`, `ev_close_mean` over the bets found in it.
    """
    life = sb.carried.life.copy() if sb.carried is not None else Life()  # archived, first
    life.add_bets(sb.all_bets).add_settled(sb.all_settled)
    staked, profit = round(life.staked, 2), sb.lifetime_profit
    return {"bankroll": bankroll(sb, start), "staked": staked, "profit": profit,
            "roi": round(profit / staked, 6) if staked else 0.0,
            "hit_rate": round(life.won / life.decided, 6) if life.decided else 0.0,
            "max_drawdown": round(life.drawdown[2], 2),
            "bets": life.bets, "open_bets": len(sb.open_bets), "in_flight": len(sb.in_flight),
            "free_bankroll": free_bankroll(sb, start), "cycle": cycle_no,
            "halted": sb.halted, "equity": life.equity,
            "since_reset": {"reset_seq": sb.reset_seq, "bets": sb.bets_placed,
                            "profit": sb.settled_profit},
            # the ledger's bets only: an archive carries no closing prices (README)
            **clv.summary((closes or {}).get(b.bet_ref) for b in sb.all_bets)}


def results_body(book: Book, config: Config | None,
                 closes: Mapping[str, "clv.Clv | None"] | None = None) -> dict:
    """The body of results.json: figures per session (configured or seen in the ledger) and in
    total (every session's bets, settlements merged in settlement order). A session the config
    no longer has keeps its figures but brings no bankroll (`start_bankroll`). `closes`: each
    bet's closing line taken so far (bet_ref -> Clv, None: none); those with a price are listed
    in `closes` (bet_ref -> {closing, clv, ev_close, market, line (AH, OU)}) for the
    per-bet reports."""
    ids = [s.id for s in config.sessions] if config else []
    ids += [sid for sid in book.sessions if sid not in ids]
    start = {sid: start_bankroll(config, sid) for sid in ids}
    empty = SessionBook("")
    sessions = {sid: figures(sb := book.sessions.get(sid, empty), start[sid],
                             cycle(config, sid, sb), closes)
                for sid in ids}
    total = SessionBook("total")
    if book.carried_total is not None:  # every session's archived settlements come first
        total.carried = Carried(book.carried_total, None)
    for sid in ids:
        sb = book.sessions.get(sid, empty)
        total.bets += sb.all_bets
        total.settled += sb.all_settled
        total.in_flight.update(sb.in_flight)
    total.bets.sort(key=lambda b: b.seq)
    total.settled.sort(key=lambda b: (parse_iso(b.settled_at), b.seq))
    total.halted = "halt" if config is not None and config.halt else None
    body = figures(total, sum(start.values()), closes=closes)
    del body["since_reset"]
    out = {"ledger_seq": book.seq, "sessions": sessions, "total": body}
    if closes is not None:
        bets = {b.bet_ref: b for sb in book.sessions.values() for b in sb.all_bets}
        out["closes"] = {ref: {**c.to_json(), **_market_of(bets.get(ref))}
                         for ref, c in closes.items() if c is not None}
    return out


def _market_of(bet) -> dict:
    """A close's market and line, as the ledger's events write them (1X2: no line)."""
    market, line = clv.bet_market(bet)
    return {"market": market} if line is None else {"market": market, "line": line}


def start_bankroll(config: Config | None, session_id: str) -> float:
    """The session's starting bankroll from the config; 0 for a session the config no longer
    has (renamed or removed: its money was counted under its old id, DESIGN invariant 9), and
    the default for every session when there is no config at all."""
    if config is None:
        return DEFAULT_BANKROLL
    s = config.session(session_id)
    return s.bankroll if s else 0.0
