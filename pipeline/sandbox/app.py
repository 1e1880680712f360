"""The sandbox bookmaker's web app (Starlette): pages for people, a JSON twin for tests.

Routes: `GET /` (links), `GET /odds` (the monitor's contract, see pages.py), `GET /results`,
`GET /bets`, `GET /api/matches`, `GET /api/bets[?client_ref=…]`, `POST /api/bets`.
Time comes from the `Clock` it is given; every answer is computed from the market at that instant.

`POST /api/bets` takes `{client_ref, match_id | match_key, selection, stake, min_odds?}` and books
the bet at the current price when the match is on sale (201); a client_ref it already accepted
answers with that first bet (200) and books nothing. Refusals: 422 bad_request / unknown_match,
409 suspended / price_changed, as `{"error", "reason_code"}`.
"""
from __future__ import annotations

import math
from datetime import timedelta

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from pipeline.core.clock import Clock
from pipeline.core.timefmt import iso
from pipeline.sandbox import pages
from pipeline.sandbox.market import RESULT_AFTER, SELECTIONS, Market
from pipeline.sandbox.store import BetRefused, BetStore, BET_FIELDS

NO_STORE = {"Cache-Control": "no-store"}
MAX_REF = 200
RESULT_DAYS_DEFAULT, RESULT_DAYS_MAX = 3, 60


def json_response(doc, status: int = 200) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type="application/json",
                    headers=NO_STORE)


def html_response(text: str) -> HTMLResponse:
    return HTMLResponse(text, headers=NO_STORE)


def _number(body: dict, name: str, *, required: bool) -> float | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BetRefused("bad_request", f"{name} must be a number")
    if value <= 0:
        raise BetRefused("bad_request", f"{name} must be greater than 0")
    return float(value)


def _text(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_REF:
        raise BetRefused("bad_request", f"{name} must be a non-empty string (≤ {MAX_REF} chars)")
    return value


class Bookmaker:
    """The bookmaker's logic between the market, the store and the clock (no HTTP in here)."""

    def __init__(self, market: Market, store: BetStore, clock: Clock, log=None):
        self.market, self.store, self.clock, self.log = market, store, clock, log

    def view(self, bet: dict, now=None) -> dict:
        """A bet as the API shows it, with its status (open | won | lost | void) at `now`."""
        now = now or self.clock.now()
        out = {k: bet.get(k) for k in BET_FIELDS}
        fixture = self.market.find(bet.get("match_id"), bet.get("match_key"))
        status = self.market.state(fixture, now).settle(bet["selection"]) if fixture else "open"
        stake, odds = float(bet["stake"]), float(bet["odds"])
        out["status"] = status
        out["payout"] = {"won": round(stake * odds, 2), "lost": 0.0, "void": stake}.get(status)
        return out

    def bets(self, client_ref: str | None = None) -> list[dict]:
        now = self.clock.now()
        return [self.view(b, now) for b in self.store.all()
                if client_ref is None or b["client_ref"] == client_ref]

    def place(self, body) -> tuple[dict, bool]:
        """(bet view, newly booked) or BetRefused."""
        if not isinstance(body, dict):
            raise BetRefused("bad_request", "the body must be a JSON object")
        client_ref = _text(body, "client_ref")
        if client_ref is None:
            raise BetRefused("bad_request", "client_ref is required")
        known = self.store.get(client_ref)
        if known is not None:  # idempotent: the first bet, whatever the body says now
            return self.view(known), False
        match_id, match_key = _text(body, "match_id"), _text(body, "match_key")
        if match_id is None and match_key is None:
            raise BetRefused("bad_request", "match_id or match_key is required")
        selection = body.get("selection")
        if selection not in SELECTIONS:
            raise BetRefused("bad_request", f"selection must be one of {', '.join(SELECTIONS)}")
        stake = _number(body, "stake", required=True)
        min_odds = _number(body, "min_odds", required=False)

        def make(_bet_ref: str) -> dict:
            now = self.clock.now()
            fixture = self.market.find(match_id, match_key)
            if fixture is None:
                raise BetRefused("unknown_match", f"no match {match_id or match_key!r}")
            state = self.market.state(fixture, now)
            if not state.on_sale:
                why = {"live": "the match has kicked off", "finished": "the match is over",
                       "postponed": "the match is postponed"}.get(state.status, "not on sale yet")
                raise BetRefused("suspended", f"market suspended: {why}")
            price = state.price(selection)
            if min_odds is not None and price < min_odds:
                raise BetRefused("price_changed",
                                 f"price {price:.2f} is below min_odds {min_odds:.2f}")
            return {"match_id": fixture.id, "match_key": fixture.key, "selection": selection,
                    "odds": price, "stake": stake, "placed_at": iso(now),
                    "kickoff": iso(fixture.kickoff)}

        bet, new = self.store.place(client_ref, make)
        return self.view(bet), new


def create_app(market: Market, store: BetStore, clock: Clock, *, log=None) -> Starlette:
    book = Bookmaker(market, store, clock, log)

    async def index(_request: Request):
        now = clock.now()
        return html_response(pages.index_page(now, listed=len(market.listed(now)),
                                              fixtures=len(market), bets=len(store)))

    async def odds(_request: Request):
        now = clock.now()
        return html_response(pages.odds_page(market.listed(now), now))

    async def results(request: Request):
        now = clock.now()
        try:
            days = min(RESULT_DAYS_MAX, max(1, int(request.query_params.get("days", ""))))
        except ValueError:
            days = RESULT_DAYS_DEFAULT
        finished = [market.state(f, now)
                    for f in market.between(now - timedelta(days=days), now - RESULT_AFTER)]
        finished = [s for s in finished if s.status == "finished"]
        return html_response(pages.results_page(finished[::-1], now))

    async def bets_html(_request: Request):
        return html_response(pages.bets_page(book.bets()[::-1], clock.now()))

    async def api_matches(_request: Request):
        now = clock.now()
        return json_response({"sim_now": iso(now),
                              "matches": [s.to_json() for s in market.listed(now)]})

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
                     **{k: bet[k] for k in ("client_ref", "bet_ref", "match_key", "selection",
                                            "odds", "stake")})
        return json_response(bet, 201 if new else 200)

    routes = [
        Route("/", index), Route("/odds", odds), Route("/results", results),
        Route("/bets", bets_html), Route("/api/matches", api_matches),
        Route("/api/bets", api_bets, methods=["GET"]),
        Route("/api/bets", api_place, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.bookmaker = book
    return app
