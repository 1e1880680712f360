"""Automatic garbage collection held off for a block of work that allocates a lot and frees
little — a program's pass or cycle, a backtest run — and back on after it, so it collects once,
between blocks, not many times inside one: a collection in the middle of execute's pass took
5-100 ms of the odds-data → BET_PLACED path (odds-data alone is ~20,000 containers), and a
backtest allocates ~10 objects per bet. Start-up's objects are frozen out of collections
(`Runtime.start`)."""
from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def collect_after():
    """No automatic collection inside the block; back on after it (if it was on before)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
