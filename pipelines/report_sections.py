"""The HTML report's analyst sections over optional marts: definitions, the monthly trend, the team trend and
the manager view, plus the HTML helpers the report shares. A warehouse without one of those marts gets a
one-line note in its place (`missing_note`), never an error. Every figure a test reads back is also in a
`data-*` attribute of the element that shows it.
"""
from __future__ import annotations

import datetime as dt
import html
from collections import Counter
from typing import Any, Sequence

STATUSES = ("compliant", "expiring_soon", "expired", "overdue", "not_completed")
STATUS_COLORS = {"compliant": "#2e7d32", "expiring_soon": "#f9a825", "expired": "#c62828",
                 "overdue": "#6a1b9a", "not_completed": "#9e9e9e"}
TREND_MONTHS = 12  # months shown in the trend chart and the team trend table
MAX_ROWS = 200
MANAGERS_OPEN = 15  # managers shown before "the other N managers"
TEAM_ROWS_OPEN = 30  # team trend rows shown before the rest
SCOPE_LABELS = {"team": "own members", "rollup": "incl. sub-teams", "direct": "direct reports",
                "all": "everyone below"}
SERIES_COLORS = ("#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#5d4037", "#455a64")


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def fmt_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.timezone.utc) if value.tzinfo else value).strftime("%Y-%m-%d")
    return value.isoformat() if isinstance(value, dt.date) else "" if value is None else str(value)[:10]


def pct(rate: Any) -> str:
    return "–" if rate is None else f"{float(rate) * 100:.1f}%"


def rate_attr(rate: Any) -> str:
    return "" if rate is None else f"{float(rate):.4f}"


def head(labelled: bool, *names: str) -> str:
    """Header cells, led by a Tenant column when rows name their tenant."""
    return "".join(f"<th>{e(h)}</th>" for h in (("Tenant",) if labelled else ()) + names)


def tenant_cell(row: dict[str, Any], labelled: bool) -> str:
    return f"<td>{e(row.get('tenant'))}</td>" if labelled else ""


