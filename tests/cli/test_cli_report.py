"""The HTML report from hand-written marts (exact figures), rendered in headless Chromium."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from pipelines import cli
from pipelines.report import collect_report_data, render_html
from pipelines.warehouse import open_warehouse

from .cli_report_checks import assert_rendered_report, chromium_dom

# The subset of the dbt marts' columns the report reads (names as in dbt_models/models/marts).
MARTS_SQL = """
CREATE SCHEMA litmos_marts;
CREATE TABLE litmos_marts.dim_users (user_id TEXT, first_name TEXT, last_name TEXT, full_name TEXT, is_active BOOLEAN);
CREATE TABLE litmos_marts.dim_courses (course_id TEXT, course_name TEXT, compliant_till_days BIGINT);
CREATE TABLE litmos_marts.dim_teams (team_id TEXT, team_name TEXT);
CREATE TABLE litmos_marts.fct_course_completion (user_id TEXT, course_id TEXT, is_completed BOOLEAN,
    due_date DATE, is_overdue BOOLEAN, is_user_active BOOLEAN, is_course_active BOOLEAN);
CREATE TABLE litmos_marts.fct_compliance (user_id TEXT, course_id TEXT, compliance_status TEXT,
    compliant_till_date DATE, days_until_expiry INTEGER);
CREATE TABLE litmos_marts.team_compliance_summary (team_id TEXT, team_name TEXT, team_path TEXT, scope TEXT,
    compliant_count BIGINT, expiring_soon_count BIGINT, expired_count BIGINT, overdue_count BIGINT,
    not_completed_count BIGINT);
INSERT INTO litmos_marts.dim_users VALUES ('u1', 'Ada', 'Lovelace', 'Ada Lovelace', true),
    ('u2', 'Alan', 'Turing', 'Alan Turing', true), ('u3', 'Old', 'Timer', 'Old <Timer>', false);
INSERT INTO litmos_marts.dim_courses VALUES ('c1', 'Fire Safety', 365), ('c2', 'GDPR & You', 0);
INSERT INTO litmos_marts.dim_teams VALUES ('t1', 'Sales'), ('t2', 'Support');
INSERT INTO litmos_marts.fct_course_completion VALUES
    ('u1', 'c1', true, NULL, false, true, true),
    ('u2', 'c1', false, DATE '2026-02-01', true, true, true),
    ('u1', 'c2', false, DATE '2026-02-10', true, true, true),
    ('u2', 'c2', false, NULL, false, true, true),
    ('u3', 'c2', false, DATE '2026-01-01', true, false, true);
INSERT INTO litmos_marts.fct_compliance VALUES ('u1', 'c1', 'expiring_soon', DATE '2026-03-10', 9),
    ('u2', 'c1', 'overdue', NULL, NULL);
INSERT INTO litmos_marts.team_compliance_summary VALUES
    ('t1', 'Sales', 'Sales', 'team', 0, 1, 0, 1, 0),
    ('t1', 'Sales', 'Sales', 'rollup', 0, 1, 0, 1, 0),
    ('t2', 'Support', 'Sales > Support', 'team', 0, 0, 0, 1, 0),
    ('t2', 'Support', 'Sales > Support', 'rollup', 0, 0, 0, 1, 0);
