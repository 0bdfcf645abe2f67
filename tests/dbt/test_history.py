"""The compliance history (fct_compliance_daily and the trend marts) over several nightly builds.

The simulated org is loaded by the real pipeline and built once per simulated day, on DuckDB and on
Postgres; after each day's build the ground truth as it was that day is captured
(tests/dbt/history_oracle.py). The marts must then hold exactly one snapshot row per (user, course, day),
past days' figures equal to that day's truth, reconstructed (back-filled) days flagged, and a same-day
rebuild must change nothing.
"""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import date, datetime, timedelta, timezone

import duckdb
import psycopg2
import pytest

from .history_oracle import STATUSES, DayTruth, day_truth
from litmos_sim import SimConfig, run_simulator
from pipelines.dbt_runner import build_marts
from pipelines.sync import sync

PG_DSN = os.environ.get("LITMOS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
START = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=6)
DAYS = 3  # builds on three consecutive simulated days
HISTORY = ("fct_compliance_daily", "compliance_trend", "course_compliance_trend", "team_compliance_trend",
           "manager_compliance_trend")
COUNTS = ("tracked_count", "completed_count") + tuple(f"{s}_count" for s in STATUSES)


class History:
    """A warehouse built on consecutive simulated days, with the truth of each day."""

    def __init__(self, destination: str, credentials: str):
        self.destination, self.credentials = destination, credentials
        self.truth: dict[date, DayTruth] = {}
        self.events: list[dict] = []
        self.results = []

    def rows(self, sql: str) -> list[tuple]:
        if self.destination == "duckdb":
            with duckdb.connect(self.credentials, read_only=True) as con:
                return con.execute(sql).fetchall()
        with psycopg2.connect(self.credentials) as con, con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    def build(self, day: date, command: str = "run"):
        result = build_marts(self.destination, self.credentials, vars={"as_of_date": day.isoformat()}, quiet=True,
                             command=command)
        self.results.append(result)
        return result

    def contents(self) -> dict[str, list[tuple]]:
        """Every row of every history table, sorted (float rates rounded: same value, same text)."""
        tables = {name: f"litmos_marts.{name}" for name in HISTORY}
        tables["int_compliance_snapshot_days"] = "litmos_intermediate.int_compliance_snapshot_days"
        return {name: sorted((tuple(round(v, 12) if isinstance(v, float) else v for v in row)
                              for row in self.rows(f"select * from {table}")), key=repr)
                for name, table in tables.items()}

    @property
    def days(self) -> list[date]:
        return sorted(self.truth)


def _new_pg_database() -> tuple[str, callable]:
    name = f"litmos_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg2.connect(PG_DSN, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_DSN} ({str(exc).strip().splitlines()[0]})", pytrace=False)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return f"{PG_DSN.rpartition('/')[0]}/{name}", drop


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def history(request, tmp_path_factory):
    """Day 1: load + first build (back-fill); days 2..DAYS: advance one day with activity, load, build;
    then the last day is built again and the tables' contents before and after are kept. Only the last
    day's build runs dbt's data tests too (`dbt build`); the others run the models (`dbt run`): the tests
    of the current-state marts are test_marts.py's, and the history tables' tests see every day's rows
    at the end (they accumulate). That saves about two minutes of CI."""
    base = tmp_path_factory.mktemp(f"history_{request.param}")
    drop = None
    if request.param == "duckdb":
        credentials = str(base / "warehouse.duckdb")
    else:
        credentials, drop = _new_pg_database()
    wh = History(request.param, credentials)
    try:
        with run_simulator(SimConfig(seed=4, scale=200, api_key="dbt-test-key", history_days=60, now=START)) as sim:
            load = dict(destination=request.param, credentials=credentials, api_key=sim.api_key,
                        base_url=sim.base_url, state_dir=str(base / "state"), requests_per_minute=0)
            for i in range(DAYS):
                if i:
                    wh.events.append(sim.advance(timedelta(days=1), activity=True))
                sync(**load)
                day = sim.now().date()
                wh.build(day, "build" if i == DAYS - 1 else "run")
                wh.truth[day] = day_truth(sim, day)  # the truth as it is on this day, before advancing
            wh.before_rebuild = wh.contents()
            wh.build(wh.days[-1])
            wh.after_rebuild = wh.contents()
        yield wh
    finally:
        if drop:
            drop()


