"""Placements that run at once, answered in the order they were started (DESIGN: invariant 8).

The executor stays one thread: it runs the controls and appends each BET_INTENDED one decision at
a time, then hands the placement to `InOrder.submit`, which runs `call(item)` on one of `width`
worker threads (the browser bookmaker's pages) and gives back, in start order, the items whose
placement is over — so the ledger records the outcomes in decision order however the placements
overlap. `submit` waits while `width` placements are running; `finish` waits for all of them.
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Callable, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class InOrder(Generic[T, R]):
    def __init__(self, call: Callable[[T], R], width: int):
        self.call, self.width = call, width
        self._pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="place")
        self._started: deque[tuple[T, Future]] = deque()

    def __len__(self) -> int:
        """Placements started and not yet handed back."""
        return len(self._started)

    def running(self) -> int:
        return sum(not f.done() for _, f in self._started)

    def submit(self, item: T) -> list[tuple[T, R]]:
        """Start `call(item)` once fewer than `width` run; the finished ones, in start order."""
        while self.running() >= self.width:
            wait([f for _, f in self._started if not f.done()], return_when=FIRST_COMPLETED)
        self._started.append((item, self._pool.submit(self.call, item)))
        return self._ready(block=False)

    def finish(self) -> list[tuple[T, R]]:
        """Wait for every placement started; all of them, in start order."""
        return self._ready(block=True)

    def abandon(self) -> list[T]:
        """The items not handed back yet (their outcome is owed), forgotten here."""
        items = [item for item, _ in self._started]
        self._started.clear()
        return items

    def _ready(self, block: bool) -> list[tuple[T, R]]:
        out = []
        while self._started and (block or self._started[0][1].done()):
            item, future = self._started.popleft()
            out.append((item, future.result()))  # `call` answers; it does not raise
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True)
