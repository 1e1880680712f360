"""The sandbox's accepted bets, persisted in `data/sandbox/bets.jsonl` (DESIGN: the sandbox).

One compact JSON line per accepted bet, appended with flush + fsync before the bookmaker answers,
so a killed sandbox loses nothing it confirmed; loaded back at start. Each line also carries the
price pool of its match, market, selection and line after the bet (`pool.staked`: the money
that pool has taken, see pools.py), so the pools are on disk in the same write and a restarted sandbox shows
the same prices. A torn last line (a crash
mid-write, which was therefore never confirmed) is ignored and cut off before the next append.
One bookmaker process owns a home's store. A bet's status (open/won/lost/void) is not stored: it
is computed from the match state when read.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

import orjson

from pipeline.core.errors import BetpipeError
from pipeline.core.filebus import fsync_dir
from pipeline.programs.bookmaker.pools import pool_key

SCHEMA_VERSION = 1
BET_FIELDS = ("client_ref", "bet_ref", "match_id", "match_key", "market", "selection", "line",
              "odds", "stake", "placed_at")


class BetRefused(BetpipeError):
    """The bookmaker does not take a bet: `reason_code` is suspended | price_changed |
    line_changed | over_limit | unknown_match | bad_request | logged_out."""

    STATUS = {"bad_request": 422, "unknown_match": 422, "suspended": 409, "price_changed": 409,
              "line_changed": 409, "over_limit": 409, "logged_out": 401}

    def __init__(self, reason_code: str, message: str):
        super().__init__(message)
        self.reason_code, self.message = reason_code, message

    @property
    def http_status(self) -> int:
        return self.STATUS.get(self.reason_code, 409)

    def to_json(self) -> dict:
        return {"error": self.message, "reason_code": self.reason_code}


class BetStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._bets: list[dict] = []
        self._by_client: dict[str, dict] = {}
        self._pools: dict[str, dict[str, float]] = {}  # match_id -> pool_key -> pool's money
        self.skipped_lines = 0  # unreadable lines found at load (kept in the file, ignored)
        self._good_size = 0     # bytes up to the end of the last complete line
        self._load()

    def _load(self) -> None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1  # a last line without its newline is torn
        self._good_size = end
        for line in data[:end].splitlines():
            if not line.strip():
                continue
            try:
                bet = orjson.loads(line)
                if not isinstance(bet, dict) or not bet.get("client_ref"):
                    raise ValueError("not a bet")
            except (orjson.JSONDecodeError, ValueError):
                self.skipped_lines += 1
                continue
            if bet["client_ref"] not in self._by_client:
                self._keep(bet)

    def _keep(self, bet: dict) -> None:
        self._bets.append(bet)
        self._by_client[bet["client_ref"]] = bet
        pools = self._pools.setdefault(bet.get("match_id"), {})
        sel = pool_key(bet.get("market", "1X2"), bet.get("selection"), bet.get("line"))
        pool = bet.get("pool")
        if isinstance(pool, dict) and isinstance(pool.get("staked"), (int, float)):
            pools[sel] = float(pool["staked"])
        else:  # a line from before the pools: its stake still counts
            pools[sel] = pools.get(sel, 0.0) + float(bet.get("stake", 0))

    def staked(self, match_id: str) -> dict[str, float]:
        """pool_key -> the money that pool has taken, for one match (a copy). No lock (dict
        reads), so `make` may call it under the store's lock."""
        return dict(self._pools.get(match_id, {}))

    def __len__(self) -> int:
        return len(self._bets)

    def all(self) -> list[dict]:
        """Every accepted bet, in the order accepted (copies)."""
        with self._lock:
            return [dict(b) for b in self._bets]

    def get(self, client_ref: str) -> dict | None:
        with self._lock:
            bet = self._by_client.get(client_ref)
            return dict(bet) if bet else None

    def place(self, client_ref: str, make: Callable[[str], dict]) -> tuple[dict, bool]:
        """(bet, True) for a newly booked bet; (the first bet, False) for a known client_ref.

        `make(bet_ref)` builds the bet (every field of BET_FIELDS but client_ref and bet_ref) or
        raises BetRefused; it runs under the store's lock, so checking the market and booking is
        one step. The bet is on disk (fsync) when this returns.
        """
        with self._lock:
            known = self._by_client.get(client_ref)
            if known is not None:
                return dict(known), False
            bet_ref = f"SB{len(self._bets) + 1:06d}"
            bet = {"client_ref": client_ref, "bet_ref": bet_ref, **make(bet_ref),
                   "schema_version": SCHEMA_VERSION}
            self._append(bet)
            self._keep(bet)
            return dict(bet), True

    def _append(self, bet: dict) -> None:
        line = orjson.dumps(bet) + b"\n"
        created = not self.path.exists()
        with open(self.path, "ab") as f:
            if f.tell() != self._good_size:  # cut a torn tail off before appending
                f.truncate(self._good_size)
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
            self._good_size = f.tell()
        if created:
            fsync_dir(self.path.parent)
