"""Live mode's start-up (DESIGN: live mode needs `mode: "live"` AND the credentials).

`credentials_problem()` says exactly what is missing from the environment (never a value);
`start_bookmaker(rt)` builds the browser bookmaker on the sandbox (config `execute.url`, else
`sandbox.port`) with `execute.max_concurrent` pages, and logs in before anything is placed —
retrying, health failing with the reason, while the site is down or refuses the login.
"""
from __future__ import annotations

import os
from typing import Mapping

from pipeline.bookmakers.account import Credentials, bookmaker_url, missing_variables
from pipeline.bookmakers.sandbox import SandboxBookmaker
from pipeline.core.runtime import Runtime

PROGRAM = "execute"
RETRY_REAL_S = 2.0


def credentials_problem(env: Mapping[str, str] | None = None) -> str | None:
    missing = missing_variables(os.environ if env is None else env)
    if not missing:
        return None
    names = " and ".join(f"${m}" for m in missing)
    return (f"mode 'live' needs the bookmaker's credentials in the environment, and {names} "
            f"{'is' if len(missing) == 1 else 'are'} not set: nothing is placed. Set them in "
            f"the environment execute starts in and restart it, or set mode 'paper'")


def start_bookmaker(rt: Runtime) -> SandboxBookmaker | None:
    """The logged-in browser bookmaker; None when a stop came first."""
    config, credentials = rt.config, Credentials.from_env()
    assert credentials is not None, "check credentials_problem() first"
    url = bookmaker_url(config)
    bookmaker = SandboxBookmaker(url, credentials, rt.home.profile_dir(PROGRAM),
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
            rt.wait(RETRY_REAL_S)
            continue
        rt.log.info("live.ready", url=url, pages=bookmaker.concurrent)
        rt.recover()
        return bookmaker
    bookmaker.close()
    return None
