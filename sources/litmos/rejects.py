"""The ``_litmos_rejects`` table: records the API sent but that could not be decoded, kept raw.

One record with bytes that are not UTF-8 must not stop every table of every run (it would repeat on each
retry and each rerun), and must not vanish either: the fetcher quarantines it (``Fetcher.rejects``) with
where it came from, and this module loads those rows, appended, next to the data. A run with rejects
loads everything else and should end with a warning and :data:`EXIT_REJECTS`.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

import dlt
import pyarrow as pa

from .fetch import Reject

REJECTS_TABLE = "_litmos_rejects"
#: Exit status of a run that loaded everything it could but quarantined records (0 ok, 1 failed, 2 input).
EXIT_REJECTS = 3

_TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([
    pa.field("endpoint", pa.string(), nullable=False),
    pa.field("table_name", pa.string(), nullable=False),
    pa.field("window_since", _TS),
    pa.field("window_to", _TS),
    pa.field("start_offset", pa.int64(), nullable=False),
    pa.field("parent_id", pa.string()),
    pa.field("reason", pa.string(), nullable=False),
    pa.field("raw", pa.string(), nullable=False),
    pa.field("seen_at", _TS, nullable=False),
])


def rejects_table(rejects: Iterable[Reject]) -> pa.Table:
    """The rejects as rows of ``_litmos_rejects``."""
    rows = list(rejects)
    return pa.Table.from_pydict({
        "endpoint": [r.endpoint for r in rows],
        "table_name": [r.table for r in rows],
        "window_since": [r.since for r in rows],
        "window_to": [r.to for r in rows],
        "start_offset": [r.start for r in rows],
        "parent_id": [r.parent_id for r in rows],
        "reason": [r.reason for r in rows],
        "raw": [r.raw for r in rows],
        "seen_at": [r.seen_at for r in rows],
    }, schema=SCHEMA)


def rejects_resource(rejects: Iterable[Reject] | Callable[[], Iterable[Reject]],
                     ready: Callable[[], bool] | None = None) -> Any:
    """A dlt resource (append) of ``_litmos_rejects``.

    Args:
        rejects: The rejects, or a function returning them when dlt extracts (``fetcher.drain_rejects``).
        ready: Until it returns True the resource yields None (which dlt skips), so that in one
            extraction with the resources that find the rejects it drains them only after they ran.
    """

    def items() -> Iterator[pa.Table | None]:
        while ready is not None and not ready():
            yield None
        found = list(rejects() if callable(rejects) else rejects)
        if found:
            yield rejects_table(found)

    items.__name__ = items.__qualname__ = REJECTS_TABLE
    return dlt.resource(items, name=REJECTS_TABLE, table_name=REJECTS_TABLE, write_disposition="append",
                        columns={"raw": {"data_type": "text"}, "seen_at": {"data_type": "timestamp"}})


def rejects_warning(rejects: list[Reject], dataset: str = "litmos_raw") -> str:
    """The one-line warning of a run that quarantined records."""
    tables = sorted({r.table for r in rejects})
    return (f"{len(rejects)} record(s) of {', '.join(tables)} could not be decoded (not valid UTF-8) and are kept "
            f"raw in {dataset}.{REJECTS_TABLE}; everything else loaded - ask Litmos support to fix those records")
