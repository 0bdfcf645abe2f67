"""Per-day figures of the compliance history marts, computed from the simulator's ground truth.

Extends tests/dbt/compliance_oracle.py (the per-row statuses and per-team counts it computes) with what
the trend marts add: completion per row, and counts per course and per org. Call `day_truth(sim, day)`
after the day's sync, before the simulator advances: it is the truth as it was on that day.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from .compliance_oracle import _active, _records, compute

STATUSES = ("compliant", "expiring_soon", "expired", "overdue", "not_completed")


@dataclass
class DayTruth:
    """What the history marts must hold for one exact snapshot day.

    Attributes:
        day: The snapshot day.
        rows: (user_id, course_id) -> (compliance_status, is_completed): fct_compliance_daily's rows.
        team_status: (team_id, scope) -> Counter of statuses: team_compliance_trend's day rows.
        manager_scopes: (manager_user_id, scope) -> users counted: manager_compliance_trend's day rows.
    """

    day: date
    rows: dict[tuple[str, str], tuple[str, bool]]
    team_status: dict[tuple[str, str], Counter]
    manager_scopes: dict[tuple[str, str], set[str]]

    def counts(self, rows: list[tuple[str, bool]]) -> dict[str, int]:
        """tracked/completed/per-status counts of some rows, named like the trend marts' columns."""
        statuses = Counter(status for status, _ in rows)
        return {"tracked_count": len(rows), "completed_count": sum(done for _, done in rows),
                **{f"{s}_count": statuses[s] for s in STATUSES}}

    def org(self) -> dict[str, int]:
        """compliance_trend's figures of the day."""
        return self.counts(list(self.rows.values()))

    def by_manager(self) -> dict[tuple[str, str], dict[str, int]]:
        """manager_compliance_trend's figures of the day, per (manager, scope)."""
        by_user: dict[str, list] = defaultdict(list)
        for (user_id, _), row in self.rows.items():
            by_user[user_id].append(row)
        return {key: self.counts([row for u in users for row in by_user[u]])
                for key, users in self.manager_scopes.items()}

    def by_course(self) -> dict[str, dict[str, int]]:
        """course_compliance_trend's figures of the day, per course."""
        grouped: dict[str, list] = defaultdict(list)
        for (_, course_id), row in self.rows.items():
            grouped[course_id].append(row)
        return {course_id: self.counts(rows) for course_id, rows in grouped.items()}


def day_truth(sim: Any, day: date, expiring_soon_days: int = 30) -> DayTruth:
    """The ground truth of `sim` now, evaluated at `day` (the build's as_of_date)."""
    oracle = compute(sim, day, expiring_soon_days)
    results = {(r["userid"], r["id"]): r for r in _records(sim, "/org/results/details") if _active(r)}
    rows = {pair: (status, (results.get(pair) or {}).get("completed") is True)
            for pair, status in oracle.compliance.items()}
    users = {r["id"]: r for r in _records(sim, "/org/users/details")}
    chain: dict[tuple[str, str], int] = {}  # (manager, user) -> depth up the ManagerId chain; a cycle ends it
    for user in users:
        seen, manager, depth = {user}, users[user].get("managerid"), 1
        while manager in users and manager not in seen:
            chain[(manager, user)] = depth
            seen.add(manager)
            manager, depth = users[manager].get("managerid"), depth + 1
    scopes: dict[tuple[str, str], set[str]] = {}
    for manager in {m for m, _ in chain}:
        below = {u for (m, u), _ in chain.items() if m == manager and _active(users[u])}
        scopes[(manager, "direct")] = {u for u in below if chain[(manager, u)] == 1}
        scopes[(manager, "all")] = below
    return DayTruth(day, rows, oracle.team_status, scopes)
