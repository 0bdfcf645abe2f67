"""A server that sends no Date header and a client clock 400 days ahead: once, cursors moved to the
client's future and every later run read nothing. The local clock now only stands in for the server's
when it has to, and a cursor never passes the newest change read."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb
import pytest

import sources.litmos as source_pkg
from litmos_sim import SimConfig, run_simulator
from litmos_sim import server as sim_server
from pipelines.sync import read_cursors, sync
from .truth import diff_all

UTC = timezone.utc
NOW = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)


def _no_date(self, code, message=None):
    self.log_request(code)
    self.send_response_only(code, message)
    self.send_header("Server", self.version_string())


class _Ahead(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + timedelta(days=400)


@pytest.fixture
def no_date_header(monkeypatch):
    monkeypatch.setattr(sim_server._Handler, "send_response", _no_date)


def test_without_a_date_header_a_clock_ahead_moves_no_cursor_past_the_data(tmp_path, monkeypatch, no_date_header):
    local_now = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)  # advanced 2 days: still past
    cfg = SimConfig(seed=41, scale=200, api_key="k", history_days=40, now=local_now)
    db, state = str(tmp_path / "w.duckdb"), str(tmp_path / "state")
    args = dict(credentials=db, api_key="k", requests_per_minute=0, state_dir=state,
                start_date=(local_now - timedelta(days=40)).date().isoformat())
    with run_simulator(cfg) as sim:
        monkeypatch.setattr(source_pkg, "datetime", _Ahead)  # the probe's fallback: the local clock
        sync(base_url=sim.base_url, **args)
        cursors = read_cursors(state)
        assert max(c for c in cursors.values() if c) <= sim.now()  # never the client's future
        monkeypatch.setattr(source_pkg, "datetime", datetime)
        sim.advance(timedelta(days=2), activity=True)
        sync(base_url=sim.base_url, **args)  # a later normal run reads what changed meanwhile
        with duckdb.connect(db, read_only=True) as con:
            assert diff_all(sim, con) == []
