"""Live mode on the sandbox: bets placed through its web pages in Chromium, like a person would.

`SandboxBookmaker.place(order)` takes a free page of its `PagePool` (`pages` of them place at
once). A page opens the match's bet slip once (`/slip?match=…`, logging in first when the site
sends it to the login page: credentials from $BETPIPE_SANDBOX_USER / $BETPIPE_SANDBOX_PASSWORD)
and keeps it: each bet is ONE round trip to the browser — fill the slip's fields (match,
market, line — AH: the home line; OU: goals; empty for 1X2 —, selection, stake, min_odds, the
client reference), click "Place bet" (the slip's script sends the
form in the background and asks for the answer alone), and read the answer the slip shows: the
confirmation's bet reference, or a refusal. Every Playwright call and every navigation costs the
browser and its driver more CPU than the bet itself, so a kept slip and one call per bet are
what let a few pages place tens of bets a second. What it can tell, it says (the `Bookmaker`
protocol of pipeline.bookmakers):
- any failure before the click: certainly not placed — `unreachable` when the site could not be
  reached (connection refused, reset, timed out: `reachable()` then probes it), else
  `browser_error`; both retryable;
- a refusal: not placed with its reason (suspended, price_changed, over_limit, …: see REFUSALS);
  `logged_out` (the sandbox restarted, the session ended) → log in again and send the slip once
  more, which is safe: the refusal means nothing was booked;
- no answer after the click (timeout, crash, an answer it does not recognise): UNKNOWN — the
  executor then asks `lookup(client_ref)`, which reads `GET /api/bets?client_ref=` and, when that
  fails, the bet history page in the browser.
The password is typed into the login form and nowhere else: reasons and problems are scrubbed of
it before they reach the ledger, a log or health (invariant 7).
Capabilities (pipeline.bookmakers): `pages` placements at once, a reachability probe, and the
bet history `GET /api/bets` (`history`: no login, no browser — track reads it for
reconciliation). `open(rt)`: live mode's start-up (config `execute.url`, else the sandbox;
`execute.max_concurrent` pages), logging in before anything is placed — retrying, health
failing with the reason, while the site is down or refuses the login.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode

import orjson
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from pipeline.bookmakers import UNREACHABLE, Capabilities, Order, Placement
from pipeline.core.config import Config
from pipeline.bookmakers.account import (ENV_PASSWORD, ENV_USER, Credentials, bookmaker_url,
                                         credentials_problem, sandbox_history)
from pipeline.browser.pool import PagePool
from pipeline.core.errors import BROWSER_ERROR, BetpipeError, NotPlaced
from pipeline.core.log import OncePerReason

# reason_code of the sandbox's refusal page -> whether trying again later may work
# (line_changed: the AH/OU line moved, retryable as the paper bookmaker's: decide moves the
# decision to the new line)
REFUSALS = {"suspended": True, "price_changed": True, "line_changed": True, "logged_out": True,
            "over_limit": False, "unknown_match": False, "bad_request": False}
API_TIMEOUT_S = 10.0
RETRY_LOGIN_REAL_S = 2.0
PROGRAM = "execute"  # whose browser profile it places from
PROBE_TIMEOUT_S = 3.0
# Chromium's errors for a site it could not reach (nothing was sent to it)
NET_ERRORS = ("ERR_CONNECTION_REFUSED", "ERR_CONNECTION_RESET", "ERR_CONNECTION_CLOSED",
              "ERR_CONNECTION_FAILED", "ERR_CONNECTION_TIMED_OUT", "ERR_TIMED_OUT",
              "ERR_EMPTY_RESPONSE", "ERR_ADDRESS_UNREACHABLE", "ERR_NAME_NOT_RESOLVED",
              "ERR_INTERNET_DISCONNECTED", "ERR_NETWORK_CHANGED")

# What the page in front is, in one round trip (each Playwright call is one: NOTES).
READ_PAGE_JS = """() => {
  const c = document.querySelector('#confirmation');
  if (c) return {kind: 'placed', ...c.dataset};
  const r = document.querySelector('#refusal');
  if (r) return {kind: 'refused', reason: r.dataset.reason || '', clientRef: r.dataset.clientRef,
                 message: r.textContent.trim().slice(0, 300)};
  const error = document.querySelector('#slip-error');
  if (error) return {kind: 'no_answer', message: error.textContent.trim().slice(0, 300)};
  const slip = document.querySelector('form#slip');
  if (slip) return {kind: 'slip', selection: (slip.querySelector('#selection') || {}).value};
  if (document.querySelector('#login-error')) return {kind: 'login_refused'};
  if (document.querySelector('form#login')) return {kind: 'login'};
  if (document.querySelector('table#bets')) return {kind: 'history'};
  return {kind: 'other', title: document.title};
}"""

# One bet in ONE round trip (each Playwright call is one, and costs the browser and its driver
# more CPU than the bet itself: NOTES): the slip's fields set as typing would (value, then input
# and change events), the last answer cleared, a click on "Place bet" — the form's own submit,
# which its script sends in the background — and the page read once the answer is on it (a
# MutationObserver: no animation frames needed, which Chromium withholds from pages not in front).
# {kind: 'no_slip'} when no bet slip is in front: then nothing was clicked.
PLACE_JS = """async (v) => {
  const read = %s;
  const form = document.querySelector('form#slip');
  const result = document.getElementById('slip-result');
  const button = document.getElementById('place');
  if (!form || !result || !button || form.dataset.state === 'sending') return {kind: 'no_slip'};
  for (const name of Object.keys(v)) if (!form.elements.namedItem(name)) return {kind: 'no_slip'};
  for (const [name, value] of Object.entries(v)) {
    const el = form.elements.namedItem(name);
    el.value = value;
    el.dispatchEvent(new Event('input', {bubbles: true}));
    el.dispatchEvent(new Event('change', {bubbles: true}));
  }
  result.replaceChildren();
  const sel = '#slip-result #confirmation, #slip-result #refusal, #slip-error';
  const answered = new Promise(resolve => {
    const obs = new MutationObserver(() => {
      if (document.querySelector(sel)) { obs.disconnect(); resolve(read()); }
    });
    obs.observe(document.body, {childList: true, subtree: true});
  });
  button.click();
  return await answered;
}""" % READ_PAGE_JS

READ_HISTORY_JS = """() => {
  const t = document.querySelector('table#bets');
  if (!t) return null;
  return Array.from(t.querySelectorAll('tr.bet')).map(tr => ({...tr.dataset}));
}"""


def unreachable_error(e: BaseException) -> bool:
    """Whether a browser error says the site could not be reached (connection refused, reset,
    timed out, …), as opposed to a page that is not what was expected."""
    text = str(e)
    return isinstance(e, (PlaywrightTimeoutError, asyncio.TimeoutError)) or \
        any(f"net::{code}" in text for code in NET_ERRORS)


class LoginRefused(BetpipeError, RuntimeError):
    """The site refused the credentials (never says the password)."""


class SlipError(BetpipeError, RuntimeError):
    """The page is not what placing a bet expects (before the click)."""


def _placed(doc: dict) -> Placement:
    """A Placement from a bet as /api/bets or a page's data-* attributes give it."""
    ref = doc.get("client_ref", doc.get("clientRef"))
    return Placement.placed(ref, str(doc.get("bet_ref", doc.get("betRef"))), float(doc["odds"]),
                            float(doc["stake"]), doc.get("placed_at", doc.get("placedAt")))


