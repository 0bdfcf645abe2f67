"""A missing orchestrator venv: skipped with the bootstrap command, failed in CI; a failed background
install fails with its log; bootstrap.sh refuses an unknown extra."""
from __future__ import annotations

import subprocess

import pytest

from tests.deploy.conftest import ROOT, orchestrator_venv


def test_missing_venv_skips_with_the_command_and_fails_in_ci(tmp_path, monkeypatch):
    monkeypatch.delenv("LITMOS_TEST_EXTRAS_BACKGROUND", raising=False)
    monkeypatch.delenv("LITMOS_TEST_ALL", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        orchestrator_venv("dagster", root=tmp_path)
    assert str(skipped.value) == ".venv-dagster is not installed; run: scripts/bootstrap.sh dagster"
    monkeypatch.setenv("LITMOS_TEST_ALL", "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        orchestrator_venv("airflow", root=tmp_path)
    assert str(failed.value) == ".venv-airflow is not installed; run: scripts/bootstrap.sh airflow"


def test_failed_background_install_fails_with_its_log(tmp_path, monkeypatch):
    monkeypatch.setenv("LITMOS_TEST_EXTRAS_BACKGROUND", "1")
    (tmp_path / ".venv-airflow.rc").write_text("1\n")
    (tmp_path / ".venv-airflow.bootstrap.log").write_text("Collecting x\nERROR: No matching distribution for x\n")
    with pytest.raises(pytest.fail.Exception) as failed:
        orchestrator_venv("airflow", root=tmp_path)
    log = tmp_path / ".venv-airflow.bootstrap.log"
    assert str(failed.value) == (f"scripts/bootstrap.sh airflow failed (exit 1); log {log}:\n"
                                 "Collecting x\nERROR: No matching distribution for x")


def test_installed_venv_is_found(tmp_path, monkeypatch):
    monkeypatch.setenv("LITMOS_TEST_EXTRAS_BACKGROUND", "1")
    (tmp_path / ".venv-dagster.rc").write_text("0\n")
    (tmp_path / ".venv-dagster" / "bin").mkdir(parents=True)
    (tmp_path / ".venv-dagster" / "bin" / "python").touch()
    (tmp_path / ".venv-dagster" / ".installed-0123456789abcdef").touch()
    assert orchestrator_venv("dagster", root=tmp_path) == tmp_path / ".venv-dagster" / "bin"


def test_bootstrap_refuses_an_unknown_extra():
    done = subprocess.run(["bash", str(ROOT / "scripts" / "bootstrap.sh"), "prefect"], capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (
        2, "bootstrap: unknown extra 'prefect'; use no argument (core), dagster or airflow\n")


def test_lock_files_pin_every_package_on_top_of_the_core():
    core = _pins(ROOT / "requirements.lock")
    for extra, package in (("dagster", "dagster-dlt"), ("airflow", "apache-airflow")):
        pins = _pins(ROOT / f"requirements-{extra}.lock")
        assert core.items() <= pins.items(), extra  # the same core versions as .venv
        assert package in pins


def _pins(path):
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    assert all("==" in line for line in lines), path
    return dict(line.split("==", 1) for line in lines)
