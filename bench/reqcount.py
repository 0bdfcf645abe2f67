"""Counting what a run asked the simulator for, and the fewest requests that could have read the same data.

Minimum of a date-windowed /org endpoint: the fewest 7-day day-aligned windows covering the same days,
each read at 1000 rows a page (at least one request per window), rows counted from the simulator's ground
truth with its own window rule (since <= ts <= to). Minimum of the other endpoints (since-only, full
lists, per-parent lists, per-id details): one request per distinct query the run needed, plus a page per
further 1000 rows it returned.
"""
from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Any

from bench.common import PAGE, ideal_windows, min_pages


def _utc(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00").replace(" ", "T"))


def delta_paths() -> dict[str, tuple[str, str | None]]:
    """The simulator's windowed endpoints: path -> (time field, fallback field)."""
    from litmos_sim.schema import ORG_ENDPOINTS

    return {p: (e.ts_field, e.ts_fallback) for p, e in ORG_ENDPOINTS.items() if e.ts_field}


def minimum_delta(sim, start: datetime, end: datetime) -> tuple[int, int, dict[str, int]]:
    """(min requests, windows, per-path min) to read every /org endpoint over [start, end) day-aligned."""
    windows = ideal_windows(start, end)
    per_path: dict[str, int] = {}
    for path, (field, fallback) in delta_paths().items():
        stamps = sorted(t for t in (_utc(r.get(field)) or _utc(r.get(fallback) if fallback else None)
                                    for r in sim.ground_truth(path)) if t is not None)
        total = 0
        for since, to in windows:  # inclusive on both ends, as the simulator serves them
            n = bisect.bisect_right(stamps, to) - bisect.bisect_left(stamps, since)
            total += min_pages(n)
        per_path[path] = total
    return sum(per_path.values()), len(windows), per_path


def analyse(records: list[Any]) -> dict[str, Any]:
    """What the run did: requests by status, by path family, wasted ones, and the non-/org minimum."""
    by_status = Counter(int(r.status) for r in records)
    limits = Counter(str((r.params or {}).get("limit")) for r in records)
    seen: Counter = Counter()
    groups: dict[tuple, dict[int, int]] = defaultdict(dict)
    ok_rows = 0
    for r in records:
        params = dict(r.params or {})
        full = (r.path, tuple(sorted(params.items())))
        if int(r.status) == 200:
            seen[full] += 1
            ok_rows += int(r.rows or 0)
            start = int(params.pop("start", 0) or 0)
            params.pop("limit", None)
            groups[(r.path, tuple(sorted(params.items())))][start] = int(r.rows or 0)
    duplicates = sum(c - 1 for c in seen.values() if c > 1)
    other_min, other_made = 0, 0
    org_made = 0
    for (path, _), pages in groups.items():
        if path.startswith("/org/"):
            continue
        other_min += min_pages(sum(pages.values()))
    for r in records:
        if r.path.startswith("/org/"):
            org_made += 1
        else:
            other_made += 1
    return {"total": len(records), "by_status": dict(by_status), "limits": dict(limits),
            "duplicate_200s": duplicates, "org_made": org_made, "other_made": other_made,
            "other_min": other_min, "ok_rows": ok_rows,
            "org_queries": sum(1 for (p, _) in groups if p.startswith("/org/"))}


PAGE_SIZE = PAGE
