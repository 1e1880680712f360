"""The pages a bettor's browser (and the executor's) uses: login, bet slip, confirmation,
refusal, bet history. Their ids and data-* attributes are the contract the browser bookmaker
(pipeline/bookmakers/sandbox.py) reads:

- login: `form#login` with `input#user`, `input#password`, `button#login-submit`; after a wrong
  password `#login-error[data-reason=bad_credentials]`. The password is never echoed back.
- slip: `form#slip` with `input#match` (a fixture id or match key), `select#market` (1X2 | AH |
  OU), `input#line` (AH: the home line; OU: goals; empty for 1X2), `select#selection` (every
  market's sides: home, draw, away, over, under), `input#stake`, `input#min_odds`,
  `input#client_ref`, `button#place`; `#slip-match[data-key][data-status][data-market]
  [data-line][data-price]` says what it was opened for.
- after the slip is sent (in the background, asking with `X-Slip-Answer: fragment` for the
  answer alone, which appears in `#slip-result` below the form, `#slip-error` when none came;
  without JavaScript, as a page of its own):
  `#confirmation[data-bet-ref data-client-ref data-match-key data-market data-selection
  data-line data-odds data-stake data-placed-at data-repeat]` (data-line empty for 1X2), or
  `#refusal[data-reason data-client-ref]` with reason suspended | price_changed | line_changed |
  over_limit | unknown_match | bad_request | logged_out.
- history: `table#bets` rows `tr.bet[data-bet-ref data-client-ref data-match-key data-market
  data-selection data-line data-odds data-stake data-placed-at data-status data-payout]`, the
  status and payout strategies.markets' settlement (won | half_won | void | half_lost | lost).
"""
from __future__ import annotations

from datetime import datetime

from pipeline.core.timefmt import iso
from pipeline.core.files import MARKETS
from pipeline.programs.bookmaker.market import MatchState
from pipeline.programs.bookmaker.pages import _e, _when, layout, line_label, table

LABELS = {"home": "Home (1 / AH home)", "draw": "Draw (X)", "away": "Away (2 / AH away)",
          "over": "Over", "under": "Under"}
PICK_1X2 = {"home": "Home (1)", "draw": "Draw (X)", "away": "Away (2)"}
MARKET_LABELS = {"1X2": "Match result (1X2)", "AH": "Asian handicap", "OU": "Over/under goals"}

# The slip sends itself in the background, as bookmakers' sites do, and shows the answer's
# #confirmation / #refusal under the form (#slip-error when no answer came); without JavaScript
# the form posts as usual and the answer is a page of its own.
SLIP_JS = """
document.getElementById('slip').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = ev.target, out = document.getElementById('slip-result');
  out.replaceChildren();
  form.dataset.state = 'sending';
  try {
    const r = await fetch(form.action, {method: 'POST', credentials: 'same-origin',
                                        headers: {'X-Slip-Answer': 'fragment'},
                                        body: new URLSearchParams(new FormData(form))});
    const t = document.createElement('template');
    t.innerHTML = await r.text();
    const answer = t.content.querySelector('#confirmation, #refusal');
    if (answer) out.replaceChildren(answer);
    else out.innerHTML = '<p id="slip-error">The bookmaker gave no answer we understand.</p>';
  } catch (e) {
    out.innerHTML = '<p id="slip-error">No answer: check your bet history.</p>';
  }
  form.dataset.state = 'done';
});
document.getElementById('match').addEventListener('change', (ev) => {
  const info = document.getElementById('slip-match');
  if (ev.target.value !== info.dataset.key) {  // another match: the details above are not its
    info.dataset.key = ev.target.value;
    info.textContent = ev.target.value;
  }
});
"""


def login_page(now: datetime, next_url: str, *, failed: bool = False) -> str:
    error = ('<p id="login-error" data-reason="bad_credentials">Wrong user name or password.</p>'
             if failed else "")
    body = f"""{error}
<form id="login" class="card" method="post" action="/login" autocomplete="off">
<input type="hidden" name="next" value="{_e(next_url)}">
<label>User name <input id="user" name="user" type="text" required autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password" required
 autocomplete="current-password"></label>
<button id="login-submit" type="submit">Log in</button>
</form>"""
    return layout("Log in", now, body)


def _options(labels: dict[str, str], selected: str) -> str:
    return "".join(f'<option value="{k}"{" selected" if k == selected else ""}>{_e(v)}</option>'
                   for k, v in labels.items())


def _pick(market: str, selection: str, line: float | None) -> str:
    """What the slip was opened for, as people read it: "Home (1)", "AH home -0.75"."""
    if market == "1X2" or line is None:
        return PICK_1X2.get(selection, selection)
    own = line if market == "OU" or selection == "home" else -line
    return f"{market} {selection} {line_label(market, own)}"


