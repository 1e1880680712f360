"""The dashboard's web app (Starlette, Jinja2 with autoescape): the operator's view of a home.

Routes: `GET /` (the page), `GET /live` (its panels, which app.js fetches every
`dashboard.refresh_s`), `GET /api/state` (the same as JSON), `POST /api/sessions/toggle`
(`{"session", "enabled"}` with the token in `X-Betpipe-Token`), `GET /metrics` (Prometheus),
`GET /drill` (the factor-drill app), `/static/*`.
Everything scraped is escaped by the templates; pages carry a CSP that forbids inline scripts;
only the hosts 127.0.0.1 and localhost are answered (no DNS rebinding).
"""
from __future__ import annotations

import threading
from pathlib import Path

import orjson
from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pipeline.programs.dashboard import metrics
from pipeline.core.audit import Audit
from pipeline.core.clock import Clock
from pipeline.core.config import ConfigHolder
from pipeline.core.matchkey import load_tables
from pipeline.core.paths import Home, football_data_dir
from pipeline.core.timefmt import iso
from pipeline.programs.dashboard import drillview
from pipeline.programs.dashboard.configedit import EditRefused, check_token, toggle_session
from pipeline.programs.dashboard.state import LedgerView, gather, in_category

HERE = Path(__file__).parent
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
           "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
           "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                                      "img-src 'self' data:; frame-ancestors 'none'"}
HOSTS = ["127.0.0.1", "localhost", "[::1]"]


def _age(seconds) -> str:
    if seconds is None:
        return "-"
    s = abs(float(seconds))
    text = (f"{s:.0f}s" if s < 90 else f"{s / 60:.0f}m" if s < 5400 else
            f"{s / 3600:.1f}h" if s < 172800 else f"{s / 86400:.1f}d")
    return text if seconds >= 0 else f"in {text}"


def _hm(ts) -> str:
    """2019-08-09T19:00:00Z -> 08-09 19:00 (simulated UTC)."""
    return f"{ts[5:10]} {ts[11:16]}" if isinstance(ts, str) and len(ts) >= 16 else "-"


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(age=_age, hm=_hm,
                       money=lambda v: "-" if v is None else f"{float(v):,.2f}",
                       price=lambda v: f"{float(v):.2f}" if isinstance(v, (int, float)) else "-",
                       signed=lambda v: "-" if v is None else f"{float(v):+,.2f}",
                       pct=lambda v: "-" if v is None else f"{float(v) * 100:.1f}%")
    return env


def json_response(doc, status: int = 200) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type="application/json",
                    headers=HEADERS)


def create_app(home: Home, clock: Clock, *, drill: drillview.DrillModel | None = None,
               log=None) -> Starlette:
    env = templates()
    ledger, holder = LedgerView(home.ledger), ConfigHolder(home.system_config)
    lock = threading.Lock()
    audit = Audit(home.audit)
    drill_model = drill or drillview.DrillModel(football_data_dir(home), load_tables(home))

    def page(name: str, **ctx) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**ctx), headers=HEADERS)

    def state() -> dict:
        with lock:  # requests run in a thread pool; the ledger cache and the holder are shared
            return gather(home, clock, ledger, holder)

    def index(request: Request):
        s = in_category(state(), request.query_params.get("category"))
        return page("index.html", s=s, refresh_ms=int((s["config"].get("refresh_s") or 2) * 1000))

    def live(_request: Request):
        return page("live.html", s=state())

    def api_state(request: Request):
        return json_response(in_category(state(), request.query_params.get("category")))

    def metrics_text(_request: Request):
        return Response(metrics.render(metrics.families(state())), media_type=metrics.CONTENT_TYPE,
                        headers={"Cache-Control": "no-store"})

    async def toggle(request: Request):
        verdict = check_token(request.headers.get("x-betpipe-token"))
        if verdict != "ok":
            why = ("writes are disabled: no BETPIPE_DASHBOARD_TOKEN is set for the dashboard"
                   if verdict == "disabled" else "a valid token is needed to change the config")
            if log:
                log.warning("dashboard.toggle_refused", reason=verdict)
            return json_response({"error": why}, 403)
        try:
            body = orjson.loads(await request.body())
            session, enabled = body["session"], body["enabled"]
            if not isinstance(session, str) or not isinstance(enabled, bool):
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return json_response({"error": 'expected {"session": str, "enabled": bool}'}, 400)
        try:
            record = toggle_session(home.system_config, audit, session, enabled, iso(clock.now()))
        except EditRefused as e:
            return json_response({"error": e.reason}, e.status)
        if log:
            log.info("dashboard.session_toggled", session=session, enabled=enabled,
                     changed=record is not None)
        return json_response({"session": session, "enabled": enabled,
                              "changed": record is not None, "audit": record})

    def drill_page(request: Request):
        model = drill_model
        available = model.available()
        q, error = drillview.parse_query(request.query_params, available)
        view = None
        if q is not None:
            try:
                view = model.view(q)
            except (drillview.DrillError, OSError, ValueError) as e:
                error = f"{type(e).__name__}: {e}"
        return page("drill.html", q=q, view=view, error=error, files=available,
                    folder=str(model.folder), factors=list(drillview.FACTORS),
                    sources=drillview.BACKTEST_SOURCES, selections=drillview.SELECTIONS,
                    levels=drillview.LEVELS)

    routes = [Route("/", index), Route("/live", live), Route("/api/state", api_state),
              Route("/api/sessions/toggle", toggle, methods=["POST"]),
              Route("/metrics", metrics_text), Route("/drill", drill_page),
              Mount("/static", StaticFiles(directory=HERE / "static"), name="static")]
    return Starlette(routes=routes,
                     middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=HOSTS)])
