"""docs/benchmarks.md's current table can be followed: each command names a real benchmark and real
options, each row links a run file that exists, and the run files are named as the harness writes them."""
from __future__ import annotations

import re
from pathlib import Path

from bench import BENCHMARKS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "benchmarks.md"
RUN_FILE = re.compile(r"\d{4}-\d\d-\d\d-\d{4}-[a-z0-9-]+\.md")


def _table(section: str) -> list[list[str]]:
    """The rows (cells) of the first table under ``## section``."""
    text = DOC.read_text().split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def _options(module_file: Path) -> set[str]:
    return set(re.findall(r"add_argument\(\s*\"(--[a-z0-9-]+)\"", module_file.read_text()))


def test_current_commands_name_real_benchmarks_and_options():
    rows = _table("Current figures")
    assert len(rows) >= 9
    for row in rows:
        commands = re.findall(r"`([^`]+)`", row[4])
        assert commands, row
        module_file = None
        for command in commands:
            words = command.split()
            if words[:2] == [".venv/bin/python", "bench/bench_simulator.py"]:
                module_file = ROOT / "bench" / "bench_simulator.py"
            elif words[:3] == [".venv/bin/python", "-m", "bench"]:
                assert words[3] in BENCHMARKS, command
                module_file = ROOT / (BENCHMARKS[words[3]].replace(".", "/") + ".py")
            else:  # "(and `--option value`)": more options of the command before
                assert module_file and words[0].startswith("--"), f"not a benchmark command: {command}"
            unknown = {w for w in words if w.startswith("--")} - _options(module_file)
            assert not unknown, f"{command}: {module_file.name} has no {sorted(unknown)}"


def test_every_row_links_an_existing_run_file():
    for row in _table("Current figures"):
        (link,) = re.findall(r"\]\((benchmarks/[^)]+)\)", row[5])
        assert RUN_FILE.fullmatch(Path(link).name) and (ROOT / "docs" / link).is_file(), link


def test_run_files_are_dated_entries():
    files = sorted((ROOT / "docs" / "benchmarks").iterdir())
    assert files
    for path in files:
        assert RUN_FILE.fullmatch(path.name), path.name
        assert path.read_text().startswith("# "), path.name


def test_issue_14_table_has_the_five_measurements_before_and_after():
    text = DOC.read_text().split("\n## Issue 14: before and after\n", 1)[1]
    assert "| measurement | command | before | after | change |" in text.split("\n## ", 1)[0]
    rows = _table("Issue 14: before and after")
    assert len(rows) == 5 and all(len(row) == 5 for row in rows)
    assert {"requests", "backfill", "nightly", "rows/s", "RSS"} == {
        word for row in rows for word in ("requests", "backfill", "nightly", "rows/s", "RSS") if word in row[0]}