def slip_page(state: MatchState, selection: str, now: datetime, user: str, market: str = "1X2",
              line: float | None = None) -> str:
    f = state.fixture
    price = state.price(selection, market, line)
    shown = f"{price:.2f}" if price is not None else "not on sale"
    status = "suspended" if state.suspended else state.status
    line_text = "" if line is None else f"{line:g}"
    body = f"""<p id="slip-match" data-key="{_e(f.key)}" data-id="{_e(f.id)}"
 data-status="{_e(status)}" data-market="{_e(market)}" data-line="{_e(line_text)}"
 data-price="{'' if price is None else f'{price:.2f}'}">
<b>{_e(f.home)} v {_e(f.away)}</b>, {_e(f.competition)}, kickoff {_e(_when(f.kickoff))} UTC
({_e(status)}); {_e(_pick(market, selection, line))} at <b>{shown}</b>. The price you get
depends on your stake: money placed on an outcome moves its price.</p>
<form id="slip" class="card" method="post" action="/slip" autocomplete="off">
<label>Match <input id="match" name="match" type="text" value="{_e(f.key)}" required></label>
<label>Market <select id="market" name="market">{_options(
        {m: MARKET_LABELS[m] for m in MARKETS}, market)}</select></label>
<label>Line (Asian handicap: the home team's) <input id="line" name="line" type="number"
 step="0.25" value="{_e(line_text)}"></label>
<label>Selection <select id="selection" name="selection">{_options(LABELS, selection)}</select>
</label>
<label>Stake <input id="stake" name="stake" type="number" step="any" min="0.01" required></label>
<label>Lowest odds you accept <input id="min_odds" name="min_odds" type="number" step="any"
 min="1.01"></label>
<label>Your reference <input id="client_ref" name="client_ref" type="text" maxlength="200"
 required></label>
<button id="place" type="submit">Place bet</button>
</form>
<div id="slip-result" aria-live="polite"></div>
<script>{SLIP_JS}</script>"""
    return layout("Bet slip", now, body, user)


def _attr(value) -> str:
    """A data-* attribute's text: empty for None (a 1X2 bet's line)."""
    return "" if value is None else str(value)


def confirmation(bet: dict, new: bool) -> str:
    """The `#confirmation` answer alone (what the slip's script asks for, and shows)."""
    attrs = " ".join(f'data-{k.replace("_", "-")}="{_e(_attr(bet.get(k)))}"'
                     for k in ("bet_ref", "client_ref", "match_key", "market", "selection",
                               "line", "odds", "stake", "placed_at"))
    again = "" if new else " (you had already placed this bet: nothing new was booked)"
    pick = _e(_pick(bet.get("market") or "1X2", bet["selection"], bet.get("line")))
    return f"""<div id="confirmation" {attrs} data-repeat="{0 if new else 1}">
<p>Bet <b>{_e(bet["bet_ref"])}</b> accepted{again}: {pick} on
{_e(bet["match_key"])} at {float(bet["odds"]):.2f} for {float(bet["stake"]):.2f}
(your reference {_e(bet["client_ref"])}).</p></div>"""


def confirmation_page(bet: dict, new: bool, now: datetime, user: str) -> str:
    body = f"""{confirmation(bet, new)}
<p><a href="/odds">Back to the odds</a> · <a href="/bets">Bet history</a></p>"""
    return layout("Bet placed", now, body, user)


def refusal(reason_code: str, message: str, client_ref: str | None) -> str:
    """The `#refusal` answer alone."""
    login = ' <a href="/login">Log in</a>' if reason_code == "logged_out" else ""
    return f"""<div id="refusal" data-reason="{_e(reason_code)}" \
data-client-ref="{_e(client_ref or '')}"><p>Bet not placed: {_e(message)}.{login}</p></div>"""


def refusal_page(reason_code: str, message: str, client_ref: str | None, now: datetime,
                 user: str | None) -> str:
    body = f"""{refusal(reason_code, message, client_ref)}
<p><a href="/odds">Back to the odds</a></p>"""
    return layout("Bet not placed", now, body, user)


def bets_page(bets: list[dict], now: datetime, user: str | None = None) -> str:
    rows = []
    for b in bets:
        attrs = " ".join(f'data-{k.replace("_", "-")}="{_e(_attr(b.get(k)))}"'
                         for k in ("bet_ref", "client_ref", "match_key", "market", "selection",
                                   "line", "odds", "stake", "placed_at", "status", "payout"))
        payout = "" if b.get("payout") is None else f'{float(b["payout"]):.2f}'
        rows.append(f'<tr class="bet" {attrs}>'
                    f'<td class="bet-ref">{_e(b["bet_ref"])}</td>'
                    f'<td class="client-ref">{_e(b["client_ref"])}</td>'
                    f'<td class="placed">{_e(b["placed_at"])}</td>'
                    f'<td class="match">{_e(b["match_key"])}</td>'
                    f'<td class="selection">'
                    f'{_e(_pick(b.get("market") or "1X2", b["selection"], b.get("line")))}</td>'
                    f'<td class="odds">{float(b["odds"]):.2f}</td>'
                    f'<td class="stake">{float(b["stake"]):.2f}</td>'
                    f'<td class="status">{_e(b["status"])}</td>'
                    f'<td class="payout">{payout}</td></tr>')
    body = table("bets", ["Bet", "Client ref", "Placed (simulated)", "Match", "Pick", "Odds",
                          "Stake", "Status", "Payout"], rows, "No bets yet.",
                 f' data-sim-now="{_e(iso(now))}"')
    return layout("Bet history", now, body, user)
