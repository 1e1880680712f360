"""What the notifier says: pure functions from ledger events and health files to `Item`s.

An `Item` is one line of a chat message plus the read position it completes: the ledger seq of
its event, or the (program, status) it reports. The notifier saves a position only once the
message holding the item was delivered, so a restart neither repeats nor skips (DESIGN: notify).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.core.health import liveness

KIND_OF_EVENT = {"BET_PLACED": "placed", "BET_SETTLED": "settled", "SESSION_HALTED": "halted"}
BAD = ("degraded", "failing", "stale")
MAX_REASON = 300


@dataclass(frozen=True)
class Item:
    text: str
    ledger_seq: int | None = None
    program: tuple[str, str] | None = None  # (program, status) this item reports
    overdue: str | None = None  # the bet_ref of the overdue bet this item reports


def match_label(ev: dict) -> str:
    """"Liverpool v Norwich (2019-20)" from the event's match key (or its decision id)."""
    key = ev.get("match_key")
    if not key:
        parts = (ev.get("decision_id") or "").split("|")
        key = parts[1] if len(parts) > 1 else "?"
    season, _, teams = key.partition("_")
    return f"{teams} ({season})" if teams else key


def _money(x) -> str:
    try:
        return f"{float(x):.2f}"
    except (TypeError, ValueError):
        return "?"


def event_text(ev: dict) -> str | None:
    """One line for a ledger event the notifier reports; None for the others."""
    kind, session = ev.get("type"), ev.get("session", "?")
    bet = f"{match_label(ev)} · {ev.get('selection', '?')} @ {ev.get('odds', '?')}"
    if kind == "BET_PLACED":
        return f"🟢 bet placed · {session} · {bet} · stake {_money(ev.get('stake'))}"
    if kind == "BET_SETTLED":
        mark = {"won": "✅ won", "lost": "❌ lost", "void": "↩️ void"}.get(ev.get("outcome"), "settled")
        profit = ev.get("profit")
        signed = f"{float(profit):+.2f}" if isinstance(profit, (int, float)) else "?"
        return f"{mark} · {session} · {bet} · stake {_money(ev.get('stake'))} · profit {signed}"
    if kind == "SESSION_HALTED":
        detail = ev.get("detail") or ""
        return f"⛔ session {session} halted: {ev.get('reason', '?')}" + (f" ({detail})" if detail else "")
    return None


def ledger_items(events: list[dict], after_seq: int, wanted: set[str]) -> list[Item]:
    """Items for the events after `after_seq`, in ledger order. Events of kinds not `wanted` give
    an item without text: nothing to say, but the read position moves past them."""
    out = []
    for ev in events:
        seq = ev.get("seq", 0)
        if seq <= after_seq:
            continue
        text = event_text(ev) if KIND_OF_EVENT.get(ev.get("type")) in wanted else None
        out.append(Item(text or "", ledger_seq=seq))
    return out


def program_status(doc: dict | None, now_real: datetime) -> str:
    """ok | degraded | failing | stale | absent, from a health document."""
    alive = liveness(doc, now_real)
    return alive if alive != "running" else (doc or {}).get("state") or "ok"


def program_items(health: dict[str, dict | None], notified: dict[str, str], now_real: datetime,
                  bad_since: dict[tuple[str, str], datetime], grace_s: float) -> list[Item]:
    """Alerts for programs that turned bad (for at least `grace_s` real seconds) and notices for
    those that are ok again, relative to the statuses already `notified`. `bad_since` is the
    caller's memory of when each (program, status) was first seen."""
    out = []
    for program, doc in health.items():
        status, before = program_status(doc, now_real), notified.get(program, "ok")
        if status in BAD:
            since = bad_since.setdefault((program, status), now_real)
            if status != before and now_real - since >= timedelta(seconds=grace_s):
                reason = ((doc or {}).get("last_error") or "")[:MAX_REASON]
                if status == "stale":
                    reason = f"no heartbeat since {(doc or {}).get('last_beat_real', '?')}"
                icon = {"degraded": "⚠️", "failing": "🔴", "stale": "💤"}[status]
                out.append(Item(f"{icon} program {program} {status}: {reason}".rstrip(": "),
                                program=(program, status)))
        else:
            for key in [k for k in bad_since if k[0] == program]:
                del bad_since[key]
            if status == "ok" and before in BAD:
                out.append(Item(f"💚 program {program} ok again (was {before})",
                                program=(program, "ok")))
    return out


def overdue_items(track_health: dict | None, notified: set[str]) -> list[Item]:
    """One alert line per bet track lists as overdue (its health `overdue`) not yet notified."""
    out = []
    for o in (track_health or {}).get("overdue") or []:
        ref = o.get("bet_ref") if isinstance(o, dict) else None
        if not ref or ref in notified:
            continue
        since = f"kickoff {o['kickoff']}" if o.get("kickoff") else f"placed {o.get('placed_at')}"
        out.append(Item(f"⏰ bet overdue · {o.get('session', '?')} · {match_label(o)} · "
                        f"{o.get('selection', '?')} @ {o.get('odds', '?')} · stake "
                        f"{_money(o.get('stake'))} · no result since {since}: betpipe settle "
                        f"{ref} --score H-A | --void", overdue=ref))
    return out


def batch(items: list[Item], max_items: int = 10, max_chars: int = 1900) -> list[Item]:
    """The head of `items` that fits one message: at most `max_items` lines and `max_chars`
    characters, at least one item."""
    out, size = [], 0
    for item in items:
        if out and (len(out) >= max_items or size + len(item.text) + 1 > max_chars):
            break
        out.append(item)
        size += len(item.text) + 1
    return out


def message_text(items: list[Item], max_chars: int = 1900) -> str:
    text = "\n".join(i.text for i in items)
    return text if len(text) <= max_chars else text[:max_chars - 1] + "…"
