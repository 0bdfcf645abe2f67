"""The report's analyst sections rendered in headless Chromium, read back from the DOM, compared with the marts.

- `test_demo_report_numbers_equal_the_marts`: `litmos-sync demo` (simulator -> DuckDB -> dbt, the real marts
  incl. the history and manager marts); every figure the page shows (as-of date, tiles, overdue reconciliation,
  trend points per month, team trend cells, team rows, manager rows) equals a query on the marts.
- `test_contract_marts_render_exactly` (DuckDB and Postgres): hand-written marts with the issue-16 contract
  columns, two tenants, exact expected figures.
- `test_old_warehouse_degrades_to_notes`: marts without the trend / manager marts: one note each, no crash.
"""
from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipelines import cli
from pipelines.report import collect_report_data, render_html
from pipelines.warehouse import open_warehouse

from .cli_report_checks import chromium_dom
from .test_cli_report import MARTS_SQL

STATUSES = ("compliant", "expiring_soon", "expired", "overdue", "not_completed")
VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "wbr", "source"}


class _Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: "_Node | None") -> None:
        self.tag, self.attrs, self.parent, self.children, self.parts = tag, attrs, parent, [], []

    @property
    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list["_Node"]:
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and (cls is None or cls in n.attrs.get("class", "").split())
                and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def one(self, tag: str | None = None, **attrs: str) -> "_Node":
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, len(found))
        return found[0]


class _DomParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.cur = _Node("#root", {}, None)

    def handle_starttag(self, tag, attrs):
        node = _Node(tag, {k: v or "" for k, v in attrs}, self.cur)
        self.cur.children.append(node)
        self.cur.parts.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        node = _Node(tag, {k: v or "" for k, v in attrs}, self.cur)
        self.cur.children.append(node)
        self.cur.parts.append(node)

    def handle_endtag(self, tag):
        node = self.cur
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.cur = node.parent

    def handle_data(self, data):
        self.cur.parts.append(data)


def rendered(path: Path) -> _Node:
    """The page as headless Chromium rendered it (its DOM), parsed."""
    parser = _DomParser()
    parser.feed(chromium_dom(path))
    return parser.root


def _rate(value) -> str:
    return "" if value is None else f"{float(value):.4f}"


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)[:10]


# ------------------------------------------------------------------------------------------------ the demo

