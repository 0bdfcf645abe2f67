"""The ``_litmos_rejects`` table: records the API sent that are not valid UTF-8, kept raw, so that one
neither stops every run nor vanishes; the run loads the rest and ends with :data:`EXIT_REJECTS`."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

import dlt
import pyarrow as pa

from .fetch import Reject

REJECTS_TABLE = "_litmos_rejects"
#: Exit status of a run that loaded everything it could but quarantined records (0 ok, 1 failed, 2 input).
EXIT_REJECTS = 3

_TS = pa.timestamp("us", tz="UTC")
_COLUMNS = (  # (column, Reject attribute, type, nullable)
    ("endpoint", "endpoint", pa.string(), False),
    ("table_name", "table", pa.string(), False),
    ("window_since", "since", _TS, True),
    ("window_to", "to", _TS, True),
    ("start_offset", "start", pa.int64(), False),
    ("parent_id", "parent_id", pa.string(), True),
    ("reason", "reason", pa.string(), False),
    ("raw", "raw", pa.string(), False),
    ("seen_at", "seen_at", _TS, False),
)
SCHEMA = pa.schema([pa.field(name, kind, nullable=nullable) for name, _, kind, nullable in _COLUMNS])


def rejects_table(rejects: Iterable[Reject]) -> pa.Table:
    rows = list(rejects)
    return pa.Table.from_pydict({name: [getattr(r, attr) for r in rows] for name, attr, _, _ in _COLUMNS},
                                schema=SCHEMA)


def rejects_resource(rejects: Iterable[Reject] | Callable[[], Iterable[Reject]],
                     ready: Callable[[], bool] | None = None) -> Any:
    """A dlt resource (append) of ``_litmos_rejects``: ``rejects`` (or a function returning them), read
    once ``ready()`` (None yields until then: after the resources of the extraction that find them)."""

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