def test_every_build_is_green_and_the_org_changed(history):
    for i, result in enumerate(history.results):
        tested = i == DAYS - 1  # the last day's `dbt build`; the other builds are `dbt run`
        assert {n.status for n in result.nodes if n.resource_type != "exposure"} == \
            ({"success", "pass"} if tested else {"success"}), result.summary()
        assert {"fct_compliance_daily", "team_compliance_trend"} <= {n.name for n in result.nodes}
        assert any(n.resource_type == "test" for n in result.nodes) == tested
    assert len(history.days) == DAYS
    assert all(sum(events.values()) > 0 for events in history.events)


def test_one_snapshot_row_per_user_course_and_day(history):
    duplicated = history.rows("select tenant, snapshot_date, user_id, course_id, count(*) "
                              "from litmos_marts.fct_compliance_daily group by 1, 2, 3, 4 having count(*) > 1")
    assert duplicated == []
    per_day = dict(history.rows("select snapshot_date, count(*) from litmos_marts.fct_compliance_daily "
                                "where not is_reconstructed group by 1"))
    assert per_day == {day: len(truth.rows) for day, truth in history.truth.items()}


def test_each_built_day_equals_the_truth_of_that_day(history):
    for day, truth in history.truth.items():
        rows = history.rows("select user_id, course_id, compliance_status, is_completed, is_reconstructed, "
                            "is_compliant + is_expired + is_overdue + is_not_completed "
                            f"from litmos_marts.fct_compliance_daily where snapshot_date = '{day}'")
        assert {(u, c): (s, done) for u, c, s, done, _, _ in rows} == truth.rows, day
        assert {(r[4], r[5]) for r in rows} == {(False, 1)}
    # Statuses change from day to day, or this proves little.
    first, last = history.truth[history.days[0]], history.truth[history.days[-1]]
    assert first.rows != last.rows
    assert {"expired", "compliant", "not_completed"} <= {s for s, _ in last.rows.values()}


def _counts(history: History, table: str, keys: str, where: str) -> dict[tuple, dict[str, int]]:
    sql = f"select {keys}, {', '.join(COUNTS)} from litmos_marts.{table} where {where}"
    width = len(keys.split(","))
    return {row[:width]: dict(zip(COUNTS, row[width:])) for row in history.rows(sql)}


def test_past_days_trend_figures_equal_the_truth_of_those_days(history):
    for day, truth in history.truth.items():
        where = f"grain = 'day' and period_start = '{day}'"
        assert _counts(history, "compliance_trend", "period_end_date", where) == {(day,): truth.org()}, day
        assert _counts(history, "course_compliance_trend", "course_id", where) == \
            {(course,): figures for course, figures in truth.by_course().items()}, day
        teams = _counts(history, "team_compliance_trend", "team_id, scope", where)
        expected = {key: {**{f"{s}_count": c[s] for s in STATUSES}, "tracked_count": sum(c.values())}
                    for key, c in truth.team_status.items()}
        assert {key: {k: v for k, v in figures.items() if k != "completed_count"}
                for key, figures in teams.items()} == expected, day
        assert sum(c["expired"] for (_, scope), c in truth.team_status.items() if scope == "team") > 0
        managers = _counts(history, "manager_compliance_trend", "manager_user_id, scope", where)
        assert managers == truth.by_manager(), day
        assert sum(figures["tracked_count"] for (_, scope), figures in managers.items() if scope == "all") > 0


