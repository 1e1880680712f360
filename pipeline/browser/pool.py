"""A pool of browser pages for synchronous callers on several threads (live mode's placements).

Playwright's sync API drives one thing at a time from one thread, and `browser.launch.Browser`
(one page, polled from the monitor's loop) is built on it. Placing bets on `max_concurrent`
pages AT ONCE needs its async API instead: `PagePool` runs it on an event loop of its own thread,
with one persistent context and `size` pages, and `call(fn, timeout)` runs `fn(page)` on a free
page for whichever thread asks, so several placements overlap in the browser while their callers
simply block. What it shares with `Browser`: the executable search (`locate`), the isolated
profile per program, the clean-up of a killed predecessor's browsers by `--user-data-dir`
(`end_orphans`) and of its stale profile lock, and the relaunch after a crash.

Invariant 7: the profile's cookie store is deleted before every launch and the cookies are
cleared at close, so a session cookie never outlives the program in `data/browser/`.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from pathlib import Path
from typing import Awaitable, Callable, TypeVar

from pipeline.browser.launch import (ARGS, BrowserNotFound, end_orphans, forget_forms, locate,
                                      remove_singletons)
from pipeline.core.errors import NotPlaced

T = TypeVar("T")
COOKIE_FILES = ("Default/Cookies", "Default/Cookies-journal")
CLOSE_TIMEOUT_S = 15.0


class PoolError(NotPlaced, RuntimeError):
    """The pool could not give a page (no browser, launch failed): nothing was done on a page."""


class PagePool:
    def __init__(self, profile_dir: Path, size: int, *, executable: str | None = None, log=None,
                 nav_timeout_ms: float = 15_000):
        self.profile_dir = Path(profile_dir).resolve()
        self.size, self.executable, self.log = size, executable, log
        self.nav_timeout_ms = nav_timeout_ms
        self.launches = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="page-pool",
                                        daemon=True)
        self._thread.start()
        self._pw = None
        self._context = None
        self._pages: asyncio.Queue | None = None  # the free pages of the current launch
        self._launching: asyncio.Lock | None = None
        self._closed = False

    # -- for callers on any thread --------------------------------------------------------------
    def call(self, fn: Callable[[object], Awaitable[T]], timeout: float) -> T:
        """`await fn(page)` on a free page; raises PoolError when no page could be had,
        concurrent.futures.TimeoutError after `timeout` real seconds (fn is then cancelled)."""
        if self._closed:
            raise PoolError("the browser is closed")
        future = asyncio.run_coroutine_threadsafe(self._with_page(fn), self._loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def close(self) -> None:
        """Clear the cookies, close the browser, stop the driver and the loop's thread."""
        if self._closed:
            return
        self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(CLOSE_TIMEOUT_S)
        except Exception:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CLOSE_TIMEOUT_S)
        end_orphans(self.profile_dir, grace_s=1.0)  # a browser that outlived its context

    # -- on the loop ---------------------------------------------------------------------------
    def _alive(self) -> bool:
        context = self._context
        if context is None:
            return False
        browser = context.browser
        return browser is None or browser.is_connected()

    async def _with_page(self, fn):
        queue = await self._ensure()
        page = await queue.get()
        try:
            if page.is_closed():  # a page that crashed alone: a fresh one in its place
                try:
                    page = await self._context.new_page()
                except Exception as e:
                    raise PoolError(f"cannot open a page: {type(e).__name__}: {e}") from e
            return await fn(page)
        finally:
            queue.put_nowait(page)

    async def _ensure(self) -> asyncio.Queue:
        if self._launching is None:
            self._launching = asyncio.Lock()
        async with self._launching:
            if self._pages is None or not self._alive():
                try:
                    await self._launch()
                except BrowserNotFound as e:
                    raise PoolError(str(e)) from e
                except Exception as e:
                    raise PoolError(f"cannot launch Chromium: {type(e).__name__}: {e}") from e
            return self._pages

    async def _launch(self) -> None:
        if self._context is not None:
            self._info("browser.relaunch", reason="disconnected")
            await self._close_context()
        if self._pw is None:
            from playwright.async_api import async_playwright

            self._pw = await async_playwright().start()
        executable, tried = locate(self.executable, playwright=self._pw)
        if executable is None:
            raise BrowserNotFound(tried)
        ended = end_orphans(self.profile_dir)
        removed = remove_singletons(self.profile_dir)
        for name in COOKIE_FILES:  # no session of an earlier run stays on disk
            (self.profile_dir / name).unlink(missing_ok=True)
        if ended or removed:
            self._info("browser.orphans_ended", pids=ended, removed=removed,
                       profile=str(self.profile_dir))
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        forget_forms(self.profile_dir)  # the login's user name is never remembered (invariant 7)
        context = await self._pw.chromium.launch_persistent_context(
            user_data_dir=str(self.profile_dir), executable_path=executable, headless=True,
            args=ARGS)
        context.set_default_navigation_timeout(self.nav_timeout_ms)
        context.set_default_timeout(self.nav_timeout_ms)
        pages = list(context.pages[:1]) or [await context.new_page()]
        while len(pages) < self.size:
            pages.append(await context.new_page())
        self._context, self._pages = context, asyncio.Queue()
        for page in pages:
            self._pages.put_nowait(page)
        self.launches += 1
        self._info("browser.launched", executable=executable, pages=self.size,
                   launches=self.launches, profile=str(self.profile_dir))

    async def _close_context(self) -> None:
        context, self._context, self._pages = self._context, None, None
        if context is None:
            return
        try:
            await context.clear_cookies()
        except Exception:
            pass  # gone with the browser
        try:
            await context.close()
        except Exception:
            pass

    async def _shutdown(self) -> None:
        await self._close_context()
        pw, self._pw = self._pw, None
        if pw is not None:
            try:
                await pw.stop()
            except Exception:
                pass

    def _info(self, event: str, **fields) -> None:
        if self.log is not None:
            self.log.info(event, **fields)
