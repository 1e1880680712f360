"""The sandbox bookmaker's web app (Starlette): pages for people, a JSON twin for tests.

Routes: `GET /` (links), `GET /odds` (the monitor's contract, see pages.py), `GET /results`,
`GET /api/matches`, `GET /api/bets[?client_ref=…]`, `POST /api/bets`, and the browser's login,
bet slip and bet history (slip.py). Time comes from the `Clock` it is given; every answer is
computed from the market and the price pools at that instant.

`POST /api/bets` (the JSON twin, for tests and reconciliation: no login) takes `{client_ref,
match_id | match_key, market? (1X2 | AH | OU, default 1X2), selection, line? (AH: the home line;
OU: goals), stake, min_odds?}` and books the bet at the price its stake gets from the pool of
that side and line when it is on sale (201); a client_ref it already accepted answers with that
first bet (200) and books nothing. Refusals: 422 bad_request / unknown_match, 409 suspended /
line_changed / over_limit / price_changed, as `{"error", "reason_code"}`. `GET /api/bets` gives
each bet's market and line (null for 1X2), its status and payout (strategies.markets).
"""
from __future__ import annotations

from datetime import timedelta

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pipeline.core.clock import Clock
from pipeline.core.config import SandboxConfig
from pipeline.core.timefmt import iso
from pipeline.programs.bookmaker import pages, slip
from pipeline.programs.bookmaker.slip import NO_STORE, html as html_response
from pipeline.programs.bookmaker.auth import COOKIE, Sessions, sandbox_account
from pipeline.programs.bookmaker.book import Bookmaker
from pipeline.programs.bookmaker.market import RESULT_AFTER, Market
from pipeline.programs.bookmaker.store import BetRefused, BetStore

RESULT_DAYS_DEFAULT, RESULT_DAYS_MAX = 3, 60


def json_response(doc, status: int = 200) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type="application/json",
                    headers=NO_STORE)


def create_app(market: Market, store: BetStore, clock: Clock, *, log=None,
               config: SandboxConfig | None = None, sessions: Sessions | None = None) -> Starlette:
    """The web app; `app.state.bookmaker` / `app.state.sessions` let the program reconfigure it.
    Without `sessions` it accepts the account of the environment (else the demo account)."""
    book = Bookmaker(market, store, clock, log, config)
    sessions = sessions or Sessions(sandbox_account()[0])

    def user_of(request: Request) -> str | None:
        return sessions.user(request.cookies.get(COOKIE))

    async def index(request: Request):
        now = clock.now()
        return html_response(pages.index_page(now, listed=len(market.listed(now)),
                                              fixtures=len(market), bets=len(store),
                                              user=user_of(request)))

    async def odds(request: Request):
        now = clock.now()
        return html_response(pages.odds_page(book.listed(now), now, user_of(request)))

    async def results(request: Request):
        now = clock.now()
        try:
            days = min(RESULT_DAYS_MAX, max(1, int(request.query_params.get("days", ""))))
        except ValueError:
            days = RESULT_DAYS_DEFAULT
        finished = [market.state(f, now)
                    for f in market.between(now - timedelta(days=days), now - RESULT_AFTER)]
        finished = [s for s in finished if s.status == "finished"]
        return html_response(pages.results_page(finished[::-1], now, user_of(request)))

    async def api_matches(_request: Request):
        now = clock.now()
        return json_response({"sim_now": iso(now),
                              "matches": [s.to_json() for s in book.listed(now)]})

    async def api_bets(request: Request):
        return json_response({"bets": book.bets(request.query_params.get("client_ref"))})

    async def api_place(request: Request):
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            body = None
        try:
            bet, new = book.place(body)
        except BetRefused as e:
            if log:
                log.info("bookmaker.bet_refused", reason_code=e.reason_code, reason=e.message,
                         client_ref=body.get("client_ref") if isinstance(body, dict) else None)
            return json_response(e.to_json(), e.http_status)
        if log:
            log.info("bookmaker.bet_accepted" if new else "bookmaker.bet_repeated",
                     **{k: bet[k] for k in ("client_ref", "bet_ref", "match_key", "market",
                                            "selection", "line", "odds", "stake")})
        return json_response(bet, 201 if new else 200)

    routes = [
        Route("/", index), Route("/odds", odds), Route("/results", results),
        Route("/api/matches", api_matches),
        Route("/api/bets", api_bets, methods=["GET"]),
        Route("/api/bets", api_place, methods=["POST"]),
        *slip.routes(book, sessions, log),
    ]
    app = Starlette(routes=routes)
    app.state.bookmaker, app.state.sessions = book, sessions
    return app
