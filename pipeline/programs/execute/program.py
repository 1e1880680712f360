"""`betpipe execute`: place the standing decisions of decisions.json, one at a time.

Start: beat, wait for clock and config, take the executor's instance lock (one executor per
home places bets: start-up reconciliation must not race a placement still in flight elsewhere),
reconcile every unresolved BET_INTENDED with the bookmaker, then run a pass at once and on every
change of decisions, odds-data, the ledger or the config. `mode` is read at start only and names
the bookmaker (the registry, pipeline.bookmakers): `paper`, or `live`, which places through the
browser on the sandbox and needs $BETPIPE_SANDBOX_USER and $BETPIPE_SANDBOX_PASSWORD: a bookmaker
that is `unusable()` here — without them — has health say why (failing) and places nothing.
While the bookmaker cannot be reached nothing is placed and health says until when (backoff.py;
health `bookmaker`). SIGTERM: the placements in flight are finished, then the program exits 0.
"""
from __future__ import annotations

from filelock import FileLock, Timeout

from pipeline.bookmakers import bookmaker_class
from pipeline.core.ledger import Ledger
from pipeline.core.paths import Home
from pipeline.core.runtime import Runtime
from pipeline.core.timefmt import iso
from pipeline.core.watchloop import LastGood, serve
from pipeline.programs.execute.engine import Executor
from pipeline.core.files import check_decisions, check_odds

PROGRAM = "execute"


def _instance_lock(rt: Runtime) -> FileLock | None:
    lock = FileLock(str(rt.home.data / "execute.instance.lock"))
    while not rt.stopping.is_set():
        try:
            lock.acquire(timeout=0)
            return lock
        except Timeout:
            rt.fail(f"another execute program holds {lock.lock_file}; waiting for it to stop")
            rt.wait(0.5)
    return None


def main(home: Home | None = None) -> int:
    rt = Runtime(PROGRAM, home)
    try:
        if not rt.start():
            return 0
        problem = bookmaker_class(rt.config.mode).unusable()
        if problem:
            rt.fail(problem)
            rt.stopping.wait()
            return 0
        lock = _instance_lock(rt)
        if lock is None:
            return 0
        try:
            _run(rt)
        finally:
            lock.release()
        return 0
    finally:
        rt.close()


def _run(rt: Runtime) -> None:
    home = rt.home
    bookmaker = bookmaker_class(rt.config.mode).open(rt)
    if bookmaker is None:
        return  # stopped before the login
    executor = Executor(Ledger(home.ledger, rt.clock), bookmaker, rt.clock, rt.log)
    decisions = LastGood(home.decisions, rt.log, check_decisions)
    odds = LastGood(home.odds, rt.log, check_odds)
    if bookmaker.capabilities.parsed_odds:  # odds-data parsed once, not again to place
        bookmaker.use_parsed(odds.doc_of)
    mode = rt.config.mode

    done = executor.reconcile(rt.config)  # on start, before anything else (invariant 1)
    rt.log.info("reconciled", resolved=done, still_unresolved=len(executor.pending))

    def on_pass(_changed) -> str | None:
        if rt.config.mode != mode:
            rt.log.warning("mode.change_ignored", running=mode, configured=rt.config.mode,
                           hint="mode is read at start only: restart execute")
        counts = executor.run_pass(decisions.load() or [], odds.load(), rt.config,
                                   stopping=rt.stopping.is_set)
        for name in ("placed", "failed", "refused", "unknown"):
            if counts[name]:
                rt.health.incr(name, counts[name])
        _show_backoff(rt, executor, counts)
        seen = {"odds_version": (odds.doc or {}).get("version"),
                "decisions_version": (decisions.doc or {}).get("version")}
        if any(rt.health.info.get(k) != v for k, v in seen.items()):
            rt.health.info.update(seen)  # what this pass processed (step-mode clock)
            rt.health.beat_soon()  # not on this thread: the fsyncs would hold the next pass
        return executor.backoff.problem or executor.problem or \
            bookmaker.problem or _file_problem(decisions, odds)

    try:
        serve(rt, [home.decisions, home.odds, home.ledger], on_pass)
    finally:
        if executor.parallel is not None:
            executor.parallel.close()
        bookmaker.close()


def _show_backoff(rt: Runtime, executor: Executor, counts) -> None:
    """Health's `bookmaker` entry: down since / next try (simulated time), probes, and how many
    decisions this pass held back; beats at once when it changes."""
    outage = executor.backoff.outage
    shown = {"reachable": not outage.down, "probes": outage.probes,
             "down_since": iso(outage.down_since) if outage.down else None,
             "next_try_at": iso(outage.next_probe_at) if outage.down else None,
             "back_at": iso(outage.back_at) if outage.back_at else None,
             "waiting": counts["waiting"]}
    if rt.health.info.get("bookmaker") != shown:
        rt.health.info["bookmaker"] = shown
        rt.health.beat_soon()


def _file_problem(*files: LastGood) -> str | None:
    bad = [f"{f.path.name}: {f.problem}" for f in files if f.problem]
    return "; ".join(bad) or None
