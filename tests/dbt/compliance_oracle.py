"""Mart figures computed independently, in plain Python, from the simulator's ground truth.

This re-implements the definitions of dbt_models/README.md from the Litmos records the simulator holds
(not from the warehouse), so a test comparing the two checks the pipeline and the dbt models together.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any


def _records(sim: Any, path: str) -> list[dict]:
    """Ground-truth records with lower-cased field names (UserCourse says ``ID``, others ``Id``)."""
    return [{k.lower(): v for k, v in row.items()} for row in sim.ground_truth(path)]


def _active(row: dict) -> bool:
    return row.get("active") is not False


def _utc_date(value: datetime | None) -> date | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).date()


@dataclass
class Oracle:
    """Expected mart contents.

    Attributes:
        completion_pairs: (user_id, course_id) rows of fct_course_completion.
        compliance: (user_id, course_id) -> compliance_status, rows of fct_compliance.
        team_status: (team_id, scope) -> Counter of statuses, rows of team_compliance_summary.
    """

    completion_pairs: set[tuple[str, str]]
    compliance: dict[tuple[str, str], str]
    team_status: dict[tuple[str, str], Counter]


def compute(sim: Any, as_of: date, expiring_soon_days: int = 30) -> Oracle:
    """Computes the expected marts from ``sim.ground_truth`` at ``as_of``."""
    users = {r["id"]: r for r in _records(sim, "/org/users/details")}
    courses = {r["id"]: r for r in _records(sim, "/org/courses")}
    teams = {r["id"]: r for r in _records(sim, "/org/teams")}
    paths = {r["id"]: r for r in _records(sim, "/org/learningpaths")}
    results = {(r["userid"], r["id"]): r for r in _records(sim, "/org/results/details") if _active(r)}

    members = defaultdict(set)  # team -> users (active link, active team)
    for r in _records(sim, "/org/teams/users"):
        if _active(r) and r["teamid"] in teams and _active(teams[r["teamid"]]):
            members[r["teamid"]].add(r["id"])
    path_courses = defaultdict(set)
    for r in _records(sim, "/org/learningpaths/courses"):
        if _active(r):
            path_courses[r["learningpathid"]].add(r["id"])

    def live_path(lp_id: str) -> bool:
        return lp_id in paths and _active(paths[lp_id])

    assigned: set[tuple[str, str]] = set()
    for r in _records(sim, "/org/users/courses"):
        if _active(r):
            assigned.add((r["userid"], r["id"]))
    for r in _records(sim, "/org/teams/courses"):
        if _active(r) and r["isinteamlibrary"] is False:
            assigned |= {(u, r["id"]) for u in members.get(r["teamid"], ())}
    for r in _records(sim, "/org/learningpaths/users"):
        if _active(r) and live_path(r["learningpathid"]):
            assigned |= {(r["id"], c) for c in path_courses[r["learningpathid"]]}
    for r in _records(sim, "/org/teams/learningpaths"):
        if _active(r) and r["isinteamlibrary"] is False and live_path(r["id"]):
            assigned |= {(u, c) for u in members.get(r["teamid"], ()) for c in path_courses[r["id"]]}
    pairs = assigned | set(results)

    compliance: dict[tuple[str, str], str] = {}
    for user_id, course_id in pairs:
        user, course = users.get(user_id), courses.get(course_id)
        if not (user and course and _active(user) and _active(course)):
            continue
        period = course.get("complianttilldays") or 0
        result = results.get((user_id, course_id)) or {}
        till = _utc_date(result.get("complianttilldate"))
        if period <= 0 and till is None:
            continue
        completed = result.get("completed") is True
        if till is None and completed and period > 0 and result.get("completeddate"):
            till = _utc_date(result["completeddate"]) + timedelta(days=period)
        due = _utc_date(result.get("duedate"))
        if till is not None and till < as_of:
            status = "expired"
        elif till is not None and till <= as_of + timedelta(days=expiring_soon_days):
            status = "expiring_soon"
        elif till is not None or completed:
            status = "compliant"
        elif due is not None and due < as_of:
            status = "overdue"
        else:
            status = "not_completed"
        compliance[(user_id, course_id)] = status

    by_user = defaultdict(list)
    for (user_id, _), status in compliance.items():
        by_user[user_id].append(status)
    active_members = {t: {u for u in us if u in users and _active(users[u])} for t, us in members.items()}
    children = defaultdict(set)
    for t in teams.values():
        if t.get("parentteamid") in teams:
            children[t["parentteamid"]].add(t["id"])

    def subtree(team_id: str) -> set[str]:
        seen, todo = set(), [team_id]
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(children[current])
        return seen

    team_status: dict[tuple[str, str], Counter] = {}
    for team_id, team in teams.items():
        if not _active(team):
            continue
        scopes = {"team": active_members.get(team_id, set()),
                  "rollup": set().union(*(active_members.get(t, set()) for t in subtree(team_id)))}
        for scope, scope_users in scopes.items():
            team_status[(team_id, scope)] = Counter(s for u in scope_users for s in by_user[u])
    return Oracle(pairs, compliance, team_status)
