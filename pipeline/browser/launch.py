"""The program's own Chromium (NOTES: Chromium + Playwright on this machine).

`find_chromium` picks the executable: config `browser.executable`, `$BETPIPE_CHROMIUM`, the
browser `playwright install chromium` brought, then the system's. `Browser` keeps one persistent
context and one page open across polls, relaunches after a crash and closes cleanly. Before every
launch it ends leftover browsers of its own profile directory, found by `--user-data-dir=` in
their command line (never by process name), and removes a stale `SingletonLock`.

    python -m pipeline.browser.launch     # prints the executable, or what was tried (exit 1)
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

import psutil

from pipeline.core.errors import BetpipeError
from pipeline.core.paths import Home

ENV = "BETPIPE_CHROMIUM"
SYSTEM_PATHS = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
SYSTEM_NAMES = ("chromium-browser", "google-chrome")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SINGLETON_FILES = ("SingletonLock", "SingletonSocket", "SingletonCookie")
# Invariant 7: a profile never remembers what was typed into a form (the login's user name was
# found in Default/Web Data): autofill and the password manager off, their stores removed.
FORM_MEMORY_FILES = ("Default/Web Data", "Default/Web Data-journal", "Default/Login Data",
                     "Default/Login Data-journal")
NO_FORM_MEMORY = {"autofill": {"profile_enabled": False, "credit_card_enabled": False},
                  "credentials_enable_service": False, "profile": {"password_manager_enabled": False}}
TERM_GRACE_S = 3.0


class BrowserNotFound(BetpipeError, RuntimeError):
    def __init__(self, tried: list[str]):
        super().__init__("no Chromium found; tried " + "; ".join(tried) + ". Install one "
                         "(`playwright install chromium`, or as root `apt-get install chromium`) "
                         f"or set config browser.executable or ${ENV}")
        self.tried = tried


def _usable(path: str | None) -> bool:
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


def _playwright_bundled(playwright=None) -> str | None:
    """Where Playwright's own Chromium is (whether or not it was downloaded)."""
    if playwright is not None:
        return playwright.chromium.executable_path
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        return p.chromium.executable_path


def locate(configured: str | None = None, *, playwright=None) -> tuple[str | None, list[str]]:
    """(the executable to use or None, what was tried and why it was passed over)."""
    tried: list[str] = []

    def candidate(label: str, path: str | None, absent: str = "unset") -> str | None:
        if _usable(path):
            return path
        tried.append(f"{label} {path!r} (not an executable file)" if path
                     else f"{label} ({absent})")
        return None

    found = candidate("config browser.executable", configured) or \
        candidate(f"${ENV}", os.environ.get(ENV))
    if found:
        return found, tried
    try:
        found = candidate("Playwright's bundled Chromium", _playwright_bundled(playwright))
    except Exception as e:  # no driver, broken install: the system's browser may still do
        tried.append(f"Playwright's bundled Chromium ({type(e).__name__}: {e})")
    if found:
        return found, tried
    for path in SYSTEM_PATHS:
        if found := candidate("system", path):
            return found, tried
    for name in SYSTEM_NAMES:
        if found := candidate(name, shutil.which(name), "not on PATH"):
            return found, tried
    return None, tried


def configured_executable(home: Home | None = None) -> str | None:
    """Config `browser.executable` of the home ($BETPIPE_HOME); None without a usable config."""
    from pipeline.core.config import load_config

    try:
        return load_config((home or Home.from_env()).system_config).browser.executable
    except Exception:
        return None  # no or bad config: the other places still count


def find_chromium(configured: str | None = None) -> str | None:
    """The Chromium a program of this home would launch, None when there is none (scripts:
    `python -c 'from pipeline.browser.launch import find_chromium; print(find_chromium())'`)."""
    return locate(configured or configured_executable())[0]


# --------------------------------------------------------------------------- orphans

def profile_processes(profile_dir: Path) -> list[int]:
    """Live processes whose command line has `--user-data-dir=<profile_dir>` (not this one).

    Chromium's children rewrite their command line into one space-joined string, so the flag is
    matched as a word: followed by NUL, a space or the end, never by a longer path.
    """
    root = Path(profile_dir).resolve()
    flags = [f"--user-data-dir={root}".encode(), f"--user-data-dir={root}/".encode()]
    me = os.getpid()
    return [p.pid for p in psutil.process_iter(["cmdline"])
            if p.pid != me and _has_flag("\0".join(p.info["cmdline"] or ()).encode(), flags)]


def _has_flag(cmd: bytes, flags: list[bytes]) -> bool:
    for flag in flags:
        at = cmd.find(flag)
        while at >= 0:
            end = at + len(flag)
            if end == len(cmd) or cmd[end] in (0, 32):
                return True
            at = cmd.find(flag, at + 1)
    return False