def table(table_id: str, head_cells: str, rows: Sequence[str], cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f'<table id="{table_id}"{attr}><thead><tr>{head_cells}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def missing_note(section: str, marts: Sequence[str], schema: str) -> str:
    names = ", ".join(f"{schema}.{m}" for m in marts)
    return (f'<p class="missing-mart" data-missing="{e(",".join(marts))}">No {e(section)}: this warehouse has no '
            f"{e(names)} (built by a newer litmos-sync; run `litmos-sync run` to add it).</p>")


def definitions(n: int) -> str:
    """One line per status and rate, the rules of fct_compliance / team_compliance_summary (dbt_models/README.md);
    `n`: the expiring-soon window in days."""
    items = [
        ("tracked", "an active learner's assignment (one user × one course) on a course with a compliance period "
                    "or a result carrying a compliant-till date; every status below counts these pairs"),
        ("compliant", f"completed and valid for more than {n} days after the as-of date (or completed with no "
                      "known expiry)"),
        ("expiring soon", f"valid today but the compliant-till date is within {n} days (expires today counts)"),
        ("expired", "the compliant-till date is before the as-of date (it lapsed, even if since reset)"),
        ("overdue", "not completed, no compliant-till date, and the due date is before the as-of date (due "
                    "today is not overdue yet)"),
        ("not completed", "not completed and not overdue: no due date, or due on/after the as-of date"),
        ("compliance rate", "(compliant + expiring soon) ÷ tracked; blank when nothing is tracked"),
        ("completion rate", "completed ÷ tracked (by course: completed ÷ assigned)"),
        ("own members / incl. sub-teams", "a team row counts its own active members (scope team), or the team "
                                         "and every team below it, each learner once (scope rollup)"),
    ]
    return ('<dl class="defs" id="definitions">' + "".join(
        f'<div data-term="{e(t)}"><dt>{e(t)}</dt><dd>{e(d)}</dd></div>' for t, d in items) + "</dl>")


# ------------------------------------------------------------------------------------------------ trend

def _monthly(m: Any, mart: str, columns: str, join: str = "") -> list[dict[str, Any]] | None:
    """The month-grain rows of a history mart, per tenant in period order, with their `period`; None without it."""
    if not m.wh.table_exists(m.schema, mart):
        return None
    tenant, order = ("f.tenant AS tenant, ", "f.tenant, ") if m.tenant_column else ("", "")
    rows = m.wh.query(f"SELECT {tenant}{columns} FROM {m.t(mart)} f{join} WHERE f.grain = 'month'{m.where()} "
                      f"ORDER BY {order}f.period_start")
    for row in rows:
        row["period"] = fmt_date(row["period_start"])[:7]
    return rows


def collect_trend(m: Any) -> list[dict[str, Any]] | None:
    """Org-wide monthly rows of compliance_trend (the last TREND_MONTHS months per tenant), None without it."""
    rows = _monthly(m, "compliance_trend", "f.period_start, f.period_end_date, f.tracked_count, f.compliant_count, "
                    "f.expiring_soon_count, f.expired_count, f.overdue_count, f.not_completed_count, "
                    "f.completed_count, f.compliance_rate, f.completion_rate, f.is_reconstructed")
    if rows is None:
        return None
    by_tenant: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        by_tenant.setdefault(row.get("tenant"), []).append(row)
    return [r for group in by_tenant.values() for r in group[-TREND_MONTHS:]]


def svg_trend_chart(rows: Sequence[dict[str, Any]], labelled: bool) -> str:
    """Compliance rate per month as a line per tenant (inline SVG); hollow points are reconstructed months."""
    if not rows:
        return '<p class="empty" id="chart-trend-empty">No monthly snapshots yet.</p>'
    periods = sorted({r["period"] for r in rows})
    series: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        series.setdefault(str(row.get("tenant") or ""), []).append(row)
    left, top, w, h = 56, 14, 760, 220
    step = w / max(1, len(periods) - 1) if len(periods) > 1 else 0
    x_of = {p: left + (i * step if len(periods) > 1 else w / 2) for i, p in enumerate(periods)}

    def y_of(rate: float) -> float:
        return top + h - h * rate

    parts = [f'<svg class="chart" id="chart-trend" role="img" aria-label="Compliance rate by month" '
             f'xmlns="http://www.w3.org/2000/svg" width="{left + w + 60}" height="{top + h + 70}">']
    for tick in (0, 0.25, 0.5, 0.75, 1):
        y = y_of(tick)
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick * 100:.0f}%</text>')
    for p in periods:
        parts.append(f'<text x="{x_of[p]:.1f}" y="{top + h + 18}" text-anchor="middle">{e(p)}</text>')
    for i, (tenant, points) in enumerate(series.items()):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        known = [r for r in points if r["compliance_rate"] is not None]
        if len(known) > 1:
            path = " ".join(f"{x_of[r['period']]:.1f},{y_of(float(r['compliance_rate'])):.1f}" for r in known)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for r in points:
            rate, recon, tracked = r["compliance_rate"], bool(r.get("is_reconstructed")), int(r["tracked_count"] or 0)
            x, end = x_of[r["period"]], e(fmt_date(r["period_end_date"]))
            parts.append(
                f'<g class="trend-point" data-tenant="{e(tenant)}" data-period="{e(r["period"])}" '
                f'data-period-end="{end}" data-tracked="{tracked}" data-compliant="{int(r["compliant_count"] or 0)}" '
                f'data-expiring-soon="{int(r["expiring_soon_count"] or 0)}" '
                f'data-overdue="{int(r["overdue_count"] or 0)}" data-rate="{rate_attr(rate)}" '
                f'data-reconstructed="{str(recon).lower()}">'
                f'<title>{e(f"{tenant} · " if labelled else "")}{e(r["period"])} (as of {end}): compliance '
                f'{pct(rate)} of {tracked:,} tracked{" (reconstructed)" if recon else ""}</title>'
                + ("" if rate is None else
                   f'<circle cx="{x:.1f}" cy="{y_of(float(rate)):.1f}" r="4" stroke="{color}" '
                   f'stroke-width="2" fill="{"#fff" if recon else color}"/>'
                   f'<text x="{x:.1f}" y="{y_of(float(rate)) - 8:.1f}" text-anchor="middle" '
                   f'class="pt">{float(rate) * 100:.0f}%</text>') + "</g>")
    y = top + h + 40
    parts.append(f'<circle cx="{left + 6}" cy="{y}" r="4" fill="#555"/><text x="{left + 16}" y="{y + 4}">'
                 f'exact daily snapshot</text><circle cx="{left + 176}" cy="{y}" r="4" fill="#fff" stroke="#555" '
                 f'stroke-width="2"/><text x="{left + 186}" y="{y + 4}">reconstructed from loaded dates (first build)'
                 f'</text>')
    if labelled:
        x = left + 500
        for i, tenant in enumerate(series):
            parts.append(f'<rect x="{x}" y="{y - 5}" width="12" height="10" fill="{SERIES_COLORS[i % 8]}"/>'
                         f'<text x="{x + 16}" y="{y + 4}">{e(tenant)}</text>')
            x += 20 + 8 * len(tenant)
    return "".join(parts) + "</svg>"


