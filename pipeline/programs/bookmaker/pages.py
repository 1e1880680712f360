"""The sandbox's HTML pages, for people and for the monitor (which reads `/odds` as a contract).

`/odds` contract: `<meta name="sim-now">`, and `<table id="matches">` whose body rows are
`<tr class="match" data-id data-competition data-season data-kickoff data-status>` with the cells
`td.kickoff`, `td.home`, `td.away`, three `td.price[data-sel=home|draw|away]` (2-decimal price,
or NOT_ON_SALE; the price is a link to the bet slip, its text stays the bare price) and
`td.score` ("4-1" once finished, else empty); then, per line market (Asian handicap `AH`, then
over/under `OU`), `td.line[data-market][data-line]` (the home line for AH, the goals line for OU,
as a number; both empty when not on sale) and two `td.line-price[data-market][data-sel=home|away
or over|under]` (price or NOT_ON_SALE, a link to the slip of that side and line). Team names as
in the CSV. The prices are the pools'
(pools.py); a market suspended shortly before kickoff shows NOT_ON_SALE with status scheduled.
The login, bet slip and bet history pages are in slip_pages.py.
"""
from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import urlencode

from pipeline.core.timefmt import iso
from pipeline.core.files import MARKET_SIDES
from pipeline.programs.bookmaker.market import LINE_FIELDS, SELECTIONS, MatchState
from pipeline.strategies.markets import line_label  # noqa: F401 (slip_pages imports it here)