def end_orphans(profile_dir: Path, grace_s: float = TERM_GRACE_S) -> list[int]:
    """SIGTERM leftover browsers of this profile, SIGKILL what is left after `grace_s`.

    Zombies count as gone. Runs during shutdown too, so it waits on an event of its own.
    """
    pids = profile_processes(profile_dir)
    if not pids:
        return []
    wait = threading.Event().wait
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    steps = max(1, int(grace_s / 0.05))
    for _ in range(steps):
        alive = [p for p in pids if _alive(p)]
        if not alive:
            break
        wait(0.05)
    for pid in pids:
        if _alive(pid):
            _signal(pid, signal.SIGKILL)
    return pids


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.Error:  # gone (or not ours to see)
        return False


def remove_singletons(profile_dir: Path) -> list[str]:
    """Remove Chromium's profile lock files (call only when no browser of the profile runs)."""
    removed = []
    for name in SINGLETON_FILES:
        path = Path(profile_dir) / name
        if os.path.lexists(path):
            try:
                path.unlink()
                removed.append(name)
            except FileNotFoundError:
                pass
    return removed


def forget_forms(profile_dir: Path) -> None:
    """Before a launch: remove the profile's form stores and switch form memory off in its
    Preferences (other preferences kept)."""
    for name in FORM_MEMORY_FILES:
        (Path(profile_dir) / name).unlink(missing_ok=True)
    prefs_path = Path(profile_dir) / "Default" / "Preferences"
    try:
        prefs = json.loads(prefs_path.read_text())
    except (OSError, ValueError):
        prefs = {}
    prefs = prefs if isinstance(prefs, dict) else {}
    for key, value in NO_FORM_MEMORY.items():
        old = prefs.get(key)
        prefs[key] = {**old, **value} if isinstance(value, dict) and isinstance(old, dict) else value
    prefs_path.parent.mkdir(parents=True, exist_ok=True)
    prefs_path.write_text(json.dumps(prefs))


# --------------------------------------------------------------------------- the browser

class Browser:
    """One persistent context and one page, kept across polls; relaunched after a crash.

    Playwright's sync API: use it from one thread only (the program's main loop).
    """

    def __init__(self, home: Home, program: str, *, executable: str | None = None, log=None,
                 nav_timeout_ms: float = 15_000):
        self.profile_dir = home.profile_dir(program).resolve()
        self.configured, self.log, self.nav_timeout_ms = executable, log, nav_timeout_ms
        self._pw = None
        self._context = None
        self._page = None
        self._broken: str | None = None
        self.launches = 0

    def _info(self, event: str, **fields) -> None:
        if self.log is not None:
            self.log.info(event, **fields)

    @property
    def alive(self) -> bool:
        if self._context is None or self._page is None or self._broken:
            return False
        browser = self._context.browser
        return not self._page.is_closed() and (browser is None or browser.is_connected())

    def page(self):
        """The open page, launching (or relaunching after a crash) as needed."""
        if not self.alive:
            if self._context is not None:
                self._info("browser.relaunch", reason=self._broken or "disconnected")
                self._shutdown_context()
            self._launch()
        return self._page

    def clean_up_orphans(self) -> None:
        ended = end_orphans(self.profile_dir)
        removed = remove_singletons(self.profile_dir)
        if ended or removed:
            self._info("browser.orphans_ended", pids=ended, removed=removed,
                       profile=str(self.profile_dir))

    def _launch(self) -> None:
        if self._pw is None:
            from playwright.sync_api import sync_playwright

            self._pw = sync_playwright().start()
        executable, tried = locate(self.configured, playwright=self._pw)
        if executable is None:
            raise BrowserNotFound(tried)
        self.clean_up_orphans()
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        forget_forms(self.profile_dir)
        try:
            context = self._pw.chromium.launch_persistent_context(
                user_data_dir=str(self.profile_dir), executable_path=executable, headless=True,
                args=ARGS)
        except Exception:
            self._stop_driver()  # a dead driver is started afresh on the next try
            raise
        self._broken = None
        self._context = context
        context.set_default_navigation_timeout(self.nav_timeout_ms)
        context.on("close", lambda *_: self._mark(context, "context closed"))
        page = context.pages[0] if context.pages else context.new_page()
        page.on("crash", lambda *_: self._mark(context, "page crashed"))
        page.on("close", lambda *_: self._mark(context, "page closed"))
        self._page = page
        self.launches += 1
        self._info("browser.launched", executable=executable, launches=self.launches,
                   profile=str(self.profile_dir))

    def _mark(self, context, reason: str) -> None:
        if context is self._context:  # late events of a context already replaced don't count
            self._broken = self._broken or reason

    def _shutdown_context(self) -> None:
        context, self._context, self._page = self._context, None, None
        if context is not None:
            try:
                context.close()
            except Exception:
                pass  # already gone with the browser

    def _stop_driver(self) -> None:
        pw, self._pw = self._pw, None
        if pw is not None:
            try:
                pw.stop()
            except Exception:
                pass

    def close(self) -> None:
        """Close the context (the browser exits with it) and stop Playwright's driver."""
        self._shutdown_context()
        self._stop_driver()
        # a browser that did not exit with its context must not outlive the program
        end_orphans(self.profile_dir, grace_s=1.0)


def _main() -> int:
    path, tried = locate(configured_executable())
    if path:
        print(path)
        return 0
    print(BrowserNotFound(tried), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(_main())