@pytest.mark.slow
@pytest.mark.browser
def test_demo_report_numbers_equal_the_marts(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOURCES__LITMOS__API_KEY", raising=False)
    out_dir = tmp_path / "demo"
    assert cli.main(["demo", "--output", str(out_dir), "--scale", "200", "--history-days", "75", "--quiet"]) == 0, \
        capsys.readouterr().err
    dom = rendered(out_dir / "report.html")
    with open_warehouse("duckdb", str(out_dir / "litmos_demo.duckdb"), read_only=True) as wh:
        q = wh.query
        as_of = [_iso(r["d"]) for r in q("SELECT DISTINCT as_of_date AS d FROM litmos_marts.fct_compliance")]
        status = {r["s"]: int(r["n"]) for r in q(
            "SELECT compliance_status AS s, count(*) AS n FROM litmos_marts.fct_compliance GROUP BY 1")}
        overdue = q("""
            SELECT count(*) AS total, count(DISTINCT f.user_id) AS learners,
                   count(k.user_id) FILTER (WHERE k.compliance_status = 'overdue') AS tracked_overdue,
                   count(k.user_id) FILTER (WHERE k.compliance_status <> 'overdue') AS tracked_other,
                   count(*) FILTER (WHERE k.user_id IS NULL) AS untracked
            FROM litmos_marts.fct_course_completion f
            LEFT JOIN litmos_marts.fct_compliance k USING (tenant, user_id, course_id)
            WHERE f.is_overdue AND coalesce(f.is_user_active, true) AND coalesce(f.is_course_active, true)""")[0]
        trend = q("SELECT * FROM litmos_marts.compliance_trend WHERE grain = 'month' ORDER BY period_start")
        team_trend = q("SELECT * FROM litmos_marts.team_compliance_trend WHERE grain = 'month'")
        teams = q("SELECT team_path, scope, tracked_count, overdue_count, compliance_rate "
                  "FROM litmos_marts.team_compliance_summary")
        managers = q("SELECT * FROM litmos_marts.manager_compliance_summary")
        months = [r["p"] for r in q("SELECT DISTINCT period_start AS p FROM litmos_marts.manager_compliance_trend "
                                    "WHERE grain = 'month' ORDER BY 1")]
        before = q("SELECT * FROM litmos_marts.manager_compliance_trend WHERE grain = 'month' AND period_start = ?",
                   [months[-2]])

    # As-of date: the marts' own, shown in words and in the attribute.
    assert len(as_of) == 1
    head = dom.one("p", id="as-of")
    assert head.attrs["data-as-of"] == as_of[0] and f"Figures as of {as_of[0]}" in " ".join(head.text.split())
    assert {n.attrs["data-term"] for n in dom.one("dl", id="definitions").find_all("div")} >= {
        "compliant", "expiring soon", "expired", "overdue", "not completed", "compliance rate", "completion rate"}

    # Tiles: one per status with the mart's count, and the labelled total.
    tiles = {t.attrs["data-status"]: int(t.find_all("b")[0].text.replace(",", "")) for t in dom.find_all(cls="tile")}
    assert tiles == {**{s: status.get(s, 0) for s in STATUSES}, "total": sum(status.values())}

    # Overdue: the list's count, its learners, and how it splits against the tile (the tile is one part of it).
    rec = dom.one("p", id="overdue-reconcile").attrs
    assert {k: int(rec[f"data-{k.replace('_', '-')}"]) for k in overdue} == {k: int(v) for k, v in overdue.items()}
    assert int(rec["data-tracked-overdue"]) == tiles["overdue"]
    assert int(overdue["total"]) == tiles["overdue"] + int(overdue["tracked_other"]) + int(overdue["untracked"])
    assert int(overdue["untracked"]) > 0  # the demo has overdue assignments on courses without a compliance period
    section = dom.one("section", id="overdue-learners")
    assert f"Overdue assignments ({int(overdue['total']):,} assignments, {int(overdue['learners']):,} learners)" \
        == section.find_all("h2")[0].text
    listed = section.one("table", id="table-overdue").find_all("tbody")[0].find_all("tr")
    assert len(listed) == min(200, int(overdue["total"]))
    marks = [r.find_all("td")[-1].text for r in listed]  # each row says whether the tile counts it
    assert set(marks) <= {"yes: overdue (in the tile)", "no (course has no compliance period)", "yes: expired",
                          "yes: expiring soon", "yes: compliant", "yes: not completed"}
    if len(listed) == int(overdue["total"]):  # the whole list is shown
        assert marks.count("yes: overdue (in the tile)") == tiles["overdue"]
        assert marks.count("no (course has no compliance period)") == int(overdue["untracked"])

    # Trend by month: one point per month of the mart (last 12), same figures; the last month is today's tiles.
    points = {p.attrs["data-period"]: p.attrs for p in dom.find_all("g", cls="trend-point")}
    assert len(trend) >= 3 and len(points) == len(trend[-12:])
    for r in trend[-12:]:
        p = points[_iso(r["period_start"])[:7]]
        assert (p["data-period-end"], int(p["data-tracked"]), int(p["data-compliant"]), int(p["data-overdue"]),
                p["data-rate"], p["data-reconstructed"]) == (
            _iso(r["period_end_date"]), r["tracked_count"], r["compliant_count"], r["overdue_count"],
            _rate(r["compliance_rate"]), str(bool(r["is_reconstructed"])).lower())
    last = points[_iso(trend[-1]["period_start"])[:7]]
    assert (last["data-period-end"], int(last["data-tracked"]), int(last["data-overdue"])) == (
        as_of[0], tiles["total"], tiles["overdue"])
    assert {p["data-reconstructed"] for p in points.values()} == {"true", "false"}  # back-filled months, then today

    # Team trend: every (team, scope, month) cell equals the mart.
    cells = {(tr.attrs["data-team-id"], tr.attrs["data-scope"], td.attrs["data-period"]):
             (int(td.attrs["data-tracked"]), int(td.attrs["data-overdue"]), td.attrs["data-rate"])
             for tr in dom.find_all("tr", cls="team-trend") for td in tr.find_all("td") if "data-period" in td.attrs}
    assert cells == {(r["team_id"], r["scope"], _iso(r["period_start"])[:7]):
                     (r["tracked_count"], r["overdue_count"], _rate(r["compliance_rate"])) for r in team_trend}
    assert {s for _, s, _ in cells} == {"team", "rollup"}
    labels = {tr.attrs["data-scope"]: tr.find_all("td", cls="scope")[0].text for tr in dom.find_all("tr", cls="team-trend")}
    assert labels == {"team": "own members", "rollup": "incl. sub-teams"}

    # Team table (both scopes) and the chart's bars (own members) equal team_compliance_summary.
    rows = {(tr.attrs["data-team"], tr.attrs["data-scope"]): (int(tr.attrs["data-tracked"]),
            int(tr.attrs["data-overdue"]), tr.attrs["data-rate"]) for tr in dom.find_all("tr", cls="team-row")}
    assert rows == {(r["team_path"], r["scope"]): (r["tracked_count"], r["overdue_count"], _rate(r["compliance_rate"]))
                    for r in teams}
    bars = {g.attrs["data-team"]: int(g.attrs["data-tracked"]) for g in dom.find_all("g", cls="bar")
            if "data-team" in g.attrs}
    assert bars == {r["team_path"]: r["tracked_count"] for r in teams if r["scope"] == "team" and r["tracked_count"]}
    assert any(" > " in t for t in bars)  # nested teams exist; their labels show the team, the path is the tooltip
    for g in dom.find_all("g", cls="bar"):
        if " > " in g.attrs.get("data-team", ""):
            label = g.find_all("text")[0]
            title = label.find_all("title")[0].text
            assert title == g.attrs["data-team"]  # the full path as the tooltip
            assert label.text[len(title):] == "↳ " + g.attrs["data-team"].split(" > ")[-1]

    # Managers: one row per (manager, scope) with the mart's figures, two per manager.
    shown = {(tr.attrs["data-manager-id"], tr.attrs["data-scope"]): (
        int(tr.attrs["data-tracked"]), int(tr.attrs["data-overdue"]), int(tr.attrs["data-compliant"]),
        int(tr.attrs["data-people"]), tr.attrs["data-rate"]) for tr in dom.find_all("tr", cls="manager-row")}
    expected = {(r["manager_user_id"], r["scope"]): (r["tracked_count"], r["overdue_count"], r["compliant_count"],
                r["report_count"], _rate(r["compliance_rate"])) for r in managers}
    assert len(managers) > 10 and shown == expected
    # Who slipped: each row's rate at the end of the previous month, from manager_compliance_trend.
    prev = {(tr.attrs["data-manager-id"], tr.attrs["data-scope"]): (td.attrs["data-prev-end"], td.attrs["data-prev-rate"])
            for tr in dom.find_all("tr", cls="manager-row") for td in tr.find_all("td") if "data-prev-rate" in td.attrs}
    assert prev == {(r["manager_user_id"], r["scope"]): (_iso(r["period_end_date"]), _rate(r["compliance_rate"]))
                    for r in before}
    assert any(n.text.startswith("-") for n in dom.find_all("span", cls="down"))
    # The 15 managers with most overdue below them are open; the others behind "The other N managers".
    first = {tr.attrs["data-manager-id"] for tr in dom.one("table", id="table-managers").find_all("tr", cls="manager-row")}
    rest = {tr.attrs["data-manager-id"] for tr in dom.one("table", id="table-managers-more").find_all("tr")
            if "data-manager-id" in tr.attrs}
    n_managers = len({r["manager_user_id"] for r in managers})
    assert (len(first), len(rest), first & rest) == (15, n_managers - 15, set())
    worst = max(r["overdue_count"] for r in managers if r["scope"] == "all" and r["manager_user_id"] in rest)
    assert all(r["overdue_count"] >= worst for r in managers if r["scope"] == "all" and r["manager_user_id"] in first)
    assert dom.one("section", id="managers").find_all("summary")[0].text == f"The other {n_managers - 15:,} managers"
    h2 = dom.one("section", id="managers").find_all("h2")[0].text
    assert h2 == f"Compliance by manager ({len({r['manager_user_id'] for r in managers}):,} managers)"
    assert not dom.find_all(cls="missing-mart")


# ------------------------------------------------------------------------------ hand-written contract marts

CONTRACT_SQL = """
CREATE SCHEMA litmos_marts;
CREATE TABLE litmos_marts.dim_users (tenant TEXT, user_id TEXT, full_name TEXT, is_active BOOLEAN);
CREATE TABLE litmos_marts.dim_courses (tenant TEXT, course_id TEXT, course_name TEXT, compliant_till_days BIGINT);
CREATE TABLE litmos_marts.dim_teams (tenant TEXT, team_id TEXT, team_name TEXT, team_path TEXT);
CREATE TABLE litmos_marts.fct_course_completion (tenant TEXT, user_id TEXT, course_id TEXT, is_completed BOOLEAN,
    due_date DATE, is_overdue BOOLEAN, is_user_active BOOLEAN, is_course_active BOOLEAN);
CREATE TABLE litmos_marts.fct_compliance (tenant TEXT, user_id TEXT, course_id TEXT, compliance_status TEXT,
    compliant_till_date DATE, days_until_expiry INTEGER, as_of_date DATE, expiring_soon_days INTEGER);
CREATE TABLE litmos_marts.team_compliance_summary (tenant TEXT, team_id TEXT, team_name TEXT, team_path TEXT,
    scope TEXT, compliant_count BIGINT, expiring_soon_count BIGINT, expired_count BIGINT, overdue_count BIGINT,
    not_completed_count BIGINT);
CREATE TABLE litmos_marts.compliance_trend (tenant TEXT, grain TEXT, period_start DATE, period_end_date DATE,
    tracked_count BIGINT, compliant_count BIGINT, expiring_soon_count BIGINT, expired_count BIGINT,
    overdue_count BIGINT, not_completed_count BIGINT, completed_count BIGINT, compliance_rate DOUBLE PRECISION,
    completion_rate DOUBLE PRECISION, is_reconstructed BOOLEAN);
CREATE TABLE litmos_marts.team_compliance_trend (tenant TEXT, grain TEXT, period_start DATE, period_end_date DATE,
    team_id TEXT, scope TEXT, tracked_count BIGINT, compliant_count BIGINT, expiring_soon_count BIGINT,
    expired_count BIGINT, overdue_count BIGINT, not_completed_count BIGINT, completed_count BIGINT,
    compliance_rate DOUBLE PRECISION, completion_rate DOUBLE PRECISION, is_reconstructed BOOLEAN);
CREATE TABLE litmos_marts.dim_managers (tenant TEXT, manager_user_id TEXT, manager_name TEXT, user_name TEXT,
    email TEXT, is_active BOOLEAN, direct_report_count BIGINT, total_report_count BIGINT);
CREATE TABLE litmos_marts.manager_compliance_summary (tenant TEXT, manager_user_id TEXT, scope TEXT,
    tracked_count BIGINT, compliant_count BIGINT, expiring_soon_count BIGINT, expired_count BIGINT,
    overdue_count BIGINT, not_completed_count BIGINT, completed_count BIGINT, compliance_rate DOUBLE PRECISION,
    completion_rate DOUBLE PRECISION);
INSERT INTO litmos_marts.dim_users VALUES ('acme', 'a1', 'Ann Able', true), ('acme', 'a2', 'Bob Best', true),
    ('beta', 'b1', 'Bea Bold', true);
INSERT INTO litmos_marts.dim_courses VALUES ('acme', 'c1', 'Safety', 365), ('acme', 'c2', 'Ethics', 0),
    ('beta', 'k1', 'Safety', 365);
INSERT INTO litmos_marts.dim_teams VALUES ('acme', 't1', 'Ops', 'Ops'),
    ('acme', 't2', 'Very Long Regional Sub-Team Name For Northern Europe',
     'Ops > Very Long Regional Sub-Team Name For Northern Europe'), ('beta', 's1', 'Sales', 'Sales');
INSERT INTO litmos_marts.fct_course_completion VALUES
    ('acme', 'a1', 'c1', true, NULL, false, true, true),
    ('acme', 'a2', 'c1', false, DATE '2026-05-01', true, true, true),
    ('acme', 'a2', 'c2', false, DATE '2026-05-02', true, true, true),
    ('acme', 'a3', 'c1', false, DATE '2026-04-01', true, NULL, true),
    ('beta', 'b1', 'k1', false, DATE '2026-05-20', true, true, true);
INSERT INTO litmos_marts.fct_compliance VALUES
    ('acme', 'a1', 'c1', 'compliant', DATE '2027-01-01', 214, DATE '2026-06-01', 30),
    ('acme', 'a2', 'c1', 'overdue', NULL, NULL, DATE '2026-06-01', 30),
    ('acme', 'a3', 'c1', 'expired', DATE '2026-05-15', -17, DATE '2026-06-01', 30),
    ('beta', 'b1', 'k1', 'overdue', NULL, NULL, DATE '2026-06-01', 30);
INSERT INTO litmos_marts.team_compliance_summary VALUES
    ('acme', 't1', 'Ops', 'Ops', 'team', 1, 0, 0, 0, 0),
    ('acme', 't1', 'Ops', 'Ops', 'rollup', 1, 0, 1, 1, 0),
    ('acme', 't2', 'Very Long Regional Sub-Team Name For Northern Europe',
     'Ops > Very Long Regional Sub-Team Name For Northern Europe', 'team', 0, 0, 1, 1, 0),
    ('acme', 't2', 'Very Long Regional Sub-Team Name For Northern Europe',
     'Ops > Very Long Regional Sub-Team Name For Northern Europe', 'rollup', 0, 0, 1, 1, 0),
    ('beta', 's1', 'Sales', 'Sales', 'team', 0, 0, 0, 1, 0),
    ('beta', 's1', 'Sales', 'Sales', 'rollup', 0, 0, 0, 1, 0);
INSERT INTO litmos_marts.compliance_trend VALUES
    ('acme', 'month', DATE '2026-04-01', DATE '2026-04-30', 2, 0, 0, 0, 1, 1, 0, 0.0, 0.0, true),
    ('acme', 'month', DATE '2026-05-01', DATE '2026-05-31', 3, 1, 0, 0, 1, 1, 1, 0.3333333333, 0.3333333333, true),
    ('acme', 'month', DATE '2026-06-01', DATE '2026-06-01', 3, 1, 0, 1, 1, 0, 1, 0.3333333333, 0.3333333333, false),
    ('acme', 'day', DATE '2026-06-01', DATE '2026-06-01', 3, 1, 0, 1, 1, 0, 1, 0.3333333333, 0.3333333333, false),
    ('beta', 'month', DATE '2026-05-01', DATE '2026-05-31', 0, 0, 0, 0, 0, 0, 0, NULL, NULL, true),
    ('beta', 'month', DATE '2026-06-01', DATE '2026-06-01', 1, 0, 0, 0, 1, 0, 0, 0.0, 0.0, false);
INSERT INTO litmos_marts.team_compliance_trend VALUES
    ('acme', 'month', DATE '2026-05-01', DATE '2026-05-31', 't1', 'team', 1, 1, 0, 0, 0, 0, 1, 1.0, 1.0, true),
    ('acme', 'month', DATE '2026-05-01', DATE '2026-05-31', 't1', 'rollup', 2, 1, 0, 0, 1, 0, 1, 0.5, 0.5, true),
    ('acme', 'month', DATE '2026-06-01', DATE '2026-06-01', 't1', 'team', 1, 1, 0, 0, 0, 0, 1, 1.0, 1.0, false),
    ('acme', 'month', DATE '2026-06-01', DATE '2026-06-01', 't1', 'rollup', 3, 1, 0, 1, 1, 0, 1, 0.3333333333, 0.3333333333, false),
    ('acme', 'week', DATE '2026-06-01', DATE '2026-06-01', 't1', 'team', 1, 1, 0, 0, 0, 0, 1, 1.0, 1.0, false),
    ('beta', 'month', DATE '2026-06-01', DATE '2026-06-01', 's1', 'team', 1, 0, 0, 0, 1, 0, 0, 0.0, 0.0, false);
INSERT INTO litmos_marts.dim_managers VALUES ('acme', 'a1', 'Ann Able', 'ann', 'ann@example.com', true, 1, 2);
INSERT INTO litmos_marts.manager_compliance_summary VALUES
    ('acme', 'a1', 'direct', 1, 0, 0, 0, 1, 0, 0, 0.0, 0.0),
    ('acme', 'a1', 'all', 2, 0, 0, 1, 1, 0, 0, 0.0, 0.0);
"""


MANAGER_TREND_SQL = """
CREATE TABLE litmos_marts.manager_compliance_trend (tenant TEXT, grain TEXT, period_start DATE, period_end_date DATE,
    manager_user_id TEXT, scope TEXT, tracked_count BIGINT, compliant_count BIGINT, expiring_soon_count BIGINT,
    expired_count BIGINT, overdue_count BIGINT, not_completed_count BIGINT, completed_count BIGINT,
    compliance_rate DOUBLE PRECISION, completion_rate DOUBLE PRECISION, is_reconstructed BOOLEAN);
INSERT INTO litmos_marts.manager_compliance_trend VALUES
    ('acme', 'month', DATE '2026-04-01', DATE '2026-04-30', 'a1', 'direct', 1, 1, 0, 0, 0, 0, 1, 1.0, 1.0, true),
    ('acme', 'month', DATE '2026-05-01', DATE '2026-05-31', 'a1', 'direct', 1, 1, 0, 0, 0, 0, 1, 1.0, 1.0, true),
    ('acme', 'month', DATE '2026-05-01', DATE '2026-05-31', 'a1', 'all', 2, 1, 0, 0, 1, 0, 1, 0.5, 0.5, true),
    ('acme', 'week', DATE '2026-05-25', DATE '2026-05-31', 'a1', 'all', 2, 0, 0, 0, 1, 0, 1, 0.0, 0.0, true),
    ('acme', 'month', DATE '2026-06-01', DATE '2026-06-01', 'a1', 'direct', 1, 0, 0, 0, 1, 0, 0, 0.0, 0.0, false),
    ('acme', 'month', DATE '2026-06-01', DATE '2026-06-01', 'a1', 'all', 2, 0, 0, 1, 1, 0, 0, 0.0, 0.0, false);
"""


def _load(destination: str, credentials: str, sql: str) -> None:
    with open_warehouse(destination, credentials) as wh:
        for statement in filter(str.strip, sql.split(";")):
            wh.execute(statement)


def _page(destination: str, credentials: str, tenant: str | None = None) -> str:
    with open_warehouse(destination, credentials, read_only=destination == "duckdb") as wh:
        return render_html(collect_report_data(wh, tenant=tenant))


def _render(destination: str, credentials: str, tmp_path: Path, tenant: str | None = None) -> _Node:
    path = tmp_path / f"report-{tenant or 'all'}.html"
    path.write_text(_page(destination, credentials, tenant), encoding="utf-8")
    return rendered(path)


def _contract(destination: str, credentials: str, tmp_path: Path) -> None:
    _load(destination, credentials, CONTRACT_SQL)
    assert "data-prev-rate" not in _page(destination, credentials)  # without manager_compliance_trend: no column
    _load(destination, credentials, MANAGER_TREND_SQL)
    _check_contract_dom(_render(destination, credentials, tmp_path), _render(destination, credentials, tmp_path, "acme"),
                        _page(destination, credentials))


def _check_contract_dom(dom: _Node, dom_acme: _Node, dom_html: str) -> None:
    assert dom.one("p", id="as-of").attrs["data-as-of"] == "2026-06-01"
    tiles = {t.attrs["data-status"]: t.find_all("b")[0].text for t in dom.find_all(cls="tile")}
    assert tiles == {"compliant": "1", "expiring_soon": "0", "expired": "1", "overdue": "2", "not_completed": "0",
                     "total": "4"}
    # 4 overdue assignments of 3 learners: 2 are the tile's overdue, 1 is tracked as expired (it had a
    # compliant-till date), 1 is on a course without a compliance period. a3 (user not in the warehouse)
    # counts, as fct_compliance counts it.
    rec = dom.one("p", id="overdue-reconcile")
    assert {k: rec.attrs[k] for k in ("data-total", "data-learners", "data-tracked-overdue", "data-tracked-other",
                                      "data-untracked")} == {"data-total": "4", "data-learners": "3",
                                                             "data-tracked-overdue": "2", "data-tracked-other": "1",
                                                             "data-untracked": "1"}
    assert "1 are compliance-tracked but have a compliant-till date, so the tiles count them as expired" in rec.text
    points = {(p.attrs["data-tenant"], p.attrs["data-period"]): (p.attrs["data-tracked"], p.attrs["data-rate"],
              p.attrs["data-reconstructed"], len(p.find_all("circle"))) for p in dom.find_all("g", cls="trend-point")}
    assert points == {("acme", "2026-04"): ("2", "0.0000", "true", 1), ("acme", "2026-05"): ("3", "0.3333", "true", 1),
                      ("acme", "2026-06"): ("3", "0.3333", "false", 1), ("beta", "2026-05"): ("0", "", "true", 0),
                      ("beta", "2026-06"): ("1", "0.0000", "false", 1)}
    cells = {(tr.attrs["data-team-id"], tr.attrs["data-scope"], td.attrs["data-period"]): td.attrs["data-rate"]
             for tr in dom.find_all("tr", cls="team-trend") for td in tr.find_all("td") if "data-period" in td.attrs}
    assert cells == {("t1", "team", "2026-05"): "1.0000", ("t1", "rollup", "2026-05"): "0.5000",
                     ("t1", "team", "2026-06"): "1.0000", ("t1", "rollup", "2026-06"): "0.3333",
                     ("s1", "team", "2026-06"): "0.0000"}
    managers = [(tr.attrs["data-manager-id"], tr.attrs["data-scope"], tr.attrs["data-people"], tr.attrs["data-tracked"],
                 tr.attrs["data-overdue"]) for tr in dom.find_all("tr", cls="manager-row")]
    assert managers == [("a1", "direct", "1", "1", "1"), ("a1", "all", "2", "2", "1")]
    # The change since the previous month (manager_compliance_trend: May, the month before the latest, June).
    change = {tr.attrs["data-scope"]: (td.attrs["data-prev-end"], td.attrs["data-prev-rate"], td.text)
              for tr in dom.find_all("tr", cls="manager-row") for td in tr.find_all("td") if "data-prev-rate" in td.attrs}
    assert change == {"direct": ("2026-05-31", "1.0000", "-100.0 pts"), "all": ("2026-05-31", "0.5000", "-50.0 pts")}
    assert "<th>Change since 2026-05-31</th>" in dom_html
    long_path = "Ops > Very Long Regional Sub-Team Name For Northern Europe"
    bar = dom.one("g", cls="bar", data_team=f"acme · {long_path}")
    label = bar.find_all("text")[0]
    title = label.find_all("title")[0].text
    assert title == f"acme · {long_path}" and label.text[len(title):].startswith("↳ acme · Very Long")
    assert len(label.text[len(title):]) <= 44 and label.text.endswith("…")  # clipped, the tooltip has it whole
    rows = {(tr.attrs["data-team"], tr.attrs["data-scope"]): (tr.find_all("td", cls="scope")[0].text,
            tr.attrs["data-tracked"]) for tr in dom.find_all("tr", cls="team-row")}
    assert rows == {("Ops", "team"): ("own members", "1"), ("Ops", "rollup"): ("incl. sub-teams", "3"),
                    (long_path, "team"): ("own members", "2"), (long_path, "rollup"): ("incl. sub-teams", "2"),
                    ("Sales", "team"): ("own members", "1"), ("Sales", "rollup"): ("incl. sub-teams", "1")}
    cell = dom.find_all("tr", cls="team-row", data_team=long_path)[0].find_all("td", cls="team")[0]
    assert cell.find_all("span", cls="path")[0].attrs["title"] == long_path  # the full path, wrapping
    # One tenant: only its figures, unlabelled.
    assert {p.attrs["data-period"] for p in dom_acme.find_all("g", cls="trend-point")} == {"2026-04", "2026-05", "2026-06"}
    assert dom_acme.one("p", id="overdue-reconcile").attrs["data-total"] == "3"
    assert not dom_acme.find_all(cls="missing-mart")


@pytest.mark.browser
def test_contract_marts_render_exactly(duckdb_path, tmp_path):
    _contract("duckdb", duckdb_path, tmp_path)


@pytest.mark.postgres
@pytest.mark.browser
def test_contract_marts_render_exactly_on_postgres(pg_database, tmp_path):
    _contract("postgres", pg_database, tmp_path)


@pytest.mark.browser
def test_old_warehouse_degrades_to_notes(duckdb_path, tmp_path):
    _load("duckdb", duckdb_path, MARTS_SQL)  # the marts before issue 16: no trend, no managers, no as_of_date
    dom = _render("duckdb", duckdb_path, tmp_path)
    notes = {n.attrs["data-missing"]: " ".join(n.text.split()) for n in dom.find_all("p", cls="missing-mart")}
    assert set(notes) == {"compliance_trend", "team_compliance_trend", "manager_compliance_summary,dim_managers"}
    assert notes["compliance_trend"].startswith("No compliance trend: this warehouse has no litmos_marts.compliance_trend")
    assert dom.one("p", id="as-of").attrs["data-as-of"] == ""
    assert " ".join(dom.one("p", id="as-of").text.split()).startswith("As-of date: not recorded in these marts")
    assert dom.one("section", id="managers").find_all("h2")[0].text == "Compliance by manager"
    assert not dom.find_all("g", cls="trend-point") and not dom.find_all("tr", cls="manager-row")
