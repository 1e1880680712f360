"""HKJC football GraphQL answers as odds-data matches (pure; ../shared/data/README.md, hkjc).

The site's answers are `{"data": {"matches": [...]}}`. Odds answers (the `matchList` and
single-match queries) map onto odds-data matches:
- HAD pool → `odds` (1X2), HDC → `handicap`, HIL → `totals` (split lines → quarter lines):
  sources/hkjc_pools.py says which pools, lines and combinations give prices. No 1X2 prices:
  odds null; no line on sale: no `handicap`/`totals` field.
- `kickOffTime` (+08:00) → UTC `Z`; `tournament.code` → competition; English names through the
  aliases; the key and the season (from the kickoff; MLS & co. by calendar year) via KeyTables.
- `status`: STATUSES below. An unknown status keeps the match, without odds, with a problem;
  prices are given for scheduled and live (in-play: on sale at HKJC, never bet on — decide bets
  only scheduled matches) matches, never for finished, postponed or void ones.
- `updateAt` is kept as `source_updated_at` (information only: odds' age runs from `seen_at`).

Results answers (the `matchResult` query of the results pages) carry `results[]` per match. No
answer of it was ever captured here and HKJC documents none of its codes; public integrations
that run in production read the full-time score from the entry with stageId 5 and resultType 1
(goals) once `payoutConfirmed` (README: HKJC results), so that is config `source.hkjc.fulltime`'s
default. `parse_results` accepts only the documented shape and only that entry (the highest
`sequence` when it was corrected), and raises `ShapeError` naming the field for anything else —
also for an answer with result entries but none of the configured kind (the codes changed?
never guessed), and for every answer while `fulltime` is null. A wrong top-level shape raises
`ShapeError` too; one bad match is skipped with a problem.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.core.errors import BetpipeError
from pipeline.core.matchkey import KeyTables
from pipeline.core.timefmt import iso, parse_iso
from pipeline.sources.hkjc_pools import LINE_POOLS, carried, had_odds, line_prices

SCHEDULED = ("PREEVENT",)
LIVE = ("INPLAY", "KICKOFF", "FIRSTHALF", "HALFTIME", "SECONDHALF", "FULLTIMENOTCOMPLETED",
        "EXTRATIME", "ETFIRSTHALF", "ETHALFTIME", "ETSECONDHALF", "PENALTYSHOOTOUT")
FINISHED = ("MATCHENDED", "INPLAYMATCHENDED", "FULLTIME", "RESULT", "RESULTED", "FINALRESULT",
            "ENDED")
STATUSES = {**{s: "scheduled" for s in SCHEDULED}, **{s: "live" for s in LIVE},
            **{s: "finished" for s in FINISHED}, "POSTPONED": "postponed",
            "CANCELLED": "void", "VOID": "void"}
PRICED = ("scheduled", "live")  # statuses whose prices are kept
KEEP = {"HAD": "odds", **{code: field for code, (field, _) in LINE_POOLS.items()}}


class ShapeError(BetpipeError, ValueError):
    """An answer this parser does not know: names the field (`data.matches[0].results`)."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}", field=field, reason=reason)
        self.field, self.reason = field, reason


def answer_matches(doc: Any) -> list:
    """`data.matches` of one answer; ShapeError (with the GraphQL errors, if any) otherwise."""
    if not isinstance(doc, dict):
        raise ShapeError("$", f"the answer is {type(doc).__name__}, not an object")
    errors = doc.get("errors")
    data = doc.get("data")
    if not isinstance(data, dict):
        why = f"GraphQL errors: {_messages(errors)}" if errors else "missing or not an object"
        raise ShapeError("data", why)
    matches = data.get("matches")
    if not isinstance(matches, list):
        raise ShapeError("data.matches", "missing or not a list" +
                         (f" (the answer has {', '.join(sorted(data))})" if data else ""))
    return matches


def _messages(errors: Any) -> str:
    if isinstance(errors, list):
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e)
                         for e in errors)[:300]
    return str(errors)[:300]


def _text(match: dict, *path: str) -> str | None:
    value: Any = match
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def unprice(match: dict) -> dict:
    """The match without prices (odds null, no handicap or totals): no longer on sale."""
    match["odds"] = None
    for field, _ in LINE_POOLS.values():
        match.pop(field, None)
    return match


def parse_match(raw: Any, index: int, tables: KeyTables, seen_at: str, now: datetime,
                problems: list[str]) -> dict | None:
    """One answer match → an odds-data match (with `source_id` for merging), or None."""
    if not isinstance(raw, dict):
        problems.append(f"data.matches[{index}]: not an object; skipped")
        return None
    label = f"match {raw.get('frontEndId') or raw.get('id') or f'#{index}'}"
    fields = {"id": _text(raw, "id"), "kickOffTime": _text(raw, "kickOffTime"),
              "status": _text(raw, "status"), "homeTeam.name_en": _text(raw, "homeTeam", "name_en"),
              "awayTeam.name_en": _text(raw, "awayTeam", "name_en"),
              "tournament.code": _text(raw, "tournament", "code")}
    missing = [f for f, v in fields.items() if v is None]
    if missing:
        problems.append(f"{label}: missing {', '.join(missing)}; skipped")
        return None
    try:
        kickoff = parse_iso(fields["kickOffTime"])
    except ValueError:
        problems.append(f"{label}: kickOffTime {fields['kickOffTime']!r} is not a timestamp; "
                        "skipped")
        return None
    code, hk_status = fields["tournament.code"], fields["status"]
    status = STATUSES.get(hk_status)
    if status is None:
        problems.append(f"{label}: unknown status {hk_status!r}; kept without odds")
        status = "scheduled" if now < kickoff else "live"
    priced = status in PRICED and hk_status in STATUSES
    pools = raw.get("foPools")
    odds = had_odds(pools, label, problems) if priced else None
    home = tables.team(fields["homeTeam.name_en"])
    away = tables.team(fields["awayTeam.name_en"])
    season = tables.season(kickoff, code)
    match = {"key": tables.key(home, away, kickoff=kickoff, competition=code, season=season),
             "season": season, "competition": code, "home": home, "away": away,
             "kickoff": iso(kickoff), "status": status, "odds": odds, "seen_at": seen_at,
             "result": None, "source_id": fields["id"], "source_ref": raw.get("frontEndId"),
             "source_status": hk_status}
    for code, (field, _) in LINE_POOLS.items():
        entries = line_prices(pools, code, label, problems) if priced else []
        if entries:
            match[field] = entries
    updated = _text(raw, "updateAt")
    if updated:
        try:
            match["source_updated_at"] = iso(parse_iso(updated))
        except ValueError:
            problems.append(f"{label}: updateAt {updated!r} is not a timestamp")
    return match


