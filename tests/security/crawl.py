"""Crawling a local web app in real Chromium (Playwright, sync API) with an XSS trap installed.

`crawl(context, starts)` visits the start URLs, then every same-origin link (`a[href]`) it finds,
breadth first, at most `per_path` URLs per path (an odds page links a bet slip per price) and
`limit` in all. Each `Visit` keeps the raw body of the answer, the DOM after scripts ran, the
visible text, every other same-origin response the page fetched (a dashboard's refreshes) and
what the trap saw: `window.__xss(...)` — the payload's call — reports to Python through an
exposed binding from every page and frame, and dialogs are recorded and dismissed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urldefrag, urlsplit

TRAP = """
window.__xss = (...args) => {
  window.__xssHits = (window.__xssHits || 0) + 1;
  try { window.__xssReport(location.href, args.map(String).join(' ')); } catch (e) {}
};
"""
SKIP_PATHS = ("/logout",)


@dataclass
class Visit:
    url: str
    status: int | None
    content_type: str
    body: str
    dom: str = ""
    text: str = ""
    fetched: list[tuple[str, str, str]] = field(default_factory=list)  # (url, type, body) of sub-requests
    injected: int = 0  # elements the payload would have created (img[src=x], its scripts)
    hits: int = 0  # window.__xssHits after the page settled

    @property
    def html(self) -> bool:
        return self.content_type.startswith("text/html")

    def everything(self) -> str:
        """What a secret scan must read: the answer, the rendered DOM and sub-responses."""
        return "\n".join([self.url, self.body, self.dom, self.text]
                         + [f"{u}\n{b}" for u, _t, b in self.fetched])

    def markup(self) -> list[tuple[str, str]]:
        """(url, body) of every HTML answer: the page and what its scripts fetched."""
        return ([(self.url, self.body)] if self.html else []) + [
            (u, b) for u, t, b in self.fetched if t.startswith("text/html")]


@dataclass
class Trap:
    calls: list[tuple[str, str]] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def arm(context) -> Trap:
    """Install the trap on every page of `context`, now and after every navigation."""
    trap = Trap()
    context.expose_binding("__xssReport", lambda _src, url, args: trap.calls.append((url, args)))
    context.add_init_script(TRAP)
    context.on("page", lambda page: page.on(
        "dialog", lambda d: (trap.dialogs.append(d.message), d.dismiss())))
    return trap


def same_origin(url: str, origin: str) -> bool:
    a, b = urlsplit(url), urlsplit(origin)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


INJECTED_JS = """() => document.querySelectorAll('img[src="x"]').length +
  [...document.scripts].filter(s => s.textContent.includes('__xss')).length"""


def visit(page, url: str, settle: Callable | None = None) -> Visit:
    seen: list = []
    listener = (lambda r: seen.append(r))
    page.on("response", listener)
    try:
        response = page.goto(url, wait_until="load")
        if settle:
            settle(page, url)
    finally:
        page.remove_listener("response", listener)
    status = response.status if response else None
    ctype = (response.headers.get("content-type", "") if response else "")
    body = ""
    if response:
        try:
            body = response.text()
        except Exception:  # a redirect's body is gone: the final page is in the DOM
            body = ""
    v = Visit(page.url, status, ctype, body)
    if v.html:
        v.dom, v.text = page.content(), page.inner_text("body")
        v.injected = page.evaluate(INJECTED_JS)
        v.hits = page.evaluate("window.__xssHits || 0")
    for r in seen:
        if r is response or not same_origin(r.url, url):
            continue
        try:
            v.fetched.append((r.url, r.headers.get("content-type", ""), r.text()))
        except Exception:
            continue  # bodies of redirects and aborted requests are not kept
    return v


def links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    return [urldefrag(h)[0] for h in hrefs if same_origin(h, origin)]


def crawl(context, starts: list[str], *, per_path: int = 3, limit: int = 60,
          settle: Callable | None = None) -> list[Visit]:
    origin = starts[0]
    queue, queued, per = list(starts), set(starts), {}
    visits: list[Visit] = []
    page = context.new_page()
    try:
        while queue and len(visits) < limit:
            url = queue.pop(0)
            v = visit(page, url, settle)
            visits.append(v)
            if not v.html:
                continue
            for link in links(page, origin):
                path = urlsplit(link).path
                if link in queued or path in SKIP_PATHS or per.get(path, 0) >= per_path:
                    continue
                per[path] = per.get(path, 0) + 1
                queued.add(link)
                queue.append(link)
    finally:
        page.close()
    return visits
