"""A local imitation of the HKJC football site, for tests: two servers on 127.0.0.1, as the real
site has (bet.hkjc.com serves the pages, info.cld.hkjc.com answers GraphQL), with the same path
layout. A page's own script POSTs the site's query texts to `/graphql/base/` (cross-origin, with
a CORS preflight, as the real one) and renders the answer; the endpoint answers only the query
texts it knows — anything else gets a GraphQL error, as the real endpoint refuses queries that
are not the site's — with the real captures of ../shared/data/hkjc (odds) or what a test sets
(results: no real capture exists).
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.kit.contracts import free_port, HKJC_DATA
from tests.kit.http import reply

CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "content-type"}

MATCH_FIELDS = ("id frontEndId matchDate kickOffTime status updateAt homeTeam { id name_en name_ch }"
                " awayTeam { id name_en name_ch } tournament { id code name_en name_ch }")
QUERIES = {
    "tournamentList": "query tournamentList { tournamentList { id code frontEndId name_en name_ch "
                      "sequence } }",
    "matchList": "query matchList($fbOddsTypes: [FBOddsType]!, $matchIds: [String]) { matches("
                 "fbOddsTypes: $fbOddsTypes, matchIds: $matchIds) { " + MATCH_FIELDS +
                 " foPools(fbOddsTypes: $fbOddsTypes) { id status oddsType updateAt lines { "
                 "lineId status condition main combinations { combId str status currentOdds } } }"
                 " } }",
    "matchResult": "query matchResult($startDate: String, $endDate: String) { matches(startDate: "
                   "$startDate, endDate: $endDate) { " + MATCH_FIELDS + " results { homeResult "
                   "awayResult ttlCornerResult stageId resultType payoutConfirmed } } }",
}
BY_TEXT = {text: name for name, text in QUERIES.items()}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Football - {title} (imitation)</title></head>
<body><div id="root">Loading...</div>
<script>
const GRAPHQL = {graphql};
const QUERIES = {queries};
async function ask(name, variables) {{
  const r = await fetch(GRAPHQL, {{method: "POST", headers: {{"content-type": "application/json"}},
                                  body: JSON.stringify({{query: QUERIES[name], variables}})}});
  return r.json();
}}
(async () => {{
  const steps = {steps};
  const lines = [];
  for (const [name, variables] of steps) {{
    const answer = await ask(name, variables);
    const matches = (answer.data && answer.data.matches) || [];
    for (const m of matches) lines.push(m.frontEndId + " " + m.homeTeam.name_en + " v " +
                                        m.awayTeam.name_en);
  }}
  document.getElementById("root").textContent = lines.join("\\n") || "No matches";
}})();
</script></body></html>
"""


def load_capture(name: str) -> dict:
    return json.loads((HKJC_DATA / name).read_text(encoding="utf-8"))


class _Server:
    def __init__(self, handler):
        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class HkjcSite:
    """`bet` serves /en/football/home and /en/football/results; `info` serves /graphql/base/."""

    def __init__(self, odds_captures=("single-match-preevent-FB5022.json",
                                      "single-match-secondhalf-FB4342.json")):
        self.lock = threading.Lock()
        self.matches = [m for name in odds_captures for m in load_capture(name)["data"]["matches"]]
        self.results: object = {"data": {"matches": []}}
        self.answered: Counter = Counter()  # operation name -> POSTs answered
        self.refused: list[str] = []  # query texts the endpoint did not know
        self.info = _Server(self._graphql_handler())
        self.bet = _Server(self._page_handler())

    # -- what the test controls
    def set_matches(self, matches: list[dict]) -> None:
        with self.lock:
            self.matches = matches

    def set_results(self, answer: object) -> None:
        with self.lock:
            self.results = answer

    @property
    def graphql_url(self) -> str:
        return f"http://127.0.0.1:{self.info.port}/graphql/base/"

    @property
    def odds_url(self) -> str:
        return f"http://127.0.0.1:{self.bet.port}/en/football/home"

    @property
    def results_url(self) -> str:
        return f"http://127.0.0.1:{self.bet.port}/en/football/results"

    def config(self, **extra) -> dict:
        return {"odds_url": self.odds_url, "results_url": self.results_url,
                "graphql_url": self.graphql_url, **extra}

    def close(self) -> None:
        self.bet.close()
        self.info.close()

    # -- the servers
    def _answer(self, body: bytes) -> tuple[int, object]:
        try:
            request = json.loads(body)
            name = BY_TEXT.get(request.get("query"))
        except (ValueError, AttributeError):
            name, request = None, {}
        if name is None:
            with self.lock:
                self.refused.append(str(request.get("query") if isinstance(request, dict)
                                        else body)[:200])
            return 400, {"errors": [{"message": "query not allowed"}]}
        with self.lock:
            self.answered[name] += 1
            if name == "matchList":
                return 200, {"data": {"matches": self.matches}}
            if name == "matchResult":
                return 200, self.results
        return 200, load_capture("tournament-list.json")

    def _graphql_handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_OPTIONS(self):  # the CORS preflight of a JSON POST from another origin
                reply(self, b"", "text/plain", 204, CORS)

            def do_POST(self):
                if self.path.split("?")[0] != "/graphql/base/":
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                status, answer = site._answer(self.rfile.read(length))
                body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                reply(self, body, "application/json", status, CORS)

            def log_message(self, *_args):
                pass

        return Handler

    def _page_handler(self):
        site = self
        variables = load_capture("matchList_variables_example.json")
        pages = {
            "/en/football/home": ("Home", [["tournamentList", {}], ["matchList", variables]]),
            "/en/football/results": ("Results", [["matchResult", {"startDate": None,
                                                                  "endDate": None}]]),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                page = pages.get(self.path.split("?")[0])
                if page is None:
                    self.send_error(404)
                    return
                title, steps = page
                body = PAGE.format(title=title, graphql=json.dumps(site.graphql_url),
                                   queries=json.dumps(QUERIES), steps=json.dumps(steps)).encode()
                reply(self, body, "text/html; charset=utf-8")

            def log_message(self, *_args):
                pass

        return Handler