"""


@pytest.fixture
def marts_db(duckdb_path):
    _load_marts("duckdb", duckdb_path)
    return duckdb_path


def _load_marts(destination: str, credentials: str) -> None:
    with open_warehouse(destination, credentials) as wh:
        for statement in filter(str.strip, MARTS_SQL.split(";")):
            wh.execute(statement)


def test_report_data_is_exact(marts_db):
    with open_warehouse("duckdb", marts_db, read_only=True) as wh:
        _check_report_data(collect_report_data(wh))


@pytest.mark.postgres
def test_report_data_is_exact_on_postgres(pg_database, tmp_path, monkeypatch, capsys):
    _load_marts("postgres", pg_database)
    with open_warehouse("postgres", pg_database) as wh:
        _check_report_data(collect_report_data(wh))
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", pg_database)
    out = tmp_path / "pg.html"
    assert cli.main(["report", "--destination", "postgres", "--output", str(out), "--quiet"]) == 0
    assert "Sales &gt; Support" in out.read_text()


def _check_report_data(data) -> None:
    assert data.course_completion == [  # inactive u3 is left out of the rates
        {"course": "Fire Safety", "assigned": 2, "completed": 1, "rate": 0.5},
        {"course": "GDPR & You", "assigned": 2, "completed": 0, "rate": 0.0},
    ]
    assert data.compliance_by_status == {"compliant": 0, "expiring_soon": 1, "expired": 0, "overdue": 1,
                                         "not_completed": 0}
    assert data.compliance_by_team == [
        {"team": "Sales", "compliant": 0, "expiring_soon": 1, "expired": 0, "overdue": 1, "not_completed": 0,
         "total": 2},
        {"team": "Sales > Support", "compliant": 0, "expiring_soon": 0, "expired": 0, "overdue": 1,
         "not_completed": 0, "total": 1},
    ]
    assert data.expiring == [{"learner": "Ada Lovelace", "course": "Fire Safety",
                              "expires": dt.date(2026, 3, 10), "days_left": 9}]
    # Each overdue assignment says how fct_compliance tracks it (None: the course has no compliance period).
    assert data.overdue == [{"learner": "Alan Turing", "course": "Fire Safety", "due": dt.date(2026, 2, 1),
                             "tracked_as": "overdue"},
                            {"learner": "Ada Lovelace", "course": "GDPR & You", "due": dt.date(2026, 2, 10),
                             "tracked_as": None}]
    assert (data.expiring_total, data.overdue_total) == (1, 2)
    assert data.overdue_learners == 2
    assert data.overdue_breakdown == {"tracked_overdue": 1, "tracked_other": 0, "untracked": 1}
    assert data.totals == {"dim_users": 3, "dim_courses": 2, "dim_teams": 2, "fct_course_completion": 5,
                           "fct_compliance": 2}


def test_report_command_writes_self_contained_html(marts_db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", marts_db)
    out = tmp_path / "r" / "report.html"
    assert cli.main(["report", "--output", str(out), "--quiet"]) == 0
    page = out.read_text()
    assert capsys.readouterr() == ("", "")
    assert "GDPR &amp; You" in page and "<script" not in page
    assert not re.search(r"(src|href)=\"https?://", page)  # nothing fetched from the network


def test_report_default_output_and_directory_output_say_where_the_file_went(marts_db, tmp_path, monkeypatch,
                                                                           capsys):
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", marts_db)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert cli.main(["report"]) == 0  # documented default: ./report.html
    assert capsys.readouterr().err.endswith(f" INFO report written to {work / 'report.html'}\n")
    assert sorted(p.name for p in work.iterdir()) == ["report.html"]
    (tmp_path / "reports").mkdir()
    assert cli.main(["report", "--output", "../reports"]) == 0  # a directory: report.html inside it
    assert capsys.readouterr().err.endswith(f" INFO report written to {tmp_path / 'reports' / 'report.html'}\n")
    assert (tmp_path / "reports" / "report.html").is_file()


def test_report_without_marts_says_what_to_do(duckdb_path, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", duckdb_path)
    assert cli.main(["report", "--output", str(tmp_path / "x.html")]) == 2
    assert capsys.readouterr().err == (
        f"litmos-sync: error: DuckDB file '{duckdb_path}' does not exist; run `litmos-sync run` first or set "
        "DESTINATION__DUCKDB__CREDENTIALS to the file you loaded\n")
    with open_warehouse("duckdb", duckdb_path):
        pass  # now it exists, but has no marts
    assert cli.main(["report", "--output", str(tmp_path / "x.html")]) == 2
    assert capsys.readouterr().err == (
        "litmos-sync: error: the marts fct_course_completion, fct_compliance, dim_users, dim_courses are missing "
        "in schema litmos_marts; run `litmos-sync run` without --no-dbt first (or check --destination and its "
        "credentials)\n")


@pytest.mark.browser
def test_report_renders_in_headless_chromium(marts_db, tmp_path):
    with open_warehouse("duckdb", marts_db, read_only=True) as wh:
        page = render_html(collect_report_data(wh))
    path = tmp_path / "report.html"
    path.write_text(page)
    dom = chromium_dom(path)
    assert_rendered_report(dom)
    assert re.findall(r'data-course="([^"]+)" data-rate="([^"]+)"', dom) == [
        ("Fire Safety", "0.5000"), ("GDPR &amp; You", "0.0000")]
    assert re.findall(r'<g class="bar" data-team="([^"]+)"', dom) == ["Sales", "Sales &gt; Support"]
    expiring = dom.split('<table id="table-expiring">')[1].split("</table>")[0]
    assert "<td>Ada Lovelace</td><td>Fire Safety</td><td>2026-03-10</td><td>9</td>" in expiring
    overdue = dom.split('<table id="table-overdue">')[1].split("</table>")[0]
    assert overdue.count("<tr>") == 3 and "<td>Alan Turing</td><td>Fire Safety</td><td>2026-02-01</td>" in overdue
    assert 'data-status="overdue" style="border-color:#6a1b9a"><b>1</b>' in dom
