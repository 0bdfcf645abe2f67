"""Quarantined records land in ``_litmos_rejects`` (raw, with where they came from)."""
from __future__ import annotations

from datetime import datetime, timezone

import dlt
import duckdb

from sources.litmos.fetch import Reject
from sources.litmos.rejects import EXIT_REJECTS, rejects_resource, rejects_warning

UTC = timezone.utc
SEEN = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)
REJECTS = [
    Reject("/org/users/details", "users", datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 8, tzinfo=UTC), 1000,
           None, "invalid UTF-8 at byte 36 of the record (0xff: invalid start byte)",
           "<User><Id>u2</Id><FirstName>B\\xffo</FirstName></User>", SEEN),
    Reject("/collectionlistings/l1/users", "collection_listing_users", None, None, 0, "l1", "invalid UTF-8", "{}", SEEN),
]


def test_rejects_load_raw_with_endpoint_window_offset_and_reason(tmp_path):
    pipeline = dlt.pipeline("rejects_test", destination=dlt.destinations.duckdb(str(tmp_path / "r.duckdb")),
                            dataset_name="litmos_raw", pipelines_dir=str(tmp_path / "p"))
    pending = list(REJECTS)
    calls = {"ready": 0}

    def ready() -> bool:  # the resources that find rejects run first in the same extraction
        calls["ready"] += 1
        return calls["ready"] > 3

    pipeline.run(rejects_resource(lambda: [pending.pop(0) for _ in range(len(pending))], ready=ready))
    pipeline.run(rejects_resource([]))  # nothing to add: no rows, no error
    rows = duckdb.connect(str(tmp_path / "r.duckdb")).sql(
        "select endpoint, table_name, window_since, window_to, start_offset, parent_id, reason, raw, seen_at "
        "from litmos_raw._litmos_rejects order by start_offset desc").fetchall()
    assert [r[:2] + r[4:8] for r in rows] == [
        ("/org/users/details", "users", 1000, None, "invalid UTF-8 at byte 36 of the record (0xff: invalid start byte)",
         "<User><Id>u2</Id><FirstName>B\\xffo</FirstName></User>"),
        ("/collectionlistings/l1/users", "collection_listing_users", 0, "l1", "invalid UTF-8", "{}")]
    assert rows[0][2].astimezone(UTC) == datetime(2025, 3, 1, tzinfo=UTC) and rows[1][2] is None
    assert rows[0][8].astimezone(UTC) == SEEN
    assert calls["ready"] == 4 and pending == []


def test_rejects_warning_and_exit_status():
    assert rejects_warning(REJECTS) == (
        "2 record(s) of collection_listing_users, users could not be decoded (not valid UTF-8) and are kept raw in "
        "litmos_raw._litmos_rejects; everything else loaded - ask Litmos support to fix those records")
    assert EXIT_REJECTS == 3
