"""`litmos-sync demo` end to end (small org): simulator -> DuckDB -> dbt marts -> summary -> HTML report."""
from __future__ import annotations

import re
import subprocess

import pytest

from pipelines import cli, run_history
from pipelines.warehouse import open_warehouse

from .cli_report_checks import assert_rendered_report, chromium_dom


@pytest.mark.slow
@pytest.mark.browser
def test_demo_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOURCES__LITMOS__API_KEY", raising=False)  # the demo needs no key
    out_dir = tmp_path / "demo"
    code = cli.main(["demo", "--output", str(out_dir), "--scale", "200", "--history-days", "30"])
    out, err = capsys.readouterr()
    assert code == 0, err
    db = out_dir / "litmos_demo.duckdb"

    with open_warehouse("duckdb", str(db), read_only=True) as wh:
        tables = [r["table_name"] for r in wh.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'litmos_raw' "
            "AND table_name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY 1")]
        counts = {t: wh.query(f'SELECT count(*) AS n FROM litmos_raw."{t}"')[0]["n"] for t in tables}
        compliance = {r["s"]: r["n"] for r in wh.query(
            "SELECT compliance_status AS s, count(*) AS n FROM litmos_marts.fct_compliance GROUP BY 1")}
        history = run_history.history(wh, "litmos_raw")
        marts = {r["table_name"] for r in wh.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'litmos_marts'")}

    assert {"fct_course_completion", "fct_compliance", "team_compliance_summary", "dim_users", "dim_courses",
            "dim_teams"} <= marts
    assert counts["users"] == 200 and counts["course_results"] > 0 and len(counts) >= 23
    assert {r["status"] for r in history} == {"success"} and {r["dbt_status"] for r in history} == {"success"}

    # The printed summary matches the warehouse, line for line.
    for table, n in counts.items():
        assert re.search(rf"^  {table} +{n:,}$", out, re.M), table
    assert re.search(rf"^  total +{sum(counts.values()):,}$", out, re.M)
    for status, n in compliance.items():
        assert re.search(rf"^  {status} +{n:,}$", out, re.M), status
    requests = int(re.search(r"^API requests made: ([\d,]+)$", out, re.M).group(1).replace(",", ""))
    assert requests == sum(r["requests"] for r in history) + 1  # + the server-clock probe
    assert f"Report:    {out_dir / 'report.html'}" in out

    # The printed way to query the warehouse runs as printed (no duckdb CLI needed) and shows the mart.
    hint = re.search(rf"^Warehouse: {re.escape(str(db))}   \(query it: (.+)\)$", out, re.M)
    assert hint, out
    query = subprocess.run(["bash", "-c", hint.group(1)], capture_output=True, text=True, timeout=120)
    assert query.returncode == 0, query.stderr
    for column in ("team_path", "scope", "tracked_count", "compliant_count", "overdue_count", "compliance_rate"):
        assert column in query.stdout, query.stdout

    dom = chromium_dom(out_dir / "report.html")
    assert_rendered_report(dom)
    # One bar per course with a learner, one tile per status with the warehouse's count.
    assert len(re.findall(r'<g class="bar" data-course=', dom)) >= 10
    for status, n in compliance.items():
        assert f'data-status="{status}"' in dom and f"<b>{n:,}</b>" in dom
    expiring = compliance.get("expiring_soon", 0)
    assert f"Expiring in the next 30 days ({expiring:,})" in dom
    if expiring:
        table = dom.split('<table id="table-expiring">')[1].split("</table>")[0]
        assert table.count("<tr>") == min(expiring, 200) + 1  # header + rows (capped at 200)
    else:
        assert '<p class="empty" id="table-expiring-empty">Nothing expires in the next 30 days.</p>' in dom
    assert dom.count('<tr><td>') >= 10  # overdue / load history rows
