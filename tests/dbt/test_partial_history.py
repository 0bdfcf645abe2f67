"""A partial history (a first sync with a ``--start-date`` later than the org's history) builds green.

The simulated org has 120 days of history; the first sync starts 30 days back, so course results, links
and teams updated since then are loaded while many of their users, courses, learning paths and parent
teams (last updated before) are not. dbt must still build (the relationships tests from facts to those
dimensions warn, since a rerun cannot load them), the facts must keep those rows, and their ``*_missing``
flags must name exactly the rows whose parent is absent from the raw tables (computed here from the raw
tables, not from staging or the marts' own joins). Once per warehouse: DuckDB and Postgres.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import duckdb
import psycopg2
import pytest

from litmos_sim import SimConfig, run_simulator
from pipelines.dbt_runner import build_marts
from pipelines.sync import sync

SIM_NOW = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
AS_OF = SIM_NOW.date()
START = (SIM_NOW - timedelta(days=30)).date()

# (test name, mart, flag): every relationships test that warns, and the flag naming the rows it counts.
WARNING_TESTS = [
    ("relationships_fct_course_completion_user_id__user_id__ref_dim_users_",
     "fct_course_completion", "user_missing"),
    ("relationships_fct_course_completion_course_id__course_id__ref_dim_courses_",
     "fct_course_completion", "course_missing"),
    ("relationships_fct_learning_path_completion_user_id__user_id__ref_dim_users_",
     "fct_learning_path_completion", "user_missing"),
    ("relationships_fct_learning_path_completion_learning_path_id__learning_path_id__ref_dim_learning_paths_",
     "fct_learning_path_completion", "learning_path_missing"),
    ("relationships_fct_compliance_user_id__user_id__ref_dim_users_", "fct_compliance", "user_missing"),
    ("relationships_fct_compliance_course_id__course_id__ref_dim_courses_", "fct_compliance", "course_missing"),
    # The course trend has no flag column: its rows whose course the warehouse lacks, one per period.
    ("relationships_course_compliance_trend_course_id__course_id__ref_dim_courses_", "course_compliance_trend",
     "course_id not in (select course_id from litmos_marts.dim_courses)"),
]


class Warehouse:
    def __init__(self, destination: str, credentials: str):
        self.destination, self.credentials = destination, credentials

    def rows(self, sql: str) -> list[tuple]:
        if self.destination == "duckdb":
            with duckdb.connect(self.credentials, read_only=True) as con:
                return con.execute(sql).fetchall()
        with psycopg2.connect(self.credentials) as con, con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    def ids(self, table: str, column: str = "id") -> set:
        return {r[0] for r in self.rows(f"select {column} from litmos_raw.{table}")}


@pytest.fixture(scope="module")
def sim():
    config = SimConfig(seed=5, scale=200, api_key="dbt-test-key", history_days=120, now=SIM_NOW)
    with run_simulator(config) as running:
        yield running


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def credentials(request, tmp_path):
    if request.param == "duckdb":
        return "duckdb", str(tmp_path / "warehouse.duckdb")
    return "postgres", request.getfixturevalue("pg_database")


def test_partial_history_builds_with_warnings_and_flags_rows_without_parents(sim, credentials, tmp_path):
    destination, dsn = credentials
    sync(destination=destination, credentials=dsn, api_key=sim.api_key, base_url=sim.base_url,
         state_dir=str(tmp_path / "state"), requests_per_minute=0, start_date=START.isoformat(),
         history_start=None)
    wh = Warehouse(destination, dsn)

    # Raw tables, independently of dbt: "active" is the Litmos flag, NULL read as true.
    users, courses, paths = wh.ids("users"), wh.ids("courses"), wh.ids("learning_paths")
    inactive_users = {r[0] for r in wh.rows("select id from litmos_raw.users where active = false")}
    inactive_courses = {r[0] for r in wh.rows("select id from litmos_raw.courses where active = false")}
    teams = dict(wh.rows("select id, coalesce(active, true) from litmos_raw.teams"))
    results = wh.rows("select user_id, id, compliant_till_date is not null from litmos_raw.course_results "
                      "where coalesce(active, true)")
    lp_results = wh.rows("select user_id, id from litmos_raw.learning_path_results where coalesce(active, true)")
    direct = wh.rows("select user_id, id from litmos_raw.user_courses where coalesce(active, true)")

    # The point of the test: the partial history really lacks parents.
    assert sum(1 for u, c, _ in results if c not in courses) > 0
    assert sum(1 for u, c, _ in results if u not in users) > 0
    assert sum(1 for u, p in lp_results if p not in paths) > 0

    result = build_marts(destination, dsn, vars={"as_of_date": AS_OF.isoformat()}, quiet=True)
    statuses = Counter(n.status for n in result.nodes)
    assert set(statuses) <= {"success", "pass", "warn"}, statuses
    assert statuses["warn"] > 0

    # Facts keep their rows: every active result and direct assignment is there, parent or not.
    completion = {(u, c): (um, cm) for u, c, um, cm in wh.rows(
        "select user_id, course_id, user_missing, course_missing from litmos_marts.fct_course_completion")}
    assert {(u, c) for u, c, _ in results} <= set(completion)
    assert {(u, c) for u, c in direct} <= set(completion)
    # The flags are exactly "the parent is not in the raw table".
    assert completion == {(u, c): (u not in users, c not in courses) for u, c in completion}
    assert any(cm for _, cm in completion.values()) and any(um for um, _ in completion.values())

    lp_completion = {(u, p): (um, pm) for u, p, um, pm in wh.rows(
        "select user_id, learning_path_id, user_missing, learning_path_missing "
        "from litmos_marts.fct_learning_path_completion")}
    assert {(u, p) for u, p in lp_results} <= set(lp_completion)
    inactive_paths = {r[0] for r in wh.rows("select id from litmos_raw.learning_paths where active = false")}
    lp_direct = wh.rows("select id, learning_path_id from litmos_raw.learning_path_users where coalesce(active, true)")
    assert {(u, p) for u, p in lp_direct if p not in inactive_paths} <= set(lp_completion)
    assert lp_completion == {(u, p): (u not in users, p not in paths) for u, p in lp_completion}

    compliance = {(u, c): (um, cm) for u, c, um, cm in wh.rows(
        "select user_id, course_id, user_missing, course_missing from litmos_marts.fct_compliance")}
    assert compliance == {(u, c): (u not in users, c not in courses) for u, c in compliance}
    # A result with a CompliantTillDate is tracked unless its user or course is known to be deactivated,
    # even when the warehouse holds neither.
    tracked_by_result = {(u, c) for u, c, has_till in results
                         if has_till and u not in inactive_users and c not in inactive_courses}
    assert tracked_by_result <= set(compliance)
    assert any(cm for _, cm in compliance.values())

    parent_missing = dict(wh.rows("select team_id, parent_team_missing from litmos_marts.dim_teams"))
    raw_parents = dict(wh.rows("select id, parent_team_id from litmos_raw.teams"))
    assert parent_missing == {t: p is not None and p not in teams for t, p in raw_parents.items()}

    # Each warning is the relationships test of a flag, and counts exactly the flagged rows.
    by_name = {n.name: n for n in result.nodes}
    for name, mart, flag in WARNING_TESTS:
        flagged = wh.rows(f"select count(*) from litmos_marts.{mart} where {flag}")[0][0]
        node = by_name[name]
        assert (node.status, node.failures) == (("warn", flagged) if flagged else ("pass", 0)), name
    assert {n.name for n in result.nodes if n.status == "warn"} <= {t[0] for t in WARNING_TESTS}
    # Relationships no missing raw row can break stay errors, and pass.
    for name in ("relationships_fct_compliance_user_course_key__user_course_key__ref_fct_course_completion_",
                 "relationships_team_compliance_summary_team_id__team_id__ref_dim_teams_"):
        assert by_name[name].status == "pass", name

    # The summary counts them visibly: per active team, members whose user is missing and tracked rows
    # whose course is missing (team scope).
    memberships = wh.rows("select team_id, id from litmos_raw.team_users where coalesce(active, true)")
    members = defaultdict(set)
    for team, user in memberships:
        if teams.get(team) and user not in inactive_users:
            members[team].add(user)
    rows_by_user = defaultdict(list)
    for (u, c), (_, cm) in compliance.items():
        rows_by_user[u].append(cm)
    expected = {team: (sum(1 for u in members[team] if u not in users),
                       sum(cm for u in members[team] for cm in rows_by_user[u]),
                       len(members[team]))
                for team, active in teams.items() if active}
    team_counts = Counter(u for t, u in memberships if teams.get(t, True))  # a team not held counts
    assert {u: n for u, n in wh.rows("select user_id, active_team_count from litmos_marts.dim_users")} == \
        {u: team_counts[u] for u in users}
    summary = {t: (um, cm, n) for t, um, cm, n in wh.rows(
        "select team_id, user_missing_count, course_missing_count, member_count "
        "from litmos_marts.team_compliance_summary where scope = 'team'")}
    assert summary == expected
