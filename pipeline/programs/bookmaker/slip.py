"""The browser's routes: `GET|POST /login`, `POST /logout`, `GET|POST /slip`, `GET /bets`.

Forms are plain `application/x-www-form-urlencoded` posts (no JavaScript needed). The slip and the
history need a login: logged out, `GET` redirects to `/login?next=…` and `POST /slip` answers 401
with `#refusal[data-reason=logged_out]`. The slip's script asks (`X-Slip-Answer: fragment`) for
the `#confirmation` / `#refusal` alone; a plain post gets a whole page. A password is never
logged, stored or shown.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from pipeline.programs.bookmaker import slip_pages
from pipeline.programs.bookmaker.auth import COOKIE, Sessions
from pipeline.programs.bookmaker.book import Bookmaker, market_of
from pipeline.programs.bookmaker.store import BetRefused

NO_STORE = {"Cache-Control": "no-store"}
MAX_FORM_BYTES = 8192
FRAGMENT_HEADER = "x-slip-answer"  # "fragment": the answer alone, not a whole page


def html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=NO_STORE)


def safe_next(value: str | None) -> str:
    """A local path to go back to after the login (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/odds"
    return value


async def form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def slip_body(fields: dict[str, str]) -> dict:
    """The slip's form fields as a placement body for `Bookmaker.place` (numbers parsed)."""
    body: dict = {"client_ref": fields.get("client_ref") or None,
                  "match_id": fields.get("match") or None, "match_key": fields.get("match") or None,
                  "market": fields.get("market") or "1X2", "selection": fields.get("selection")}
    for name in ("stake", "min_odds", "line"):
        raw = (fields.get(name) or "").strip()
        if not raw:
            continue
        try:
            body[name] = float(raw)
        except ValueError:
            raise BetRefused("bad_request", f"{name} must be a number, not {raw!r}") from None
    return body


def routes(book: Bookmaker, sessions: Sessions, log=None) -> list[Route]:
    clock = book.clock

    def user_of(request: Request) -> str | None:
        return sessions.user(request.cookies.get(COOKIE))

    def to_login(request: Request) -> Response:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303,
                                headers=NO_STORE)

    async def login_form(request: Request):
        return html(slip_pages.login_page(clock.now(), safe_next(request.query_params.get("next"))))

    async def login(request: Request):
        fields = await form(request)
        user, next_url = fields.get("user", ""), safe_next(fields.get("next"))
        token = sessions.login(user, fields.get("password", ""))
        if token is None:
            if log:
                log.warning("bookmaker.login_refused")  # no user name: it is a secret too
            return html(slip_pages.login_page(clock.now(), next_url, failed=True), 401)
        if log:
            log.info("bookmaker.login")
        response = RedirectResponse(next_url, status_code=303, headers=NO_STORE)
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/")
        return response

    async def logout(request: Request):
        sessions.logout(request.cookies.get(COOKIE))
        response = RedirectResponse("/odds", status_code=303, headers=NO_STORE)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def slip_form(request: Request):
        user = user_of(request)
        if user is None:
            return to_login(request)
        now, query = clock.now(), request.query_params
        ident = query.get("match", "")
        fixture = book.market.find(ident, ident)
        try:
            if fixture is None:
                raise BetRefused("unknown_match", f"no match {ident!r}")
            fields = {"selection": query.get("selection", "home"), "market": query.get("market"),
                      "line": query.get("line")}
            if fields["market"] not in (None, "", "1X2") and not fields["line"]:
                entry = book.state(fixture, now).entry(fields["market"])  # the line on offer
                fields["line"] = "" if entry is None else str(entry[0])
            market, selection, line = market_of(slip_body(fields))
        except BetRefused as e:
            return html(slip_pages.refusal_page(e.reason_code, e.message, None, now, user), 404)
        return html(slip_pages.slip_page(book.state(fixture, now), selection, now, user, market,
                                         line))

    async def slip_send(request: Request):
        fields = await form(request)
        ref, user = fields.get("client_ref"), user_of(request)
        fragment = request.headers.get(FRAGMENT_HEADER) == "fragment"  # the slip's own script
        try:
            if user is None:
                raise BetRefused("logged_out", "you are not logged in (or your session ended)")
            bet, new = book.place(slip_body(fields))
        except BetRefused as e:
            if log:
                log.info("bookmaker.bet_refused", reason_code=e.reason_code, reason=e.message,
                         client_ref=ref, via="slip")
            if fragment:
                return html(slip_pages.refusal(e.reason_code, e.message, ref), e.http_status)
            return html(slip_pages.refusal_page(e.reason_code, e.message, ref, clock.now(), user),
                        e.http_status)
        if log:
            log.info("bookmaker.bet_accepted" if new else "bookmaker.bet_repeated", via="slip",
                     **{k: bet[k] for k in ("client_ref", "bet_ref", "match_key", "market",
                                            "selection", "line", "odds", "stake")})
        status = 201 if new else 200
        if fragment:
            return html(slip_pages.confirmation(bet, new), status)
        return html(slip_pages.confirmation_page(bet, new, clock.now(), user), status)

    async def history(request: Request):
        user = user_of(request)
        if user is None:
            return to_login(request)
        bets = book.bets(request.query_params.get("client_ref") or None)
        return html(slip_pages.bets_page(bets[::-1], clock.now(), user))

    return [Route("/login", login_form, methods=["GET"]), Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/slip", slip_form, methods=["GET"]), Route("/slip", slip_send, methods=["POST"]),
            Route("/bets", history, methods=["GET"])]