def trend_table(rows: Sequence[dict[str, Any]], labelled: bool) -> str:
    if not rows:
        return ""
    body = ("<tr>" + tenant_cell(r, labelled) + "".join(f"<td>{c}</td>" for c in (
        e(r["period"]), e(fmt_date(r["period_end_date"])), *(f"{int(r[k + '_count'] or 0):,}" for k in (
            "tracked", *STATUSES)), pct(r["compliance_rate"]), pct(r["completion_rate"]),
        "reconstructed" if r.get("is_reconstructed") else "snapshot")) + "</tr>" for r in rows)
    cells = head(labelled, "Month", "Figures as of", "Tracked", "Compliant", "Expiring soon", "Expired", "Overdue",
                 "Not completed", "Compliance rate", "Completion rate", "Source")
    return f"<details><summary>Monthly figures</summary>{table('table-trend', cells, body)}</details>"


# ------------------------------------------------------------------------------------------- team trend

def collect_team_trend(m: Any) -> list[dict[str, Any]] | None:
    """Monthly team_compliance_trend rows (both scopes) with the team's path, None without the mart."""
    path = "d.team_path" if "team_path" in m.wh.columns(m.schema, "dim_teams") else "d.team_name"
    rows = _monthly(m, "team_compliance_trend", f"f.team_id, coalesce({path}, f.team_id) AS team, f.scope, "
                    "f.period_start, f.period_end_date, f.tracked_count, f.overdue_count, f.compliance_rate, "
                    "f.is_reconstructed", f" LEFT JOIN {m.t('dim_teams')} d ON d.team_id = f.team_id{m.join('d', 'f')}")
    if rows is None:
        return None
    periods = sorted({r["period"] for r in rows})[-TREND_MONTHS:]
    return [r for r in rows if r["period"] in periods]


def team_trend_table(rows: Sequence[dict[str, Any]], labelled: bool) -> str:
    if not rows:
        return '<p class="empty" id="table-team-trend-empty">No team snapshots yet.</p>'
    periods = sorted({r["period"] for r in rows})
    teams: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for r in rows:
        teams.setdefault((r.get("tenant") or "", r["team"], r["team_id"], r["scope"] != "team", r["scope"]),
                         {})[r["period"]] = r
    body = []
    for (tenant, team, team_id, _, scope), cells in sorted(teams.items())[:MAX_ROWS]:
        tds = []
        for p in periods:
            r = cells.get(p)
            if r is None:
                tds.append('<td class="num"></td>')
                continue
            rate, tracked, overdue = r["compliance_rate"], int(r["tracked_count"] or 0), int(r["overdue_count"] or 0)
            shade = "" if rate is None else f' style="background:{_heat(float(rate))}"'
            tds.append(f'<td class="num" data-period="{e(p)}" data-rate="{rate_attr(rate)}" '
                       f'data-tracked="{tracked}" data-overdue="{overdue}"'
                       f'{shade} title="{e(team)} ({SCOPE_LABELS.get(scope, scope)}), {e(p)}: '
                       f'{tracked:,} tracked, {overdue:,} overdue'
                       f'{", reconstructed" if r.get("is_reconstructed") else ""}">{pct(rate)}</td>')
        body.append(f'<tr class="team-trend" data-team-id="{e(team_id)}" data-scope="{e(scope)}">'
                    + tenant_cell({"tenant": tenant}, labelled) + f'<td class="team">{team_label(team)}</td>'
                    f'<td class="scope">{e(SCOPE_LABELS.get(scope, scope))}</td>{"".join(tds)}</tr>')
    cells = head(labelled, "Team", "Counts") + "".join(f"<th class=num>{e(p)}</th>" for p in periods)
    note = f'<p class="note">Showing {MAX_ROWS} of {len(teams):,} team rows.</p>' if len(teams) > MAX_ROWS else ""
    return split_table("table-team-trend", "wrap", cells, body, TEAM_ROWS_OPEN, "team rows") + note


