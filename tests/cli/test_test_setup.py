"""The test set-up itself: browser tests skip with the install command where Chromium is missing, the
soak tests are marked, and .gitignore keeps dlt's secrets out of git."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_browser_tests_without_chromium_are_skipped_with_the_install_command(tmp_path):
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("CHROMIUM", "LITMOS_TEST_REQUIRE_CHROMIUM", "PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS")}
    env["PATH"] = str(empty_bin)  # no chromium anywhere on PATH
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist",
         "tests/cli/test_cli_report.py::test_report_renders_in_headless_chromium"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 skipped" in proc.stdout
    assert "chromium is not installed; install it with: sudo apt-get install -y chromium" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr and "FileNotFoundError" not in proc.stdout


def test_soak_tests_are_marked_and_left_to_ci():
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "soak", "-p", "no:xdist",
                           "-p", "no:cacheprovider", "tests/source/test_kill_resume.py"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "tests/source/test_kill_resume.py::test_kill_9_mid_backfill_repeatedly_then_rerun_is_exact" in proc.stdout
    script = (ROOT / "scripts" / "test.sh").read_text()
    assert '-m "not soak"' in script and "LITMOS_TEST_ALL" in script
    assert "LITMOS_TEST_ALL=1" in (ROOT / ".ci" / "run").read_text()


def test_dlt_secrets_are_ignored_by_git():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", ".dlt/secrets.toml"], cwd=ROOT)
    assert ignored.returncode == 0
    kept = subprocess.run(["git", "check-ignore", "-q", ".dlt/config.toml"], cwd=ROOT)
    assert kept.returncode == 1  # config.toml holds no secrets and may be committed