NOT_ON_SALE = "\u2013"  # the dash shown instead of a price; never numeric text
CREDIT = ('Data: <a href="https://www.football-data.co.uk/">football-data.co.uk</a> '
          '(historical results and odds, replayed on a simulated clock).')

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2733;
background:#f4f6f8}
header{background:#14452f;color:#fff;padding:.8rem 1.5rem}
header h1{margin:0;font-size:1.3rem}
nav a{color:#d9f2e4;margin-right:1rem}
.clock{font-size:.9rem;opacity:.9;margin:.3rem 0 0}
main{padding:1rem 1.5rem}
table{border-collapse:collapse;background:#fff;min-width:60%}
th,td{padding:.35rem .7rem;border-bottom:1px solid #e1e5ea;text-align:left}
th{background:#e8edf1;font-weight:600}
td.price{text-align:center;font-variant-numeric:tabular-nums;min-width:3.5rem}
tr[data-status="scheduled"] td.price{color:#0b5d1e;font-weight:600}
tr[data-status="live"]{background:#fff6e0}
tr[data-status="finished"]{color:#67727e}
tr[data-status="postponed"]{color:#a33;text-decoration:line-through}
td.score{font-weight:600;text-align:center}
td.price a{color:inherit;text-decoration:none}
form.inline{display:inline}
form.card{background:#fff;padding:1rem;max-width:28rem;display:grid;gap:.6rem}
#confirmation{background:#e3f6e8;padding:1rem;max-width:40rem}
#refusal,#login-error{background:#fde8e8;padding:1rem;max-width:40rem}
.empty{color:#67727e;font-style:italic}
footer{padding:1rem 1.5rem;font-size:.85rem;color:#67727e}
"""


def _e(value) -> str:
    return escape(str(value), quote=True)


def _when(dt: datetime) -> str:
    return dt.strftime("%a %d %b %Y %H:%M")


def _account(user: str | None) -> str:
    if user is None:
        return '<a href="/login">Log in</a>'
    return (f'<span class="user" data-user="{_e(user)}">{_e(user)}</span> '
            '<form class="inline" method="post" action="/logout"><button>Log out</button></form>')


def layout(title: str, now: datetime, body: str, user: str | None = None) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="sim-now" content="{_e(iso(now))}">
<title>{_e(title)} · Sandbox Bookmaker</title>
<style>{CSS}</style>
</head>
<body>
<header><h1>Sandbox Bookmaker</h1>
<nav><a href="/">Home</a><a href="/odds">Odds</a><a href="/results">Results</a>\
<a href="/bets">Bet history</a>{_account(user)}</nav>
<p class="clock">Simulated time: <time datetime="{_e(iso(now))}">{_e(_when(now))} UTC</time></p>
</header>
<main>
<h2>{_e(title)}</h2>
{body}
</main>
<footer>{CREDIT}</footer>
</body>
</html>
"""


def _price(state: MatchState, sel: str, market: str = "1X2", line: float | None = None) -> str:
    """A price cell's content: the price as a link to its bet slip (textContent stays the bare
    price), or NOT_ON_SALE."""
    p = state.price(sel, market, line)
    if p is None:
        return NOT_ON_SALE
    query = {"match": state.fixture.id, "selection": sel}
    if market != "1X2":
        query.update(market=market, line=line)
    return f'<a href="{_e("/slip?" + urlencode(query))}">{p:.2f}</a>'


def _price_cells(state: MatchState) -> str:
    return "".join(f'<td class="price" data-sel="{sel}">{_price(state, sel)}</td>'
                   for sel in SELECTIONS)


def _line_cells(state: MatchState) -> str:
    cells = []
    for market in LINE_FIELDS:
        entry = state.entry(market)
        line = None if entry is None else entry[0]
        shown = "" if line is None else line_label(market, line)
        cells.append(f'<td class="line" data-market="{market}" '
                     f'data-line="{"" if line is None else line}">{_e(shown)}</td>')
        cells += [f'<td class="line-price" data-market="{market}" data-sel="{sel}">'
                  f'{_price(state, sel, market, line)}</td>' for sel in MARKET_SIDES[market]]
    return "".join(cells)


def _score(state: MatchState) -> str:
    if state.status == "finished" and state.score is not None:
        return f"{state.score[0]}-{state.score[1]}"
    return ""


def table(table_id: str, headings: list[str], rows: list[str], empty: str,
          attrs: str = "") -> str:
    """A page's table: `<table id=…>` with a head, the rows, and `empty` said when none."""
    head = "".join(f"<th>{h}</th>" for h in headings)
    note = "" if rows else f'<p class="empty">{empty}</p>'
    return (f'<table id="{table_id}"{attrs}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
            f'{chr(10).join(rows)}\n</tbody>\n</table>\n{note}')


def odds_page(states: list[MatchState], now: datetime, user: str | None = None) -> str:
    rows = []
    for s in states:
        f = s.fixture
        rows.append(
            f'<tr class="match" data-id="{_e(f.id)}" data-competition="{_e(f.competition)}" '
            f'data-season="{_e(f.season)}" data-kickoff="{_e(iso(f.kickoff))}" '
            f'data-status="{_e(s.status)}" title="{_e(f.competition)} {_e(f.season)}">'
            f'<td class="kickoff">{_e(_when(f.kickoff))}</td>'
            f'<td class="home">{_e(f.home)}</td><td class="away">{_e(f.away)}</td>'
            f'{_price_cells(s)}<td class="score">{_score(s)}</td>{_line_cells(s)}</tr>')
    body = """<p>Match odds (1X2), Asian handicap (the home team's line) and over/under goals,
decimal. Prices open 7 days before kickoff; the market is suspended shortly before kickoff and the
final score appears 110 minutes after it. Money placed on an outcome moves its price.</p>
""" + table("matches", ["Kickoff (UTC)", "Home", "Away", "1", "X", "2", "Score", "AH", "Home",
                        "Away", "O/U", "Over", "Under"], rows,
            "No matches are listed at this time.")
    return layout("Odds", now, body, user)


def results_page(states: list[MatchState], now: datetime, user: str | None = None) -> str:
    rows = [f'<tr class="result" data-id="{_e(s.fixture.id)}" data-key="{_e(s.fixture.key)}">'
            f'<td class="kickoff">{_e(_when(s.fixture.kickoff))}</td>'
            f'<td class="competition">{_e(s.fixture.competition)}</td>'
            f'<td class="home">{_e(s.fixture.home)}</td><td class="score">{_score(s)}</td>'
            f'<td class="away">{_e(s.fixture.away)}</td></tr>'
            for s in states]
    body = table("results", ["Kickoff (UTC)", "Competition", "Home", "Score", "Away"], rows,
                 "No results yet.")
    return layout("Results", now, body, user)


def index_page(now: datetime, *, listed: int, fixtures: int, bets: int,
               user: str | None = None) -> str:
    body = f"""<p>A local bookmaker replaying {fixtures} historical matches at their real kickoff
times. {listed} matches are listed now; {bets} bets have been accepted.</p>
<ul>
<li><a href="/odds">Odds</a>: matches on sale, live and recently finished</li>
<li><a href="/results">Results</a>: final scores</li>
<li><a href="/login">Log in</a>, then click a price to open the bet slip;
<a href="/bets">bet history</a></li>
<li>JSON: <a href="/api/matches">/api/matches</a>, <a href="/api/bets">/api/bets</a></li>
</ul>"""
    return layout("Welcome", now, body, user)
