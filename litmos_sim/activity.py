"""Activity generator: how the org changes while the simulated clock advances.

Events (new users, profile edits, logins, course progress and completions, new assignments, removals,
deactivations) are spread over (t0, t1] at rates proportional to the org's size; then overdue and
compliance-expiry flips whose deadline falls in (t0, t1] are applied at their deadline. About 5% of
events are "late": committed at their event time but stamped up to 12 hours earlier, so they can land
in a window a client already read. Deterministic for a given org state and (t0, t1).
"""
from __future__ import annotations

import random

from . import names as N
from .org import CR, HOUR, MS_PER_DAY, PILOT_COURSE, TU, U, UC, Org

LATE_SHARE = 0.05
LATE_MAX_MS = 12 * HOUR

# Events per simulated day, as a fraction of users (or of course results for "progress").
_RATES = (
    ("new_user", 0.005), ("edit", 0.01), ("login", 0.15), ("assign", 0.004), ("remove_course", 0.001),
    ("leave_team", 0.0005), ("deactivate", 0.0003),
)
_PROGRESS_RATE = 0.01


def _count(rng: random.Random, per_day: float, days: float) -> int:
    expected = per_day * days
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def run_activity(org: Org, t0: int, t1: int) -> dict[str, int]:
    """Mutate `org` with the activity of the interval (t0, t1] (epoch ms); returns counts by event kind."""
    rng = random.Random(f"activity/{org.seed}/{t0}/{t1}")
    saved_rng, org.rng = org.rng, rng
    try:
        days = (t1 - t0) / MS_PER_DAY
        n_users = len(org.t("users"))
        plan = []
        for kind, rate in _RATES:
            plan += [kind] * _count(rng, rate * n_users, days)
        plan += ["progress"] * _count(rng, _PROGRESS_RATE * len(org.t("course_results")), days)
        events = sorted((rng.randint(t0 + 1, t1), kind) for kind in plan)
        counts: dict[str, int] = {}
        for at, kind in events:
            stamp = at - rng.randint(1, LATE_MAX_MS) if rng.random() < LATE_SHARE else at
            org.now_ms = at  # nothing an event writes may be later than its commit time
            if _EVENTS[kind](org, rng, stamp):
                counts[kind] = counts.get(kind, 0) + 1
        org.now_ms = t1
        counts["deadlines"] = _deadlines(org, t0, t1)
        return counts
    finally:
        org.rng = saved_rng
        org.now_ms = max(org.now_ms, t1)


def _active_user(org: Org, rng: random.Random) -> int | None:
    users = org.t("users").rows
    for _ in range(5):
        u = rng.randrange(len(users))
        if users[u][U.Active]:
            return u
    return None


def _new_user(org: Org, rng: random.Random, stamp: int) -> bool:
    u = org.new_user(stamp)
    org.join_team(u, rng.randrange(len(org.t("teams"))), stamp)
    assignable = range(PILOT_COURSE + 1, len(org.t("courses")))
    for c in rng.sample(assignable, k=min(len(assignable), rng.randint(1, 3))):
        org.assign_course(u, c, stamp)
        org.new_result(u, c, stamp)
    return True


def _edit(org: Org, rng: random.Random, stamp: int) -> bool:
    u = _active_user(org, rng)
    if u is None:
        return False
    users = org.t("users")
    row = users.rows[u]
    field = rng.choice(("JobTitle", "PhoneMobile", "City"))
    pools = {"JobTitle": N.JOB_TITLES, "PhoneMobile": ("+44 7700 900456", "+1 555 0199", None), "City": N.CITIES}
    row[getattr(U, field)] = rng.choice(pools[field])
    row[U.UpdatedDate] = max(row[U.UpdatedDate] + 1, stamp)
    row[U.UpdatedBy] = org.admin()
    users.touch(u)
    org.t("logins").invalidate_all()
    return True


def _login(org: Org, rng: random.Random, stamp: int) -> bool:
    u = _active_user(org, rng)
    if u is None:
        return False
    org.login(u, stamp)
    return True


def _progress(org: Org, rng: random.Random, stamp: int) -> bool:
    results = org.t("course_results").rows
    for _ in range(5):
        r = rng.randrange(len(results))
        row = results[r]
        if row[CR.Active] and not row[CR.Completed]:
            break
    else:
        return False
    if row[CR.StartedDate] is None:
        org.progress(r, stamp, float(rng.choice((10, 20, 50))), None)
    elif rng.random() < 0.5:
        org.progress(r, stamp, 100.0, stamp)
    else:
        org.progress(r, stamp, min(95.0, row[CR.PercentageComplete] + 15.0), None)
    return True


def _assign(org: Org, rng: random.Random, stamp: int) -> bool:
    u = _active_user(org, rng)
    if u is None:
        return False
    c = org.assignable_course(len(org.t("courses")))
    if c is None or (u, c) in org.result_of:
        return False
    org.assign_course(u, c, stamp)
    org.new_result(u, c, stamp)
    return True


def _remove_course(org: Org, rng: random.Random, stamp: int) -> bool:
    if not org.user_course_keys:
        return False
    u, c = rng.choice(org.user_course_keys)
    uc_row = org.user_course_of[(u, c)]
    ucs = org.t("user_courses")
    row = ucs.rows[uc_row]
    if not row[UC.Active]:
        return False
    row[UC.Active] = False
    row[UC.UpdatedDate] = max(row[UC.UpdatedDate] + 1, stamp)
    ucs.touch(uc_row)
    r = org.result_of.get((u, c))
    if r is not None:
        results = org.t("course_results")
        res = results.rows[r]
        res[CR.Active] = False
        res[CR.UpdatedDate] = max(res[CR.UpdatedDate] + 1, stamp)
        results.touch(r)
    return True


def _leave_team(org: Org, rng: random.Random, stamp: int) -> bool:
    tus = org.t("team_users")
    i = rng.randrange(len(tus))
    row = tus.rows[i]
    if not row[TU.Active]:
        return False
    row[TU.Active] = False
    row[TU.UpdatedDate] = max(row[TU.UpdatedDate] + 1, stamp)
    tus.touch(i)
    return True


def _deactivate(org: Org, rng: random.Random, stamp: int) -> bool:
    u = _active_user(org, rng)
    if u is None:
        return False
    row = org.t("users").rows[u]
    if row[U.AccessLevel] == "Administrator":  # the people making every change stay
        return False
    org.deactivate_user(u, max(row[U.UpdatedDate] + 1, stamp))
    return True


def _deadlines(org: Org, t0: int, t1: int) -> int:
    """Overdue / compliance-expiry flips with a deadline in (t0, t1], stamped at the deadline."""
    rows = org.t("course_results").rows
    flipped = 0
    for r, row in enumerate(rows):
        due, till = row[CR.DueDate], row[CR.CompliantTillDate]
        if (due is not None and t0 < due <= t1) or (till is not None and t0 < till <= t1):
            before = (row[CR.Overdue], row[CR.UpToDate])
            org.apply_deadlines(r, t1, since=t0)
            flipped += before != (row[CR.Overdue], row[CR.UpToDate])
    return flipped


_EVENTS = {
    "new_user": _new_user, "edit": _edit, "login": _login, "progress": _progress, "assign": _assign,
    "remove_course": _remove_course, "leave_team": _leave_team, "deactivate": _deactivate,
}
