"""The HTML report's page (a `string.Template`); a Python string, so `pip install .` ships it without
package-data configuration."""

REPORT_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Litmos completion and compliance report</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #212121;
         margin: 0 auto; max-width: 1100px; padding: 24px; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  h2 { font-size: 17px; margin: 32px 0 8px; border-bottom: 1px solid #e0e0e0; padding-bottom: 4px; }
  .meta { color: #616161; margin: 0 0 16px; }
  .tiles { display: flex; gap: 12px; flex-wrap: wrap; }
  .tile { border-left: 6px solid #555; background: #fafafa; padding: 8px 14px; min-width: 120px; }
  .tile b { display: block; font-size: 22px; }
  .tile span { color: #616161; }
  svg.chart { font-size: 12px; max-width: 100%; height: auto; }
  table { border-collapse: collapse; width: 100%; margin-top: 8px; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eeeeee; }
  th { background: #f5f5f5; }
  .empty, .note { color: #757575; font-style: italic; }
  details { margin-top: 8px; }
  .asof { font-size: 16px; margin: 0 0 6px; }
  .asof b { background: #e3f2fd; padding: 1px 6px; border-radius: 3px; }
  dl.defs { display: grid; grid-template-columns: 1fr 1fr; gap: 2px 24px; margin: 6px 0 0; font-size: 13px; }
  dl.defs div { display: flex; gap: 6px; }
  dl.defs dt { font-weight: 600; white-space: nowrap; }
  dl.defs dt::after { content: ":"; }
  dl.defs dd { margin: 0; color: #424242; }
  .scroll { overflow-x: auto; }
  .down { color: #c62828; font-weight: 600; }
  .up { color: #2e7d32; }
  .tile.total { border-left-color: #212121; background: #f0f0f0; }
  .caption, .reconcile { color: #424242; margin: 6px 0; }
  .missing-mart { color: #8d6e63; background: #fff8e1; padding: 6px 10px; border-left: 4px solid #ffb300; }
  td.num, th.num { text-align: right; white-space: nowrap; }
  td.scope { white-space: nowrap; color: #616161; }
  td.team { min-width: 220px; }
  tr.manager-row.first td { border-top: 1px solid #bdbdbd; }
  td.mgr { vertical-align: top; font-weight: 600; }
  .path .anc { color: #757575; font-size: 12px; }
  table.wrap td.team { overflow-wrap: anywhere; }
  svg .hd { fill: #616161; font-style: italic; }
  svg .pt { fill: #424242; font-size: 11px; }
</style>
</head>
<body>
<h1>Litmos completion and compliance</h1>
<p class="asof" id="as-of" data-as-of="$as_of_attr">$as_of_line</p>
<p class="meta">Generated $generated$source.$tenants $totals</p>
<details open><summary>Definitions</summary>$definitions</details>

<section id="compliance-status">
<h2>Compliance by status</h2>
<div class="tiles">$status_tiles</div>
<p class="caption">$tiles_caption</p>
</section>

<section id="compliance-trend">
<h2>Compliance rate by month</h2>
<p class="caption">Each month's figure is taken on its last snapshot day (the current month: the as-of date).</p>
$trend
</section>

<section id="completion-by-course">
<h2>Completion rate by course</h2>
$completion_chart
<details><summary>All courses</summary>$completion_table</details>
</section>

<section id="compliance-by-team">
<h2>Compliance status by team</h2>
<p class="caption">Bars: each team's own members only. The table adds each team including every team below
it (each learner counted once), so a parent's row is not the sum of its sub-teams' rows.</p>
$team_chart
$team_table
</section>

<section id="team-trend">
<h2>Compliance rate by team and month</h2>
<p class="caption">Compliance rate on each month's last snapshot day; hover a cell for tracked and overdue
counts. "–" = nothing tracked that month; blank = the team had no row then.</p>
<div class="scroll">$team_trend</div>
</section>

<section id="managers">
<h2>Compliance by manager$manager_count</h2>
<p class="caption">Per manager two rows: direct reports (the people naming this manager) and everyone below
(all people under them through the manager chain, each once). People = active reports in that scope; counts
are their compliance-tracked assignments. Managers with the most overdue assignments below them first.
Change = compliance rate now minus at the end of the previous month, in percentage points (red: slipped).</p>
<div class="scroll">$managers</div>
</section>

<section id="expiring-soon">
<h2>Expiring in the next $expiring_days days ($expiring_count)</h2>
$expiring_table
</section>

<section id="overdue-learners">
<h2>Overdue assignments ($overdue_count assignments, $overdue_learners learners)</h2>
$overdue_reconcile
$overdue_table
</section>

<section id="load-history">
<h2>Last load per table</h2>
$runs_table
</section>
</body>
</html>
"""