def test_weeks_and_months_take_their_last_snapshot_day(history):
    rows = history.rows("select grain, period_start, period_end_date from litmos_marts.compliance_trend "
                        "where grain in ('week', 'month')")
    days = [r[0] for r in history.rows("select distinct snapshot_date from litmos_marts.fct_compliance_daily")]
    for grain, start, end in rows:
        if grain == "week":
            assert start.weekday() == 0, start
            in_period = [d for d in days if start <= d <= start + timedelta(days=6)]
        else:
            assert start.day == 1, start
            in_period = [d for d in days if (d.year, d.month) == (start.year, start.month)]
        assert end == max(in_period), (grain, start)
    # The week and the month of the last day carry that day's figures.
    last = history.days[-1]
    figures = _counts(history, "compliance_trend", "grain", f"period_end_date = '{last}'")
    assert set(figures) == {("day",), ("week",), ("month",)}
    assert figures[("week",)] == figures[("month",)] == figures[("day",)] == history.truth[last].org()


def test_backfilled_days_are_flagged_reconstructed(history):
    first = history.days[0]
    flags = history.rows("select snapshot_date < date '%s', is_reconstructed, count(*), count(distinct snapshot_date) "
                         "from litmos_marts.fct_compliance_daily group by 1, 2" % first)
    by_age = {(before, flag): (n, days) for before, flag, n, days in flags}
    assert set(by_age) == {(True, True), (False, False)}  # before the first build: all and only reconstructed
    assert by_age[(True, True)][1] >= 20  # the simulated org's history (60 days) was back-filled
    for table in HISTORY[1:]:
        assert history.rows(f"select count(*) from litmos_marts.{table} "
                            f"where is_reconstructed <> (period_end_date < date '{first}')") == [(0,)], table
    days = history.rows("select snapshot_date, row_count, is_reconstructed "
                        "from litmos_intermediate.int_compliance_snapshot_days")
    assert {d: n for d, n, _ in days} == dict(history.rows(
        "select snapshot_date, count(*) from litmos_marts.fct_compliance_daily group by 1"))
    assert all(flag == (d < first) for d, _, flag in days)
    # A reconstructed day holds only rows that existed by then: never more than the first real day.
    assert history.rows("select max(row_count) from litmos_intermediate.int_compliance_snapshot_days "
                        f"where snapshot_date < date '{first}'")[0][0] <= len(history.truth[first].rows)


def _copy(history: History, base) -> History:
    """The same warehouse in a new DuckDB file or a new Postgres database (TEMPLATE copy)."""
    if history.destination == "duckdb":
        path = str(base / "copy.duckdb")
        shutil.copyfile(history.credentials, path)
        return History("duckdb", path)
    source = history.credentials.rpartition("/")[2]
    name = f"{source}_copy"
    admin = psycopg2.connect(PG_DSN)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    admin.close()
    return History("postgres", f"{history.credentials.rpartition('/')[0]}/{name}")


def test_a_late_build_of_a_past_day_is_reconstructed_and_leaves_other_days(history, tmp_path):
    """A missed night built afterwards (as_of_date before the latest day held) sees later data: its day is
    rebuilt by the back-fill rules, flagged reconstructed; every other day stays as it was."""
    late = _copy(history, tmp_path)
    try:
        day = history.days[1]
        late.build(day)
        after = late.contents()
        for name in ("fct_compliance_daily", "int_compliance_snapshot_days"):  # (tenant, snapshot_date, ...)
            assert [r for r in after[name] if r[1] != day] == [r for r in history.after_rebuild[name] if r[1] != day]
        rows = late.rows("select is_reconstructed, count(*), max(completed_at) from litmos_marts.fct_compliance_daily "
                         f"where snapshot_date = '{day}' group by 1")
        assert [(flag, n) for flag, n, _ in rows] == [(True, rows[0][1])] and rows[0][1] > 0
        assert rows[0][2].date() <= day  # nothing completed after the day counts as completed on it
        assert late.rows("select is_reconstructed from litmos_marts.compliance_trend "
                         f"where grain = 'day' and period_start = '{day}'") == [(True,)]
    finally:
        if late.destination == "postgres":
            admin = psycopg2.connect(PG_DSN)
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{late.credentials.rpartition("/")[2]}" WITH (FORCE)')
            admin.close()


def test_same_day_rebuild_changes_nothing(history):
    assert history.after_rebuild == history.before_rebuild
    assert all(history.before_rebuild[name] for name in history.before_rebuild)
