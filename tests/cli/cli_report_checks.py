"""Shared checks for the HTML report tests: render in headless Chromium, assert charts and tables."""
from __future__ import annotations

import re
import subprocess

from tests.conftest import chromium_path


def chromium_dom(path) -> str:
    """The DOM of a local HTML file after headless Chromium rendered it."""
    exe = chromium_path()
    assert exe, "chromium is not installed (browser tests are skipped without it; see tests/conftest.py)"
    proc = subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--user-data-dir=" + str(path.parent / ".chromium"), "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=90,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def assert_rendered_report(dom: str) -> None:
    """Charts and tables exist in the rendered DOM and carry data."""
    assert '<svg class="chart" id="chart-completion"' in dom
    assert '<svg class="chart" id="chart-team-compliance"' in dom
    assert len(re.findall(r'<g class="bar" data-course=', dom)) >= 1
    assert len(re.findall(r'<rect class="seg-', dom)) >= 1
    assert '<table id="table-completion">' in dom
