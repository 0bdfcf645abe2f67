"""The HTML report: completion by course, compliance by team, expiring soon, overdue learners.

`collect_report_data` reads the dbt marts (schema `config.marts_schema(dataset)`, e.g. `litmos_marts`)
from DuckDB or Postgres, for one tenant or all of them; `render_html` turns that into ONE self-contained
HTML file (inline CSS and SVG, no scripts, no network) so it can be mailed, archived or opened on a
machine without internet. With more than one tenant shown, every chart, table and row names its tenant.
"""
from __future__ import annotations

import datetime as dt
import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any, Sequence

from pipelines import run_history
from pipelines.destination import display
from pipelines.config import ConfigError, marts_schema, tenant_dataset
from pipelines.report_template import REPORT_TEMPLATE
from pipelines.warehouse import Warehouse, open_warehouse, quote_ident, quote_literal

STATUSES = ("compliant", "expiring_soon", "expired", "overdue", "not_completed")
STATUS_COLORS = {"compliant": "#2e7d32", "expiring_soon": "#f9a825", "expired": "#c62828",
                 "overdue": "#6a1b9a", "not_completed": "#9e9e9e"}
MAX_TABLE_ROWS = 200
MAX_CHART_BARS = 30


@dataclass
class ReportData:
    """Everything the report shows, already aggregated (small: safe to keep in memory).

    `tenant` is the tenant the report was filtered to (None = all); `tenants` the tenants it shows. When
    it shows more than one (`labelled`), the rows of course_completion, compliance_by_team, expiring,
    overdue and runs carry a "tenant" key.
    """

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
    runs: list[dict[str, Any]] = field(default_factory=list)
    tenant: str | None = None
    tenants: list[str] = field(default_factory=list)

    @property
    def labelled(self) -> bool:
        """More than one tenant is shown, so rows say whose they are."""
        return len(self.tenants) > 1


NEEDED = ("fct_course_completion", "fct_compliance", "dim_users", "dim_courses")
# Deactivated users and retired courses are history, not work to chase: left out of rates and lists.
_ACTIVE = "f.is_user_active AND f.is_course_active"


@dataclass(frozen=True)
class _Marts:
    """Where the marts are and how to read them: the schema, whether they have the tenant column (marts
    built before tenants, or by hand, do not), the tenant filter and whether rows are labelled."""

    wh: Warehouse
    schema: str
    tenant_column: bool
    tenant: str | None
    labelled: bool

    def t(self, table: str) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(table)}"

    def join(self, alias: str, other: str) -> str:
        """Join condition on the tenant (empty without the tenant column)."""
        return f" AND {alias}.tenant = {other}.tenant" if self.tenant_column else ""

    def where(self, alias: str = "f") -> str:
        """The tenant filter as an extra condition (empty for all tenants)."""
        return f" AND {alias}.tenant = {quote_literal(self.tenant)}" if self.tenant is not None else ""

    def label(self, alias: str = "f") -> str:
        """The tenant as a selected column when rows are labelled."""
        return f"{alias}.tenant AS tenant, " if self.labelled else ""


def _count(wh: Warehouse, sql_from: str) -> int:
    return int(wh.query(f"SELECT count(*) AS n {sql_from}")[0]["n"])


