"""The report's inline SVG charts (completion by course, compliance by team) and status tiles."""
from __future__ import annotations

from typing import Any, Sequence

from pipelines.report_sections import STATUS_COLORS, STATUSES, e as _e

MAX_CHART_BARS = 30

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


def svg_team_chart(rows: Sequence[dict[str, Any]], max_bars: int = MAX_CHART_BARS, labelled: bool = False) -> str:
    """Stacked horizontal bars of compliance status per team's OWN members (scope team), in path order.

    Labels fit: the team's own name, indented one step per level below the top, with its full path as the
    tooltip (and in data-team); the bar's total is labelled "tracked" in the header row.
    """
    rows = [r for r in rows if r["total"]][:max_bars]
    if not rows:
        return '<p class="empty">No compliance-tracked assignments in any team.</p>'
    label_w, chart_w, head = 300, 460, 20
    parts = [_svg("chart-team-compliance", "Compliance status by team, own members", max(label_w + chart_w + 90,
                  label_w + 5 * 112), len(rows), 40 + head),
             f'<text x="4" y="13" class="hd">team (↳ sub-team)</text>'
             f'<text x="{label_w}" y="13" class="hd">share of tracked assignments by status</text>'
             f'<text x="{label_w + chart_w + 6}" y="13" class="hd">tracked</text>']
    for i, row in enumerate(rows):
        y = i * (BAR_H + GAP) + 5 + head
        x = float(label_w)
        path = str(row.get("path") or row["team"])
        levels = path.split(" > ")
        name = levels[-1] if not labelled else f"{row.get('tenant')} · {levels[-1]}"
        indent = 12 * (len(levels) - 1)
        room = int((label_w - 12 - indent) / 7.2) - (2 if len(levels) > 1 else 0)  # ~7px per character at 12px
        label = ("↳ " if len(levels) > 1 else "") + _clip(name, room)
        parts.append(f'<g class="bar" data-team="{_e(row["team"])}" data-tracked="{row["total"]}" '
                     f'data-overdue="{row["overdue"]}">'
                     f'<text x="{4 + indent}" y="{y + 13}"><title>{_e(row["team"])}</title>'
                     f'{_e(label)}</text>')
        for status in STATUSES:
            if row[status]:
                w = chart_w * row[status] / row["total"]
                parts.append(f'<rect class="seg-{status}" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_H}" '
                             f'fill="{STATUS_COLORS[status]}"><title>{_e(row["team"])} (own members): {row[status]} '
                             f'{status.replace("_", " ")}</title></rect>')
                x += w
        parts.append(f'<text x="{label_w + chart_w + 6}" y="{y + 13}">{row["total"]:,}</text></g>')
    y = len(rows) * (BAR_H + GAP) + 15 + head
    x = label_w
    for status in STATUSES:
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{STATUS_COLORS[status]}"/>'
                     f'<text x="{x + 16}" y="{y + 11}">{status.replace("_", " ")}</text>')
        x += 112
    parts.append("</svg>")
    return "".join(parts)


def status_tiles(counts: dict[str, int]) -> str:
    """One tile per status (counts of tracked (user, course) pairs), then the labelled total."""
    tiles = "".join(
        f'<div class="tile" data-status="{s}" style="border-color:{STATUS_COLORS.get(s, "#555")}">'
        f'<b>{counts.get(s, 0):,}</b><span>{s.replace("_", " ")}'
        f'</span></div>' for s in list(STATUSES) + [k for k in counts if k not in STATUSES])
    total = sum(counts.values())
    return (tiles + f'<div class="tile total" data-status="total"><b>{total:,}</b>'
            f'<span>total tracked</span></div>')


def _clip(text: Any, n: int) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= n else text[: n - 1] + "…"