def _heat(rate: float) -> str:
    """Red (0%) through amber to green (100%), pale enough to read the number on it."""
    return f"hsl({int(120 * max(0.0, min(1.0, rate)))}, 60%, 88%)"


def team_label(path: Any) -> str:
    """A team path that wraps between its levels, the team itself in bold, the full path as a tooltip."""
    parts = str(path or "").split(" > ")
    lead = "".join(f'<span class="anc">{e(p)} ›</span> ' for p in parts[:-1])
    return f'<span class="path" title="{e(path)}">{lead}<b>{e(parts[-1])}</b></span>'


def team_table(rows: Sequence[dict[str, Any]], labelled: bool) -> str:
    """Both scopes of team_compliance_summary, one row each, labelled own / incl. sub-teams."""
    if not rows:
        return ""
    body = [f'<tr class="team-row" data-team="{e(r["team"])}" data-scope="{e(r["scope"])}" '
            f'data-tracked="{r["total"]}" data-overdue="{r["overdue"]}" data-rate="{rate_attr(r["rate"])}">'
            + tenant_cell(r, labelled) + f'<td class="team">{team_label(r["team"])}</td>'
            f'<td class="scope">{e(SCOPE_LABELS.get(r["scope"], r["scope"]))}</td><td class="num"><b>{r["total"]:,}</b>'
            "</td>" + "".join(f'<td class="num">{r[s]:,}</td>' for s in STATUSES)
            + f'<td class="num">{pct(r["rate"])}</td></tr>' for r in rows[:MAX_ROWS]]
    cells = head(labelled, "Team", "Counts", "Tracked (total)", "Compliant", "Expiring soon", "Expired", "Overdue",
                 "Not completed", "Compliance rate")
    return (f'<details><summary>Every team, own members and including sub-teams</summary><div class="scroll">'
            f'{table("table-teams", cells, body, "wrap")}</div></details>')


# ---------------------------------------------------------------------------------------------- managers

def collect_managers(m: Any) -> list[dict[str, Any]] | None:
    """manager_compliance_summary (both scopes) with dim_managers' names and report counts; None without them."""
    if not (m.wh.table_exists(m.schema, "manager_compliance_summary") and m.wh.table_exists(m.schema, "dim_managers")):
        return None
    tenant = "f.tenant AS tenant, " if m.tenant_column else ""
    counts = ", ".join(f"f.{c}_count AS {c}" for c in ("tracked", *STATUSES, "completed"))
    # People in the row's scope: the summary's own report_count when it has one, else dim_managers' counts.
    people = ("f.report_count" if "report_count" in m.wh.columns(m.schema, "manager_compliance_summary") else
              "CASE WHEN f.scope = 'direct' THEN d.direct_report_count ELSE d.total_report_count END")
    rows = m.wh.query(
        f"SELECT {tenant}f.manager_user_id, coalesce(d.manager_name, f.manager_user_id) AS manager, "
        f"{people} AS people, f.scope, {counts}, f.compliance_rate, f.completion_rate "
        f"FROM {m.t('manager_compliance_summary')} f LEFT JOIN {m.t('dim_managers')} d ON "
        f"d.manager_user_id = f.manager_user_id{m.join('d', 'f')} WHERE true{m.where()}")
    previous = _previous_month(m)
    for row in rows:
        for c in ("tracked", *STATUSES, "completed", "people"):
            row[c] = int(row[c] or 0)
        if previous is not None:  # the rate at the end of the month before the as-of date's month
            row["prev_end"], row["prev_rate"] = previous.get(_manager(row) + (row["scope"],), (None, None))
    overdue_all = {_manager(r): r["overdue"] for r in rows if r["scope"] == "all"}
    # Who needs attention first: most overdue below them, then by name; 'direct' before 'all'.
    return sorted(rows, key=lambda r: (-overdue_all.get(_manager(r), 0), str(r["manager"]),
                                       str(r.get("tenant") or ""), str(r["manager_user_id"]), r["scope"] != "direct"))


def _manager(row: dict[str, Any]) -> tuple[Any, Any]:
    return row.get("tenant"), row["manager_user_id"]