class SandboxBookmaker:
    mode = "live"
    capabilities = Capabilities(bet_history=True, reachability_probe=True)  # 1 page by default
    problem: str | None = None  # e.g. the login refused: for health

    def __init__(self, url: str, credentials: Credentials, profile_dir: Path, *, pages: int = 1,
                 executable: str | None = None, log=None, timeout_s: float = 15.0):
        self.url, self.credentials, self.log = url.rstrip("/"), credentials, log
        self._api_failed = OncePerReason(log, "lookup.api_failed", level="warning") if log else None
        # this one places on `pages` pages at once (the executor's width)
        self.capabilities = dataclasses.replace(type(self).capabilities, concurrency=pages)
        self.timeout_s = timeout_s
        self.pool = PagePool(profile_dir, pages, executable=executable, log=log,
                             nav_timeout_ms=timeout_s * 1000)
        self.logins = 0

    # -- building (pipeline.bookmakers: the protocol's class methods) ---------------------------
    @classmethod
    def unusable(cls) -> str | None:
        return credentials_problem()

    @classmethod
    def open(cls, rt) -> "SandboxBookmaker | None":
        """Built and logged in (retrying while the site is down or refuses the login); None
        when a stop came first."""
        config, credentials = rt.config, Credentials.from_env()
        assert credentials is not None, "check unusable() first"
        url = bookmaker_url(config)
        bookmaker = cls(url, credentials, rt.home.profile_dir(PROGRAM),
                        pages=config.execute.max_concurrent,
                        executable=config.browser.executable, log=rt.log,
                        timeout_s=config.execute.timeout_s)
        while not rt.stopping.is_set():
            try:
                bookmaker.start()
            except Exception as e:
                first = (str(e).splitlines() or [""])[0]
                rt.fail(bookmaker.problem or bookmaker.scrub(
                    f"cannot log in at {url}: {type(e).__name__}: {first}"))
                rt.wait(RETRY_LOGIN_REAL_S)
                continue
            rt.log.info("live.ready", url=url, pages=bookmaker.capabilities.concurrency)
            rt.recover()
            return bookmaker
        bookmaker.close()
        return None

    @classmethod
    def history(cls, home, config: Config) -> list[dict]:
        """Every bet the site live mode places on accepted (config `execute.url`, else the
        sandbox), for reconciliation: HistoryUnavailable when it cannot be had."""
        return sandbox_history(bookmaker_url(config))

    # -- safety ---------------------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        """`text` without the password (error messages can quote what was typed)."""
        secret = self.credentials.password
        return text.replace(secret, "***") if secret else text

    def _call(self, fn, grace: float = 2.0):
        # a placement is goto + login + goto + click: a few navigations at most
        return self.pool.call(fn, timeout=self.timeout_s * 4 + grace)

    # -- logging in -----------------------------------------------------------------------------
    async def _login(self, page, next_path: str = "/bets", *, on_form: bool = False) -> dict:
        """Log in (from the login form in front, else via /login?next=…); the page it lands on."""
        if not on_form:
            await page.goto(f"{self.url}/login?next={quote(next_path, safe='')}",
                            wait_until="domcontentloaded")
        await page.fill("#user", self.credentials.user)
        await page.fill("#password", self.credentials.password)
        async with page.expect_navigation(wait_until="domcontentloaded"):
            await page.click("#login-submit", force=True)
        landed = await page.evaluate(READ_PAGE_JS)
        if landed.get("kind") in ("login_refused", "login"):
            self.problem = (f"the bookmaker at {self.url} refused the login of user "
                            f"{self.credentials.user!r} (${ENV_USER} / ${ENV_PASSWORD})")
            raise LoginRefused(self.problem)
        self.logins += 1
        self.problem = None
        if self.log:
            self.log.info("bookmaker.logged_in", logins=self.logins)
        return landed

    def start(self) -> None:
        """Launch the browser and log in once (raises LoginRefused, PoolError, …)."""
        async def check(page):
            landed = await self._login(page)
            if landed.get("kind") != "history":
                raise SlipError(f"no bet history at {self.url}/bets after the login")

        self._call(check)

    # -- placing -------------------------------------------------------------------------------
    def place(self, order: Order) -> Placement:
        try:
            return self._call(lambda page: self._place_on(page, order))
        except concurrent.futures.TimeoutError:
            return Placement.unknown(order.client_ref, "the placement timed out")
        except NotPlaced as e:  # no page was touched (PoolError)
            return Placement.not_reached(order.client_ref,
                                         NotPlaced(self.scrub(str(e)), kind=e.kind))
        except Exception as e:
            return Placement.unknown(order.client_ref, self.scrub(f"{type(e).__name__}: {e}"))

    async def _place_on(self, page, order: Order) -> Placement:
        ref, clicked = order.client_ref, False
        fields = {"match": order.match_key, "market": order.market,
                  "line": "" if order.line is None else repr(float(order.line)),
                  "selection": order.selection, "stake": f"{order.stake:.2f}",
                  "min_odds": str(order.min_odds), "client_ref": ref}
        try:
            for attempt in (1, 2):
                clicked = True  # from here on the bet may have left (unless no slip was there)
                outcome = await self._send(page, fields)
                if outcome.get("kind") == "no_slip":  # nothing clicked: open the slip
                    clicked = False
                    refused = await self._open_slip(page, order)
                    if refused is not None:
                        return refused
                    clicked = True
                    outcome = await self._send(page, fields)
                    if outcome.get("kind") == "no_slip":
                        raise SlipError(f"cannot fill the bet slip at {page.url}")
                if outcome.get("kind") == "refused" and outcome.get("reason") == "logged_out" \
                        and attempt == 1:
                    clicked = False  # the refusal booked nothing: log in, send again
                    await self._login(page)
                    continue
                return self._outcome(ref, outcome)
        except LoginRefused as e:
            return Placement.not_placed(ref, self.scrub(f"logged_out: {e}"), retryable=True)
        except Exception as e:
            reason = self.scrub(f"{type(e).__name__}: {e}".splitlines()[0])
            if clicked:
                return Placement.unknown(ref, f"after the click: {reason}")
            kind = UNREACHABLE if unreachable_error(e) else BROWSER_ERROR
            return Placement.not_reached(ref, NotPlaced(reason, kind=kind))
        return Placement.not_placed(ref, "logged_out", retryable=True)

    async def _open_slip(self, page, order: Order) -> Placement | None:
        """Open the match's bet slip (logging in on the way); a Placement when it is refused."""
        query = urlencode({"match": order.match_key, "selection": order.selection,
                           **({} if order.market == "1X2" else
                              {"market": order.market, "line": order.line})})
        await page.goto(f"{self.url}/slip?{query}", wait_until="domcontentloaded")
        front = await page.evaluate(READ_PAGE_JS)
        if front.get("kind") == "login":  # back on the slip through the login's `next`
            front = await self._login(page, on_form=True)
        if front.get("kind") == "refused":
            return self._refused(order.client_ref, front)
        if front.get("kind") != "slip":
            raise SlipError(f"no bet slip at {page.url}: {front}")
        return None

    async def _send(self, page, fields: dict) -> dict:
        """Fill the slip, click, and the answer (READ_PAGE_JS) — on the page, as the slip's
        script shows it, or a page of its own (no JavaScript); {kind: 'no_slip'} when no slip
        was in front. asyncio.TimeoutError after `timeout_s`."""
        try:
            return await asyncio.wait_for(page.evaluate(PLACE_JS, fields), self.timeout_s)
        except PlaywrightError as e:
            if "context was destroyed" not in str(e) and "navigat" not in str(e):
                raise
        await page.wait_for_load_state("domcontentloaded")  # the answer came as a page
        return await page.evaluate(READ_PAGE_JS)

    def _refused(self, ref: str, outcome: dict) -> Placement:
        reason = outcome.get("reason") or "refused"
        return Placement.not_placed(ref, reason, retryable=REFUSALS.get(reason, False))

    def _outcome(self, ref: str, outcome: dict) -> Placement:
        kind = outcome.get("kind")
        if kind == "placed" and outcome.get("clientRef") == ref:
            return _placed(outcome)
        if kind == "refused":
            return self._refused(ref, outcome)
        return Placement.unknown(ref, self.scrub(f"unexpected page after the click: {outcome}"))

    # -- reconciliation ------------------------------------------------------------------------
    def _api_bets(self, client_ref: str | None = None) -> list[dict]:
        query = f"?{urlencode({'client_ref': client_ref})}" if client_ref is not None else ""
        with urllib.request.urlopen(f"{self.url}/api/bets{query}", timeout=API_TIMEOUT_S) as r:
            doc = orjson.loads(r.read())
        bets = doc.get("bets") if isinstance(doc, dict) else None
        if not isinstance(bets, list):
            raise ValueError("/api/bets answered without a bets list")
        return bets

    def reachable(self) -> bool:
        """The site answers an HTTP request (any status): a probe while it is unreachable."""
        try:
            with urllib.request.urlopen(f"{self.url}/login", timeout=PROBE_TIMEOUT_S):
                return True
        except urllib.error.HTTPError:
            return True  # it answered
        except (OSError, ValueError):
            return False

    def lookup(self, client_ref: str) -> Placement | None:
        try:
            bets = self._api_bets(client_ref)
        except (OSError, ValueError, urllib.error.URLError) as e:
            if self._api_failed:  # once per error while the API stays down
                self._api_failed.failed(f"{type(e).__name__}: {e}", client_ref=client_ref,
                                        fallback="history page")
            return self.lookup_in_history(client_ref)
        if self._api_failed:
            self._api_failed.cleared()
        found = [b for b in bets if b.get("client_ref") == client_ref]
        return _placed(found[0]) if found else None

    def lookup_in_history(self, client_ref: str) -> Placement | None:
        """The bet history page, read in the browser (raises when it cannot be read)."""
        path = f"/bets?{urlencode({'client_ref': client_ref})}"

        async def read(page):
            await page.goto(f"{self.url}{path}", wait_until="domcontentloaded")
            if (await page.evaluate(READ_PAGE_JS)).get("kind") == "login":
                await self._login(page, path, on_form=True)
            rows = await page.evaluate(READ_HISTORY_JS)
            if rows is None:
                raise SlipError(f"no bet history table at {self.url}{path}")
            return rows

        rows = self._call(read)
        found = [r for r in rows if r.get("clientRef") == client_ref]
        return _placed(found[0]) if found else None

    def close(self) -> None:
        self.pool.close()
