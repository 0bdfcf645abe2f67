"""The HTML report: as-of date and definitions, compliance by status and its trend, completion by course,
compliance by team, managers, expiring soon, overdue assignments, last loads.

`collect_report_data` reads the dbt marts of one tenant or all of them; `render_html` turns them into ONE
self-contained HTML file (inline CSS and SVG, no scripts, no network). With several tenants every chart,
table and row names its tenant. The sections over optional marts are in `pipelines.report_sections`.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any, Sequence

from pipelines import run_history
from pipelines.destination import display
from pipelines.config import ConfigError, marts_schema, tenant_dataset
from pipelines import report_sections as sections
from pipelines.report_sections import STATUSES, e as _e, fmt_date as _fmt_date, pct
from pipelines.report_charts import status_tiles, svg_completion_chart, svg_team_chart
from pipelines.report_template import REPORT_TEMPLATE
from pipelines.warehouse import Warehouse, open_warehouse, quote_ident, quote_literal

MAX_TABLE_ROWS = 200


@dataclass
class ReportData:
    """Everything the report shows, already aggregated. `tenant`: the filter (None = all); `tenants`: those
    shown; when several (`labelled`), the rows of the lists and `runs` carry a "tenant" key."""

    generated_at: dt.datetime
    source: str
    totals: dict[str, int] = field(default_factory=dict)
    course_completion: list[dict[str, Any]] = field(default_factory=list)
    compliance_by_status: dict[str, int] = field(default_factory=dict)
    compliance_by_team: list[dict[str, Any]] = field(default_factory=list)
    expiring: list[dict[str, Any]] = field(default_factory=list)
    expiring_total: int = 0
    overdue: list[dict[str, Any]] = field(default_factory=list)
    overdue_total: int = 0
    overdue_learners: int = 0
    overdue_breakdown: dict[str, int] = field(default_factory=dict)
    as_of_dates: list[str] = field(default_factory=list)
    expiring_soon_days: int | None = None
    team_rows: list[dict[str, Any]] = field(default_factory=list)
    trend: list[dict[str, Any]] | None = None
    team_trend: list[dict[str, Any]] | None = None
    managers: list[dict[str, Any]] | None = None
    schema: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)
    tenant: str | None = None
    tenants: list[str] = field(default_factory=list)

    @property
    def labelled(self) -> bool:
        return len(self.tenants) > 1


NEEDED = ("fct_course_completion", "fct_compliance", "dim_users", "dim_courses")
# Deactivated users and retired courses are history, not work to chase: left out of rates and lists. A user
# or course the warehouse does not hold (NULL) is not a deactivation: kept, as fct_compliance keeps it.
_ACTIVE = "coalesce(f.is_user_active, true) AND coalesce(f.is_course_active, true)"


@dataclass(frozen=True)
class _Marts:
    """The marts' schema, whether they have the tenant column (marts built before tenants do not), the
    tenant filter and whether rows are labelled."""

    wh: Warehouse
    schema: str
    tenant_column: bool
    tenant: str | None
    labelled: bool

    def t(self, table: str) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(table)}"

    def join(self, alias: str, other: str) -> str:
        return f" AND {alias}.tenant = {other}.tenant" if self.tenant_column else ""

    def where(self, alias: str = "f") -> str:
        return f" AND {alias}.tenant = {quote_literal(self.tenant)}" if self.tenant is not None else ""

    def label(self, alias: str = "f") -> str:
        return f"{alias}.tenant AS tenant, " if self.labelled else ""

    def tracked(self) -> str:
        """Joins each assignment `f` to its fct_compliance row `k` (none: not compliance-tracked)."""
        return (f" LEFT JOIN {self.t('fct_compliance')} k ON k.user_id = f.user_id AND k.course_id = f.course_id"
                f"{self.join('k', 'f')}")


def _count(wh: Warehouse, sql_from: str) -> int:
    return int(wh.query(f"SELECT count(*) AS n {sql_from}")[0]["n"])


def _sum_if(condition: str, name: str) -> str:
    return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END) AS {name}"


def collect_report_data(wh: Warehouse, dataset: str = "litmos_raw", source: str = "",
                        tenant: str | None = None) -> ReportData:
    """Read the marts (`config.marts_schema(dataset)`) into a :class:`ReportData`.

    Args:
        wh: The open warehouse.
        dataset: The configured raw dataset (each tenant's run history: `config.tenant_dataset`).
        source: Where the data came from, shown in the header.
        tenant: Only this tenant's rows; None = every tenant (labelled when there are several).

    Raises:
        ConfigError: The marts do not exist yet, or `tenant` has no rows in them.
    """
    schema = marts_schema(dataset)
    missing = [t for t in NEEDED if not wh.table_exists(schema, t)]
    if missing:
        raise ConfigError(
            f"the marts {', '.join(missing)} are missing in schema {schema}; run `litmos-sync run` "
            "without --no-dbt first (or check --destination and its credentials)"
        )
    tenant_column = "tenant" in wh.columns(schema, "fct_course_completion")
    tenants = _tenants(wh, schema) if tenant_column else []
    if tenant is not None and tenant not in tenants:
        known = f"tenants in the marts: {', '.join(tenants)}" if tenants else "the marts have no tenant column"
        raise ConfigError(f"tenant {tenant!r} has no rows in {schema} ({known}); pick one of those, or "
                          "rebuild the marts (litmos-sync run) if it was synced since")
    shown = [tenant] if tenant is not None else tenants
    m = _Marts(wh, schema, tenant_column, tenant, len(shown) > 1)
    data = ReportData(generated_at=dt.datetime.now(dt.timezone.utc), source=source, tenant=tenant, tenants=shown,
                      schema=schema)
    data.as_of_dates, data.expiring_soon_days = _as_of(m)
    for name in ("dim_users", "dim_courses", "dim_teams", "fct_course_completion", "fct_compliance"):
        if wh.table_exists(schema, name):
            data.totals[name] = _count(wh, f"FROM {m.t(name)} f WHERE true{m.where()}")
    data.course_completion = _course_completion(m)
    data.compliance_by_status = {s: 0 for s in STATUSES}
    for row in wh.query(f"SELECT f.compliance_status AS status, count(*) AS n FROM {m.t('fct_compliance')} f "
                        f"WHERE true{m.where()} GROUP BY 1"):
        data.compliance_by_status[str(row["status"])] = int(row["n"])
    if wh.table_exists(schema, "team_compliance_summary"):
        data.team_rows = _compliance_by_team(m)
        data.compliance_by_team = [{k: v for k, v in r.items() if k not in ("scope", "rate")}
                                   for r in data.team_rows if r["scope"] == "team"]
    data.expiring, data.expiring_total = _learner_rows(
        m, "fct_compliance", "f.compliance_status = 'expiring_soon'",
        "f.compliant_till_date AS expires, f.days_until_expiry AS days_left")
    data.overdue, data.overdue_total = _learner_rows(  # tracked_as: how the tiles count it (NULL: not tracked)
        m, "fct_course_completion", f"f.is_overdue AND {_ACTIVE}", "f.due_date AS due, k.compliance_status AS "
        "tracked_as", joins=m.tracked())
    data.overdue_learners, data.overdue_breakdown = _overdue_breakdown(m)
    data.trend = sections.collect_trend(m)
    data.team_trend = sections.collect_team_trend(m)
    data.managers = sections.collect_managers(m)
    data.runs = _runs(wh, dataset, shown, m.labelled)
    return data


def _tenants(wh: Warehouse, schema: str) -> list[str]:
    rows = wh.query(f"SELECT DISTINCT tenant FROM {quote_ident(schema)}.fct_course_completion UNION "
                    f"SELECT DISTINCT tenant FROM {quote_ident(schema)}.dim_users")
    return sorted(str(r["tenant"]) for r in rows if r["tenant"] is not None)


def _runs(wh: Warehouse, dataset: str, tenants: Sequence[str], labelled: bool) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for tenant in tenants or [None]:
        try:
            latest = run_history.latest_per_resource(wh, tenant_dataset(dataset, tenant) if tenant else dataset)
        except Exception:  # noqa: BLE001 - the history is a footnote, never a reason to fail the report
            continue
        runs += [{"tenant": tenant, **r} if labelled else r for r in sorted(latest.values(),
                                                                            key=lambda r: r["resource"])]
    return runs


def _course_completion(m: _Marts) -> list[dict[str, Any]]:
    group = "1, 2" if m.labelled else "1"
    rows = m.wh.query(
        f"SELECT {m.label()}c.course_name AS course, count(*) AS assigned, {_sum_if('f.is_completed', 'completed')} "
        f"FROM {m.t('fct_course_completion')} f LEFT JOIN {m.t('dim_courses')} c ON c.course_id = f.course_id"
        f"{m.join('c', 'f')} WHERE {_ACTIVE}{m.where()} GROUP BY {group} ORDER BY {group}")
    for row in rows:
        row["assigned"], row["completed"] = int(row["assigned"] or 0), int(row["completed"] or 0)
        row["rate"] = row["completed"] / row["assigned"] if row["assigned"] else 0.0
        row["course"] = row["course"] or "(unknown course)"
    return sorted(rows, key=lambda r: (-r["rate"], r["course"], r.get("tenant") or ""))


def _as_of(m: _Marts) -> tuple[list[str], int | None]:
    """The marts' as-of date(s) (fct_compliance.as_of_date; one per build) and the expiring-soon window."""
    cols = m.wh.columns(m.schema, "fct_compliance")
    dates = [] if "as_of_date" not in cols else [_fmt_date(r["d"]) for r in m.wh.query(
        f"SELECT DISTINCT f.as_of_date AS d FROM {m.t('fct_compliance')} f WHERE true{m.where()} ORDER BY 1")]
    days = None if "expiring_soon_days" not in cols else m.wh.query(
        f"SELECT max(f.expiring_soon_days) AS n FROM {m.t('fct_compliance')} f WHERE true{m.where()}")[0]["n"]
    return [d for d in dates if d], None if days is None else int(days)


def _overdue_breakdown(m: _Marts) -> tuple[int, dict[str, int]]:
    """Why the overdue list is longer than the overdue tile: learners, and the list's rows split by what
    fct_compliance says of them (overdue = the tile's rows; another status; not compliance-tracked)."""
    parts = {"tracked_overdue": "k.compliance_status = 'overdue'", "tracked_other": "k.compliance_status <> 'overdue'",
             "untracked": "k.compliance_status IS NULL"}
    learner = "f.tenant || '|' || f.user_id" if m.tenant_column else "f.user_id"
    sums = ", ".join(_sum_if(condition, name) for name, condition in parts.items())
    row = m.wh.query(f"SELECT count(DISTINCT {learner}) AS learners, {sums} FROM {m.t('fct_course_completion')} f"
                     f"{m.tracked()} WHERE f.is_overdue AND {_ACTIVE}{m.where()}")[0]
    return int(row["learners"] or 0), {k: int(row[k] or 0) for k in parts}


def _compliance_by_team(m: _Marts) -> list[dict[str, Any]]:
    # The summary holds per-team ('team': own members) and rolled-up ('rollup': + every team below) rows.
    counts = ", ".join(f"coalesce(f.{status}_count, 0) AS {status}" for status in STATUSES)
    order = "1, 2, 3" if m.labelled else "1, 2"
    rows = m.wh.query(f"SELECT {m.label()}f.team_path AS team, f.scope, {counts} FROM {m.t('team_compliance_summary')} "
                      f"f WHERE f.scope IN ('team', 'rollup'){m.where()} ORDER BY {order} DESC")
    for row in rows:
        row["team"] = row["team"] or "(unnamed team)"
        row.update({status: int(row[status] or 0) for status in STATUSES})
        row["total"] = sum(row[status] for status in STATUSES)
        row["rate"] = (row["compliant"] + row["expiring_soon"]) / row["total"] if row["total"] else None
    return rows


def _learner_rows(m: _Marts, fact: str, where: str, extras: str, joins: str = "") -> tuple[list[dict[str, Any]], int]:
    base = (f"FROM {m.t(fact)} f LEFT JOIN {m.t('dim_users')} u ON u.user_id = f.user_id{m.join('u', 'f')} "
            f"LEFT JOIN {m.t('dim_courses')} c ON c.course_id = f.course_id{m.join('c', 'f')}{joins} "
            f"WHERE {where}{m.where()}")
    order = "4, 1, 2, 3" if m.labelled else "3, 1, 2"  # the extras' first column, then tenant, learner, course
    rows = m.wh.query(f"SELECT {m.label()}u.full_name AS learner, c.course_name AS course, {extras} {base} "
                      f"ORDER BY {order} LIMIT {MAX_TABLE_ROWS}")
    return rows, _count(m.wh, base)


# ---------------------------------------------------------------------------------------------- render

def _table(table_id: str, labelled: bool, headers: Sequence[str], rows: Sequence[Sequence[Any]], total: int,
           empty: str) -> str:
    if not rows:
        return f'<p class="empty" id="{table_id}-empty">{_e(empty)}</p>'
    body = ["<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows]
    note = f'<p class="note">Showing {len(rows)} of {total:,}.</p>' if total > len(rows) else ""
    return sections.table(table_id, sections.head(labelled, *headers), body) + note


def _overdue_reconcile(data: ReportData) -> str:
    b, tile_overdue = data.overdue_breakdown, data.compliance_by_status.get("overdue", 0)
    return (f'<p class="reconcile" id="overdue-reconcile" data-total="{data.overdue_total}" '
            f'data-learners="{data.overdue_learners}" data-tracked-overdue="{b.get("tracked_overdue", 0)}" '
            f'data-tracked-other="{b.get("tracked_other", 0)}" data-untracked="{b.get("untracked", 0)}">'
            f"Every course with a due date before the as-of date and no completion: {data.overdue_total:,} "
            f"assignments (one learner × one course) of {data.overdue_learners:,} learners. "
            f"{b.get('tracked_overdue', 0):,} of them are on compliance-tracked courses: the "
            f"<b>{tile_overdue:,} overdue</b> in the tiles above; {b.get('untracked', 0):,} are on courses without "
            f"a compliance period, which the tiles do not track"
            + (f"; {b['tracked_other']:,} are compliance-tracked but have a compliant-till date, so the tiles count "
               "them as expired or expiring soon" if b.get("tracked_other") else "") + ".</p>")


def render_html(data: ReportData) -> str:
    """The complete report page as a string; with several tenants every row and bar names its tenant."""
    lead = (lambda r: (r["tenant"],)) if data.labelled else (lambda r: ())  # noqa: E731 - the tenant cell

    def named(rows: Sequence[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        return [{**r, "path": r[key], key: f"{r['tenant']} · {r[key]}"} for r in rows] if data.labelled else list(rows)

    def tracked_as(status: Any) -> str:
        return {None: "no (course has no compliance period)", "overdue": "yes: overdue (in the tile)"}.get(
            status, f"yes: {str(status).replace('_', ' ')}")

    labels = {"dim_users": "users", "dim_courses": "courses", "dim_teams": "teams",
              "fct_course_completion": "learner-course pairs", "fct_compliance": "compliance-tracked pairs"}
    totals = " · ".join(f"{n:,} {labels.get(k, k)}" for k, n in data.totals.items())
    tenants = (f" Tenant: {_e(data.tenant)}." if data.tenant is not None else
               f" Tenants: {_e(', '.join(data.tenants))}." if data.labelled else "")
    as_of = " and ".join(data.as_of_dates) or "not recorded in these marts"
    days = data.expiring_soon_days if data.expiring_soon_days is not None else 30
    tracked = sum(data.compliance_by_status.values())
    ok = data.compliance_by_status.get("compliant", 0) + data.compliance_by_status.get("expiring_soon", 0)
    n_mgr = len({(r.get("tenant"), r["manager_user_id"]) for r in data.managers or []})

    def optional(rows: Any, section: str, marts: Sequence[str], html: Any) -> str:
        return sections.missing_note(section, marts, data.schema) if rows is None else html()

    return Template(REPORT_TEMPLATE).substitute(
        generated=_e(data.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        as_of_line=(f"Figures as of <b>{_e(as_of)}</b> (the marts' as-of date: statuses and overdue are evaluated on "
                    "this day)." if data.as_of_dates else "As-of date: not recorded in these marts (built before "
                    "they carried as_of_date); statuses were evaluated on the day they were built."),
        as_of_attr=_e(",".join(data.as_of_dates)),
        source=f" from {_e(data.source)}" if data.source else "",
        tenants=tenants,
        totals=_e(totals),
        definitions=sections.definitions(days),
        status_tiles=status_tiles(data.compliance_by_status),
        tiles_caption=(f"Counts of compliance-tracked assignments (one learner × one course), as of {_e(as_of)}: "
                       f"<b>{tracked:,} in total</b>, compliance rate <b>{pct(ok / tracked if tracked else None)}</b>. "
                       f"Courses without a compliance period are not counted here (see Overdue assignments)."),
        trend=optional(data.trend, "compliance trend", ["compliance_trend"], lambda: sections.svg_trend_chart(
            data.trend, data.labelled) + sections.trend_table(data.trend, data.labelled)),
        completion_chart=svg_completion_chart(named(data.course_completion, "course")),
        completion_table=_table("table-completion", data.labelled, ("Course", "Assigned", "Completed", "Rate"),
                                [(*lead(r), r["course"], r["assigned"], r["completed"], f"{r['rate'] * 100:.1f}%")
                                 for r in data.course_completion], len(data.course_completion),
                                "No course assignments yet."),
        team_chart=svg_team_chart(named(data.compliance_by_team, "team"), labelled=data.labelled),
        team_table=sections.team_table(data.team_rows, data.labelled),
        team_trend=optional(data.team_trend, "team trend", ["team_compliance_trend"],
                            lambda: sections.team_trend_table(data.team_trend, data.labelled)),
        manager_count="" if data.managers is None else f" ({n_mgr:,} manager{'' if n_mgr == 1 else 's'})",
        managers=optional(data.managers, "manager view", ["manager_compliance_summary", "dim_managers"],
                          lambda: sections.manager_table(data.managers, data.labelled)),
        expiring_days=days,
        expiring_count=f"{data.expiring_total:,}",
        expiring_table=_table("table-expiring", data.labelled, ("Learner", "Course", "Compliant till", "Days left"),
                              [(*lead(r), r["learner"], r["course"], _fmt_date(r["expires"]),
                                "" if r.get("days_left") is None else int(r["days_left"])) for r in data.expiring],
                              data.expiring_total, f"Nothing expires in the next {days} days."),
        overdue_count=f"{data.overdue_total:,}",
        overdue_learners=f"{data.overdue_learners:,}",
        overdue_reconcile=_overdue_reconcile(data),
        overdue_table=_table("table-overdue", data.labelled, ("Learner", "Course", "Due", "Compliance-tracked"),
                             [(*lead(r), r["learner"] or "(user not in the warehouse)", r["course"],
                               _fmt_date(r["due"]), tracked_as(r.get("tracked_as"))) for r in data.overdue], data.overdue_total, "No overdue assignments."),
        runs_table=_table("table-runs", data.labelled, ("Resource", "Last run", "Status", "Rows", "Cursor"),
                          [(*lead(r), r["resource"], _fmt_date(r.get("started_at")), r.get("status"),
                            r.get("rows_loaded"), _fmt_date(r.get("cursor_after"))) for r in data.runs],
                          len(data.runs), "No run history in this warehouse."),
    )


def write_report(destination: str, credentials: str, output: str | os.PathLike[str],
                 dataset: str = "litmos_raw", tenant: str | None = None) -> Path:
    """Write the report of a warehouse to `output` (a file, or a directory to hold report.html).

    Returns:
        The file's absolute path (the CLI prints it).
    """
    with open_warehouse(destination, credentials, read_only=destination == "duckdb") as wh:
        data = collect_report_data(wh, dataset, source=f"{destination} {display(destination, credentials)}",
                                   tenant=tenant)
    path = Path(output).expanduser()
    if path.is_dir():
        path = path / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data), encoding="utf-8")
    return path.resolve()