def _previous_month(m: Any) -> dict[tuple[Any, ...], tuple[str, Any]] | None:
    """(tenant, manager, scope) -> (period_end_date, compliance_rate) of the last month before the latest one in
    manager_compliance_trend (per tenant); None without that mart."""
    rows = _monthly(m, "manager_compliance_trend",
                    "f.period_start, f.period_end_date, f.manager_user_id, f.scope, f.compliance_rate")
    if rows is None:
        return None
    periods: dict[Any, set[Any]] = {}
    for r in rows:
        periods.setdefault(r.get("tenant"), set()).add(r["period_start"])
    before = {t: sorted(p)[-2] for t, p in periods.items() if len(p) > 1}
    return {_manager(r) + (r["scope"],): (fmt_date(r["period_end_date"]), r["compliance_rate"]) for r in rows
            if r["period_start"] == before.get(r.get("tenant"))}


def _change(rate: Any, prev: Any) -> str:
    if rate is None or prev is None:
        return "–"
    points = (float(rate) - float(prev)) * 100
    cls = "down" if points < -0.05 else "up" if points > 0.05 else "flat"
    return f'<span class="{cls}">{points:+.1f} pts</span>'


def manager_table(rows: Sequence[dict[str, Any]], labelled: bool) -> str:
    if not rows:
        return ('<p class="empty" id="table-managers-empty">No managers: no user has a ManagerId the warehouse '
                'holds.</p>')
    cells = head(labelled, "Manager", "People", "Counts", "Tracked (total)", "Compliant", "Expiring soon", "Expired",
                 "Overdue", "Not completed", "Compliance rate")
    has_prev = "prev_rate" in rows[0]
    if has_prev:
        ends = sorted({r["prev_end"] for r in rows if r.get("prev_end")})
        cells += f"<th>Change since {e(' / '.join(ends) or 'last month')}</th>"
    shown = rows[: MAX_ROWS * 2]
    keys = [_manager(r) for r in shown]
    spans = Counter(keys)
    body = []
    for i, r in enumerate(shown):
        first = i == 0 or keys[i - 1] != keys[i]
        span = spans[keys[i]]
        name = (f'<td rowspan="{span}">{e(r.get("tenant"))}</td>' if labelled else "") + \
            f'<td rowspan="{span}" class="mgr">{e(r["manager"])}</td>' if first else ""
        body.append(
            f'<tr class="manager-row{" first" if first else ""}" data-manager-id="{e(r["manager_user_id"])}" '
            f'data-scope="{e(r["scope"])}" data-tracked="{r["tracked"]}" data-overdue="{r["overdue"]}" '
            f'data-compliant="{r["compliant"]}" data-people="{r["people"]}" '
            f'data-rate="{rate_attr(r["compliance_rate"])}">{name}'
            f'<td class="num">{r["people"]:,}</td>'
            f'<td class="scope">{e(SCOPE_LABELS.get(r["scope"], r["scope"]))}</td><td class="num"><b>{r["tracked"]:,}'
            f'</b></td>' + "".join(f'<td class="num">{r[s]:,}</td>' for s in STATUSES)
            + f'<td class="num">{pct(r["compliance_rate"])}</td>'
            + (f'<td class="num" data-prev-rate="{rate_attr(r["prev_rate"])}" data-prev-end="{e(r["prev_end"])}" '
               f'title="{pct(r["prev_rate"])} on {e(r["prev_end"])}">{_change(r["compliance_rate"], r["prev_rate"])}'
               f"</td>" if has_prev else "") + "</tr>")
    managers = len({_manager(r) for r in rows})
    note = (f'<p class="note">Showing the first {len(spans):,} of {managers:,} managers.</p>'
            if len(shown) < len(rows) else "")
    cut = sum(spans[k] for k in list(spans)[:MANAGERS_OPEN])
    return split_table("table-managers", "", cells, body, cut, "managers", len(spans) - MANAGERS_OPEN) + note


def split_table(table_id: str, cls: str, head_cells: str, body: Sequence[str], keep: int, what: str,
                more: int | None = None) -> str:
    """The first `keep` body rows in the table, the rest in a second table (same columns) behind a <details>,
    so a long list does not bury the sections below it; both are in the page (and its DOM)."""
    if len(body) <= keep:
        return table(table_id, head_cells, body, cls)
    return (table(table_id, head_cells, body[:keep], cls) + f"<details><summary>The other "
            f"{more if more is not None else len(body) - keep:,} {what}</summary>"
            f'{table(table_id + "-more", head_cells, body[keep:], cls)}</details>')
