"""What a run did, per resource: one thread-safe :class:`RunStats` that the fetchers, the client and
the sync count into (shown by the progress output, stored in ``_litmos_sync_runs``)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

COUNTS = ("windows_total", "windows_done", "pages", "requests", "retries", "rows")


@dataclass
class ResourceStats:
    """One resource in one run."""

    windows_total: int = 0
    windows_done: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    rows: int = 0
    cursor_before: datetime | None = None
    cursor_after: datetime | None = None
    skipped: bool = False  # a collection-family table not due for its full read (collection_refresh_days)
    first_start: float | None = field(default=None, repr=False)  # time.monotonic() of its first request
    last_end: float | None = field(default=None, repr=False)  # ... and of the end of its last window

    @property
    def duration_s(self) -> float:
        if self.first_start is None or self.last_end is None:
            return 0.0
        return round(self.last_end - self.first_start, 3)


@dataclass
class RunStats:
    """:class:`ResourceStats` per table, updated from many threads."""

    resources: dict[str, ResourceStats] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __getitem__(self, table: str) -> ResourceStats:
        with self._lock:
            return self.resources.setdefault(table, ResourceStats())

    def count(self, table: str, **increments: int) -> None:
        """Adds to ``table``'s counts, e.g. ``count("users", requests=2, retries=1)``."""
        with self._lock:
            stats = self.resources.setdefault(table, ResourceStats())
            for name, value in increments.items():
                setattr(stats, name, getattr(stats, name) + value)

    def started(self, table: str) -> None:
        """Marks ``table``'s first request (later calls keep the first)."""
        with self._lock:
            stats = self.resources.setdefault(table, ResourceStats())
            if stats.first_start is None:
                stats.first_start = time.monotonic()

    def finished(self, table: str, pages: int, rows: int, windows: int = 1) -> None:
        """Counts one finished window of ``table`` (``windows=0``: an object read outside any window)."""
        with self._lock:
            stats = self.resources.setdefault(table, ResourceStats())
            stats.windows_done += windows
            stats.pages += pages
            stats.rows += rows
            stats.last_end = time.monotonic()

    def total(self, name: str) -> int:
        """The sum of one count (``requests``, ``rows``...) over every table."""
        with self._lock:
            return sum(getattr(s, name) for s in self.resources.values())

    @property
    def requests_total(self) -> int:
        return self.total("requests")

    @property
    def retries_total(self) -> int:
        return self.total("retries")
