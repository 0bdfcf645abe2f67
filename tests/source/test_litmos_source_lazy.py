"""`litmos_source(...)` is lazy: building it (as Airflow/Dagster do at DAG-parse time) makes no request and
starts no thread; the work happens while dlt extracts, and every pool is shut down when extraction ends."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import dlt
import duckdb
import pytest
import requests
from dlt.pipeline.exceptions import PipelineStepFailed

from litmos_sim import SimConfig, run_simulator
from sources.litmos import litmos_source
from sources.litmos.exceptions import LitmosAuthError, LitmosConfigError
from .truth import diff_all

UTC = timezone.utc
SIM_NOW = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
START = "2025-12-20"  # before the org's 20 days of history: the whole org is the truth
TABLES = ["teams", "users"]


@pytest.fixture(autouse=True)
def no_telemetry(monkeypatch):
    # dlt's anonymous-usage tracker is a non-daemon thread of its own; keep it out of the thread checks.
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


@pytest.fixture(scope="module")
def sim():
    with run_simulator(SimConfig(seed=1, scale=200, api_key="k", history_days=20, now=SIM_NOW)) as s:
        yield s


def _source(sim, **kw):
    args = dict(api_key="k", base_url=sim.base_url, source_name="t", resources=TABLES, start_date=START,
                requests_per_minute=0)
    args.update(kw)
    return litmos_source(**args)


def _pipeline(tmp_path, name="lazy"):
    return dlt.pipeline(name, pipelines_dir=str(tmp_path / "state"),
                        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                        dataset_name="litmos_raw")


def _new_threads(before: set[threading.Thread]) -> list[str]:
    """Live threads started since ``before`` that would keep the interpreter alive or are ours."""
    return sorted(t.name for t in threading.enumerate()
                  if t not in before and t.is_alive() and (not t.daemon or t.name.startswith("litmos")))


def _windows(sim) -> set[tuple[str, str, str]]:
    """(path, since, to) of the windowed /org requests after the clock probe (the first request)."""
    return {(r.path, r.params["since"], r.params["to"]) for r in sim.requests()[1:] if r.path.startswith("/org/")}


def test_building_the_source_makes_no_request_and_starts_no_thread(sim):
    sim.clear_requests()
    before = set(threading.enumerate())
    source = _source(sim, resources=None)
    # An unreachable host is fine too: nothing is contacted before extraction.
    litmos_source(api_key="k", base_url="http://127.0.0.1:9/v1.svc", start_date=START)
    assert sim.requests() == []
    assert _new_threads(before) == []
    assert [t for t in threading.enumerate() if t not in before] == []
    # dlt still knows every resource and its hints up front.
    teams = source.resources["teams"]
    assert "team_learning_paths" in source.resources and "module_details" in source.resources
    assert teams.table_name == "teams"
    assert teams.write_disposition == {"disposition": "merge", "strategy": "delete-insert"}
    schema = teams.compute_table_schema()
    assert schema["columns"]["id"]["primary_key"] is True
    assert schema["columns"]["updated_date"]["dedup_sort"] == "desc"
    assert source.resources["collections"].write_disposition == "replace"
    assert sim.requests() == []


@pytest.mark.parametrize("kw, message", [
    (dict(resources=["teams", "nope"]), "unknown resource 'nope'"),
    (dict(start_date="2025-13-45"), "bad start_date '2025-13-45'"),
    (dict(start_date="2026-01-10", end_date="2026-01-01"), "bad end_date 2026-01-01"),
    (dict(api_key=""), "no Litmos API key"),
    (dict(base_url="ftp://example.com"), "bad base_url 'ftp://example.com'"),
])
def test_bad_arguments_still_fail_when_the_source_is_built(sim, kw, message):
    sim.clear_requests()
    with pytest.raises(LitmosConfigError, match=message) as info:
        _source(sim, **kw)
    assert "\n" not in str(info.value)
    assert sim.requests() == []


class _TrackedSession(requests.Session):
    made: list["_TrackedSession"] = []

    def __init__(self) -> None:
        super().__init__()
        self.closed = False
        _TrackedSession.made.append(self)

    def close(self) -> None:
        self.closed = True
        super().close()


def test_run_loads_the_truth_then_rereads_only_the_lookback(sim, tmp_path, monkeypatch):
    monkeypatch.setattr(requests, "Session", _TrackedSession)
    _TrackedSession.made.clear()
    sim.clear_requests()
    before = set(threading.enumerate())
    pipeline = _pipeline(tmp_path)
    source = _source(sim)  # kept alive: idle pools must be shut down, not just garbage-collected
    pipeline.run(source)
    assert _new_threads(before) == []

    conn = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        assert diff_all(sim, conn, tables=TABLES) == []
        ids = {r[0] for r in conn.execute("select id from litmos_raw.teams").fetchall()}
    finally:
        conn.close()
    assert ids == {r["Id"] for r in sim.ground_truth("/org/teams")} and ids
    first = _windows(sim)
    assert {p for p, _, _ in first} == {"/org/teams", "/org/users/details"}
    assert min(since for _, since, _ in first) == "2025-12-20 00:00:00"
    # Every HTTP session of the run (probe thread and pool threads) is closed when extraction ends.
    assert _TrackedSession.made and all(s.closed for s in _TrackedSession.made)
    cursors = pipeline.state["sources"]["litmos"]["cursors"]
    assert cursors == {"teams": SIM_NOW.isoformat(), "users": SIM_NOW.isoformat()}

    # A new source instance reads the cursors from the state inside extraction: only the lookback day
    # before the cursor (floored to the day) up to tomorrow is read again.
    sim.clear_requests()
    source = _source(sim)
    pipeline.run(source)
    assert _windows(sim) == {("/org/teams", "2026-01-14 00:00:00", "2026-01-16 00:00:00"),
                             ("/org/users/details", "2026-01-14 00:00:00", "2026-01-16 00:00:00")}
    assert _new_threads(before) == []
    conn = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        assert diff_all(sim, conn, tables=TABLES) == []
    finally:
        conn.close()


def test_only_the_resources_dlt_extracts_are_fetched(sim, tmp_path):
    sim.clear_requests()
    before = set(threading.enumerate())
    source = _source(sim).with_resources("teams")
    _pipeline(tmp_path).run(source)
    assert {r.path for r in sim.requests()} == {"/org/teams"}
    assert _new_threads(before) == []


def test_a_failing_extraction_still_shuts_everything_down(sim, tmp_path):
    sim.clear_requests()
    before = set(threading.enumerate())
    source = _source(sim, api_key="wrong-key")
    assert sim.requests() == []
    with pytest.raises(PipelineStepFailed) as info:
        _pipeline(tmp_path).run(source)
    assert _has(info.value, LitmosAuthError)
    assert len(sim.requests()) == 1  # the probe, which checks the key before anything is planned
    assert _new_threads(before) == []


def _has(exc: BaseException, kind: type) -> bool:
    seen, stack = set(), [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        stack += [current.__cause__, current.__context__, getattr(current, "exception", None)]
    return False


def test_every_resource_through_plain_dlt(sim, tmp_path):
    """Collections (chained), achievements (since) and module details (follow modules) run lazily too."""
    sim.clear_requests()
    before = set(threading.enumerate())
    pipeline = _pipeline(tmp_path, "lazy_all")
    source = _source(sim, resources=None)
    pipeline.run(source)
    assert _new_threads(before) == []
    conn = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        assert diff_all(sim, conn) == []
    finally:
        conn.close()