def collect_report_data(wh: Warehouse, dataset: str = "litmos_raw", source: str = "",
                        tenant: str | None = None) -> ReportData:
    """Read the marts into a :class:`ReportData`.

    Args:
        wh: The open warehouse.
        dataset: The configured raw dataset; the marts are in `config.marts_schema(dataset)` and each
            tenant's run history in `config.tenant_dataset(dataset, tenant)`.
        source: Where the data came from, shown in the header.
        tenant: Only this tenant's rows; None = every tenant (labelled when there are several).

    Raises:
        ConfigError: The marts do not exist yet (dbt has not been run on this warehouse), or `tenant`
            has no rows in them.
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
    data = ReportData(generated_at=dt.datetime.now(dt.timezone.utc), source=source, tenant=tenant, tenants=shown)
    for name in ("dim_users", "dim_courses", "dim_teams", "fct_course_completion", "fct_compliance"):
        if wh.table_exists(schema, name):
            data.totals[name] = _count(wh, f"FROM {m.t(name)} f WHERE true{m.where()}")
    data.course_completion = _course_completion(m)
    data.compliance_by_status = {s: 0 for s in STATUSES}
    for row in wh.query(f"SELECT f.compliance_status AS status, count(*) AS n FROM {m.t('fct_compliance')} f "
                        f"WHERE true{m.where()} GROUP BY 1"):
        data.compliance_by_status[str(row["status"])] = int(row["n"])
    if wh.table_exists(schema, "team_compliance_summary"):
        data.compliance_by_team = _compliance_by_team(m)
    data.expiring, data.expiring_total = _learner_rows(
        m, "fct_compliance", "f.compliance_status = 'expiring_soon'",
        "f.compliant_till_date AS expires, f.days_until_expiry AS days_left")
    data.overdue, data.overdue_total = _learner_rows(
        m, "fct_course_completion", f"f.is_overdue AND {_ACTIVE}", "f.due_date AS due")
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
        runs += [{"tenant": tenant, **r} if labelled else r for r in sorted(latest.values(), key=lambda r: r["resource"])]
    return runs


def _course_completion(m: _Marts) -> list[dict[str, Any]]:
    group = "1, 2" if m.labelled else "1"
    rows = m.wh.query(
        f"SELECT {m.label()}c.course_name AS course, count(*) AS assigned, "
        f"sum(CASE WHEN f.is_completed THEN 1 ELSE 0 END) AS completed FROM {m.t('fct_course_completion')} f "
        f"LEFT JOIN {m.t('dim_courses')} c ON c.course_id = f.course_id{m.join('c', 'f')} "
        f"WHERE {_ACTIVE}{m.where()} GROUP BY {group} ORDER BY {group}"
    )
    for row in rows:
        row["assigned"] = int(row["assigned"] or 0)
        row["completed"] = int(row["completed"] or 0)
        row["rate"] = row["completed"] / row["assigned"] if row["assigned"] else 0.0
        row["course"] = row["course"] or "(unknown course)"
    return sorted(rows, key=lambda r: (-r["rate"], r["course"], r.get("tenant") or ""))


def _compliance_by_team(m: _Marts) -> list[dict[str, Any]]:
    # The summary holds per-team and rolled-up rows; the chart shows each team's own learners.
    counts = ", ".join(f"coalesce(f.{status}_count, 0) AS {status}" for status in STATUSES)
    order = "1, 2" if m.labelled else "1"
    rows = m.wh.query(f"SELECT {m.label()}f.team_path AS team, {counts} FROM {m.t('team_compliance_summary')} f "
                      f"WHERE f.scope = 'team'{m.where()} ORDER BY {order}")
    for row in rows:
        row["team"] = row["team"] or "(unnamed team)"
        for status in STATUSES:
            row[status] = int(row[status] or 0)
        row["total"] = sum(row[status] for status in STATUSES)
    return rows


def _learner_rows(m: _Marts, fact: str, where: str, extras: str) -> tuple[list[dict[str, Any]], int]:
    base = (f"FROM {m.t(fact)} f LEFT JOIN {m.t('dim_users')} u ON u.user_id = f.user_id{m.join('u', 'f')} "
            f"LEFT JOIN {m.t('dim_courses')} c ON c.course_id = f.course_id{m.join('c', 'f')} "
            f"WHERE {where}{m.where()}")
    first = 4 if m.labelled else 3  # the extras' first column
    order = f"{first}, 1, 2, 3" if m.labelled else "3, 1, 2"
    rows = m.wh.query(f"SELECT {m.label()}u.full_name AS learner, c.course_name AS course, {extras} {base} "
                      f"ORDER BY {order} LIMIT {MAX_TABLE_ROWS}")
    return rows, _count(m.wh, base)


# ---------------------------------------------------------------------------------------------- render

def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _fmt_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d") if value.tzinfo else value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)[:10]


BAR_H, GAP = 18, 6  # bar height and the gap between bars, in pixels


def _svg(chart_id: str, label: str, width: int, bars: int, margin: int) -> str:
    return (f'<svg class="chart" id="{chart_id}" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg" '
            f'width="{width}" height="{bars * (BAR_H + GAP) + margin}">')


def svg_completion_chart(rows: Sequence[dict[str, Any]], max_bars: int = MAX_CHART_BARS) -> str:
    """Horizontal bar chart of completion rate per course (inline SVG)."""
    rows = list(rows)[:max_bars]
    if not rows:
        return '<p class="empty">No course assignments yet.</p>'
    label_w, chart_w = 260, 420
    parts = [_svg("chart-completion", "Completion rate by course", label_w + chart_w + 140, len(rows), 10)]
    for i, row in enumerate(rows):
        y = i * (BAR_H + GAP) + 5
        w = max(1.0, chart_w * float(row["rate"]))
        parts.append(
            f'<g class="bar" data-course="{_e(row["course"])}" data-rate="{row["rate"]:.4f}">'
            f'<title>{_e(row["course"])}: {row["completed"]} of {row["assigned"]} completed</title>'
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{_e(_clip(row["course"], 38))}</text>'
            f'<rect x="{label_w}" y="{y}" width="{chart_w}" height="{BAR_H}" fill="#eceff1"/>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="#1565c0"/>'
            f'<text x="{label_w + chart_w + 6}" y="{y + 13}">{row["rate"] * 100:.0f}% '
            f'({row["completed"]}/{row["assigned"]})</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def svg_team_chart(rows: Sequence[dict[str, Any]], max_bars: int = MAX_CHART_BARS) -> str:
    """Stacked horizontal bars of compliance status per team (inline SVG), with a legend."""
    rows = [r for r in rows if r["total"]][:max_bars]
    if not rows:
        return '<p class="empty">No compliance-tracked assignments in any team.</p>'
    label_w, chart_w = 300, 460
    parts = [_svg("chart-team-compliance", "Compliance status by team", max(label_w + chart_w + 70, label_w + 5 * 112),
                  len(rows), 40)]
    for i, row in enumerate(rows):
        y = i * (BAR_H + GAP) + 5
        x = float(label_w)
        parts.append(f'<g class="bar" data-team="{_e(row["team"])}">'
                     f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{_e(_clip(row["team"], 46))}</text>')
        for status in STATUSES:
            if row[status]:
                w = chart_w * row[status] / row["total"]
                parts.append(f'<rect class="seg-{status}" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_H}" '
                             f'fill="{STATUS_COLORS[status]}"><title>{_e(row["team"])}: {row[status]} '
                             f'{status.replace("_", " ")}</title></rect>')
                x += w
        parts.append(f'<text x="{label_w + chart_w + 6}" y="{y + 13}">{row["total"]}</text></g>')
    y = len(rows) * (BAR_H + GAP) + 15
    x = label_w
    for status in STATUSES:
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{STATUS_COLORS[status]}"/>'
                     f'<text x="{x + 16}" y="{y + 11}">{status.replace("_", " ")}</text>')
        x += 112
    parts.append("</svg>")
    return "".join(parts)


def _status_tiles(counts: dict[str, int]) -> str:
    return "".join(
        f'<div class="tile" data-status="{s}" style="border-color:{STATUS_COLORS.get(s, "#555")}">'
        f'<b>{counts.get(s, 0):,}</b><span>{s.replace("_", " ")}</span></div>'
        for s in list(STATUSES) + [k for k in counts if k not in STATUSES]
    )


def _table(table_id: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], total: int, empty: str) -> str:
    if not rows:
        return f'<p class="empty" id="{table_id}-empty">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    note = f'<p class="note">Showing {len(rows)} of {total:,}.</p>' if total > len(rows) else ""
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}'


def render_html(data: ReportData) -> str:
    """The complete report page as a string; with several tenants every row and bar names its tenant."""
    lead = (lambda r: (r["tenant"],)) if data.labelled else (lambda r: ())  # noqa: E731 - the tenant cell
    who = ("Tenant",) if data.labelled else ()

    def named(rows: Sequence[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        return [{**r, key: f"{r['tenant']} · {r[key]}"} for r in rows] if data.labelled else list(rows)

    expiring_rows = [(*lead(r), r["learner"], r["course"], _fmt_date(r["expires"]),
                      "" if r.get("days_left") is None else int(r["days_left"])) for r in data.expiring]
    overdue_rows = [(*lead(r), r["learner"], r["course"], _fmt_date(r["due"])) for r in data.overdue]
    runs_rows = [(*lead(r), r["resource"], _fmt_date(r.get("started_at")), r.get("status"), r.get("rows_loaded"),
                  _fmt_date(r.get("cursor_after"))) for r in data.runs]
    labels = {"dim_users": "users", "dim_courses": "courses", "dim_teams": "teams",
              "fct_course_completion": "learner-course pairs", "fct_compliance": "compliance-tracked pairs"}
    totals = " · ".join(f"{n:,} {labels.get(k, k)}" for k, n in data.totals.items())
    if data.tenant is not None:
        tenants = f" Tenant: {_e(data.tenant)}."
    else:
        tenants = f" Tenants: {_e(', '.join(data.tenants))}." if data.labelled else ""
    return Template(REPORT_TEMPLATE).substitute(
        generated=_e(data.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        source=f" from {_e(data.source)}" if data.source else "",
        tenants=tenants,
        totals=_e(totals),
        status_tiles=_status_tiles(data.compliance_by_status),
        completion_chart=svg_completion_chart(named(data.course_completion, "course")),
        completion_table=_table("table-completion", (*who, "Course", "Assigned", "Completed", "Rate"),
                                [(*lead(r), r["course"], r["assigned"], r["completed"], f"{r['rate'] * 100:.1f}%")
                                 for r in data.course_completion], len(data.course_completion),
                                "No course assignments yet."),
        team_chart=svg_team_chart(named(data.compliance_by_team, "team")),
        expiring_count=f"{data.expiring_total:,}",
        expiring_table=_table("table-expiring", (*who, "Learner", "Course", "Compliant till", "Days left"),
                              expiring_rows, data.expiring_total, "Nothing expires in the next 30 days."),
        overdue_count=f"{data.overdue_total:,}",
        overdue_table=_table("table-overdue", (*who, "Learner", "Course", "Due"), overdue_rows, data.overdue_total,
                             "No overdue learners."),
        runs_table=_table("table-runs", (*who, "Resource", "Last run", "Status", "Rows", "Cursor"), runs_rows,
                          len(runs_rows), "No run history in this warehouse."),
    )


def write_report(destination: str, credentials: str, output: str | os.PathLike[str],
                 dataset: str = "litmos_raw", tenant: str | None = None) -> Path:
    """Collect the report data from a warehouse and write the HTML file; returns its absolute path.

    `output` is the file to write (default of `litmos-sync report`: ./report.html), or an existing
    directory to write report.html into. `tenant` limits the report to one tenant (None = all tenants,
    each row labelled with its tenant when there are several).
    """
    with open_warehouse(destination, credentials, read_only=destination == "duckdb") as wh:
        data = collect_report_data(wh, dataset, source=f"{destination} {display(destination, credentials)}",
                                   tenant=tenant)
    path = Path(output).expanduser()
    if path.is_dir():  # `--output reports/` means reports/report.html
        path = path / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data), encoding="utf-8")
    return path.resolve()  # printed by the CLI: say exactly where the file went


def _clip(text: Any, n: int) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= n else text[: n - 1] + "…"
