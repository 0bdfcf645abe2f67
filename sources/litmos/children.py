"""The child endpoints: collections -> listings -> their users and teams, modules -> module details;
each a chain task submitting the child requests once the parent's pages are in."""
from __future__ import annotations

import threading
from concurrent.futures import Executor, Future

import pyarrow as pa
import pyarrow.compute as pc

from .fetch import Fetcher
from .settings import ELEARNING_MODULE_TYPES, ENDPOINTS
from .state import COLLECTION_FAMILY


def fetch_collection_family(fetcher: Fetcher, pool: Executor, wanted: set[str]) -> dict[str, list[pa.Table]]:
    """Collections, then their listings, then each listing's users and teams (full refresh)."""
    out: dict[str, list[pa.Table]] = {t: [] for t in COLLECTION_FAMILY}
    out["collections"] = pool.submit(fetcher.fetch_window, ENDPOINTS["collections"], None).result()
    if wanted & set(COLLECTION_FAMILY[1:]):
        _fetch_children(fetcher, pool, ["collection_listings"], ids(out["collections"]), out)
        _fetch_children(fetcher, pool, [t for t in COLLECTION_FAMILY[2:] if t in wanted],
                        ids(out["collection_listings"]), out)
    return out


def _fetch_children(fetcher: Fetcher, pool: Executor, tables: list[str], parent_ids: list[str],
                    out: dict[str, list[pa.Table]]) -> None:
    """Reads each of ``tables`` for every parent id (one window each) into ``out``."""
    for table in tables:
        fetcher.stats.count(table, windows_total=len(parent_ids))
    futures = [(t, pool.submit(fetcher.fetch_window, ENDPOINTS[t], None, i, len(parent_ids), None, parent))
               for t in tables for i, parent in enumerate(parent_ids)]
    for table, future in futures:
        out[table].extend(future.result())


class ModuleDetails:
    """GET /modules/{id} for every SCORM/Tin Can module seen in a batch's module pages, once per run."""

    def __init__(self, fetcher: Fetcher, pool: Executor) -> None:
        self.fetcher = fetcher
        self.pool = pool
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def fetch(self, module_futures: list[Future]) -> list[pa.Table]:
        """Waits for the modules windows, then reads the details of the e-learning modules new to the run."""
        new: list[str] = []
        for future in module_futures:
            for table in future.result():
                for module_id in elearning_ids(table):
                    with self._lock:
                        if module_id in self._seen:
                            continue
                        self._seen.add(module_id)
                    new.append(module_id)
        endpoint = ENDPOINTS["module_details"]
        futures = [self.pool.submit(self.fetcher.fetch_detail, endpoint, i) for i in new]
        return [t for t in (f.result() for f in futures) if t is not None and t.num_rows]


def ids(tables: list[pa.Table], column: str = "id") -> list[str]:
    """The distinct non-empty values of ``column`` in ``tables``, in order of appearance."""
    seen: dict[str, None] = {}
    for table in tables:
        for value in table.column(column).to_pylist():
            if value:
                seen.setdefault(value, None)
    return list(seen)


def elearning_ids(table: pa.Table) -> list[str]:
    """Ids of the SCORM/Tin Can modules in a page of modules (the only ones with details)."""
    if table.num_rows == 0 or "module_type" not in table.column_names:
        return []
    kind = pc.utf8_lower(pc.replace_substring(table.column("module_type"), " ", ""))
    mask = pc.fill_null(pc.is_in(kind, value_set=pa.array(sorted(ELEARNING_MODULE_TYPES))), False)
    return [v for v in table.filter(mask).column("id").to_pylist() if v]