def parse_odds_answers(docs: list[Any], tables: KeyTables, seen_at: str,
                       now: datetime) -> tuple[list[dict], list[str]]:
    """Odds answers (in the order received) → (matches by kickoff then key, problems).

    A match in several answers: the later answer wins, but prices (1X2, handicap, totals) are
    never lost to an answer that does not carry their pool (HAD, HDC, HIL) at all, while the
    status is the same. ShapeError when an answer is not `data.matches`.
    """
    problems: list[str] = []
    by_id: dict[str, dict] = {}
    for doc in docs:
        for index, raw in enumerate(answer_matches(doc)):
            match = parse_match(raw, index, tables, seen_at, now, problems)
            if match is None:
                continue
            old = by_id.get(match["source_id"])
            if old and old["status"] == match["status"]:
                has = carried(raw.get("foPools"))
                for code, field in KEEP.items():
                    if code not in has and old.get(field) is not None:
                        match[field] = old[field]
            by_id[match["source_id"]] = match
    return unique_keys(by_id.values(), problems), problems


def unique_keys(matches, problems: list[str]) -> list[dict]:
    out, keys = [], set()
    for m in sorted(matches, key=lambda m: (m["kickoff"], m["key"])):
        if m["key"] in keys:
            problems.append(f"match {m.get('source_ref') or m['source_id']}: key {m['key']!r} "
                            "appears twice; the later one skipped")
            continue
        keys.add(m["key"])
        out.append(m)
    return out


# --------------------------------------------------------------------------- results

RESULT_FIELDS = {"homeResult": int, "awayResult": int, "stageId": int, "resultType": int,
                 "payoutConfirmed": bool}


def _result_field(entry: dict, name: str, kind: type, where: str):
    value = entry.get(name)
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ShapeError(f"{where}.{name}", f"{value!r} is not a boolean")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ShapeError(f"{where}.{name}", f"{value!r} is not a whole number >= 0")


def parse_results(doc: Any, fulltime: tuple[int, int] | None, tables: KeyTables, seen_at: str,
                  now: datetime) -> tuple[list[dict], list[str]]:
    """A `matchResult` answer → (odds-data matches with their final result, problems).

    Strict: ShapeError naming the field for a missing or mistyped field, for any entry while
    `fulltime` (config source.hkjc.fulltime: the (stageId, resultType) of the full-time score)
    is None, and for an answer with entries of which none is that one. Only that entry, once
    payoutConfirmed (of several, the highest `sequence`), gives a result; other stages are
    ignored. A finished match without it gets no result, with a problem.
    """
    raws = answer_matches(doc)
    problems: list[str] = []
    out = []
    entries_seen = fulltime_seen = 0
    for index, raw in enumerate(raws):
        where = f"data.matches[{index}]"
        match = parse_match(raw, index, tables, seen_at, now, problems)
        if match is None:
            raise ShapeError(where, problems.pop())
        unprice(match)
        entries = raw.get("results")
        if not isinstance(entries, list):
            raise ShapeError(f"{where}.results", "missing or not a list")
        final, final_seq = None, -1
        for j, entry in enumerate(entries):
            at = f"{where}.results[{j}]"
            if not isinstance(entry, dict):
                raise ShapeError(at, "not an object")
            values = {n: _result_field(entry, n, k, at) for n, k in RESULT_FIELDS.items()}
            stage = (values["stageId"], values["resultType"])
            if fulltime is None:
                raise ShapeError(f"{at}.stageId", "which stageId/resultType is the full-time "
                                 "score is not documented; set source.hkjc.fulltime "
                                 "{stage_id, result_type} once you know it")
            entries_seen += 1
            if stage == tuple(fulltime):
                fulltime_seen += 1
                seq = entry.get("sequence")
                seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else j
                if values["payoutConfirmed"] and seq >= final_seq:
                    final, final_seq = values, seq
        if final is not None and match["status"] not in ("void", "postponed"):
            match["status"] = "finished"
            match["result"] = {"home_goals": final["homeResult"], "away_goals": final["awayResult"]}
        elif match["status"] == "finished" and entries:
            problems.append(f"{where}.results: no confirmed stageId {fulltime[0]} / resultType "
                            f"{fulltime[1]} entry (source.hkjc.fulltime): no result taken")
        out.append(match)
    if entries_seen and not fulltime_seen:
        raise ShapeError("data.matches[].results", f"{entries_seen} result entries, none with "
                         f"stageId {fulltime[0]} and resultType {fulltime[1]} (source.hkjc."
                         "fulltime): which is the full-time score is unknown; refused, never "
                         "guessed")
    return unique_keys(out, problems), problems
