"""The page skeleton of the HTML report (a `string.Template`: `$name` placeholders).

Kept as a Python string rather than a data file so that a plain `pip install .` (the Docker image)
ships it without package-data configuration.
"""

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
</style>
</head>
<body>
<h1>Litmos completion and compliance</h1>
<p class="meta">Generated $generated$source.$tenants $totals</p>

<section id="compliance-status">
<h2>Compliance by status</h2>
<div class="tiles">$status_tiles</div>
</section>

<section id="completion-by-course">
<h2>Completion rate by course</h2>
$completion_chart
<details><summary>All courses</summary>$completion_table</details>
</section>

<section id="compliance-by-team">
<h2>Compliance status by team</h2>
$team_chart
</section>

<section id="expiring-soon">
<h2>Expiring in the next 30 days ($expiring_count)</h2>
$expiring_table
</section>

<section id="overdue-learners">
<h2>Overdue learners ($overdue_count)</h2>
$overdue_table
</section>

<section id="load-history">
<h2>Last load per table</h2>
$runs_table
</section>
</body>
</html>
"""
