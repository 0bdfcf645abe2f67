"""Compact record store: rows as lists, a lazily rebuilt (ts, key) order with bisect windows, row caches."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from typing import Callable

# Rendered rows are cached; beyond this many entries per table the cache is dropped and refilled
# (bounded memory at 100k-user scale, still warm for the pages being read).
CACHE_LIMIT = 400_000


class Table:
    """Rows of one endpoint, ordered by (ts, key) for date-window paging.

    Args:
        name: Table name (for messages).
        ts_of: Row -> epoch ms used for windows (None rows sort first and match no window).
        key_of: Row -> tuple key (tie-break of the order, and the record key).
    """

    def __init__(self, name: str, ts_of: Callable[[list], int | None], key_of: Callable[[list], tuple],
                 ts_index: int | None = None):
        self.name = name
        self.ts_index = ts_index  # fast path when ts is one stored field with no fallback
        self.rows: list[list] = []
        self.ts_of = ts_of
        self.key_of = key_of
        self._order: list[int] = []
        self._ts: list[int] = []
        self._dirty = True
        self.caches: dict[str, dict[int, str]] = {"xml": {}, "json": {}}

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, row: list) -> int:
        """Append a row; returns its index."""
        self.rows.append(row)
        self._dirty = True
        return len(self.rows) - 1

    def touch(self, idx: int) -> None:
        """Mark row `idx` changed: drop its rendered forms, reorder lazily."""
        for cache in self.caches.values():
            cache.pop(idx, None)
        self._dirty = True

    def invalidate_all(self) -> None:
        """Drop every cached rendering (used when rows depend on other tables, e.g. logins)."""
        for cache in self.caches.values():
            cache.clear()
        self._dirty = True

    def _rebuild(self) -> None:
        sentinel = -(1 << 62)
        if self.ts_index is not None:
            k = self.ts_index
            ts = [r[k] for r in self.rows]
        else:
            ts = [self.ts_of(r) for r in self.rows]
        if None in ts:
            ts = [sentinel if t is None else t for t in ts]
        # Sort plain ints (ts shifted left, row index in the low bits): much faster than a key function.
        n = len(ts)
        bits = max(1, n.bit_length())
        offset = -min(ts) if ts else 0  # keep values non-negative so the packing preserves order
        packed = sorted([((t + offset) << bits) | i for i, t in enumerate(ts)])
        mask = (1 << bits) - 1
        order = [v & mask for v in packed]
        sorted_ts = [(v >> bits) - offset for v in packed]
        del packed
        # Ties on ts (e.g. rows at exactly 00:00:00) are ordered by key so the order is total and stable.
        # Counter finds the tied values in C; only their groups are re-sorted in Python.
        rows, key_of = self.rows, self.key_of
        tied = [t for t, c in Counter(ts).items() if c > 1] if len(ts) > 1 else []
        for t in tied:
            i, j = bisect_left(sorted_ts, t), bisect_right(sorted_ts, t)
            order[i:j] = sorted(order[i:j], key=lambda r: key_of(rows[r]))
        self._order, self._ts, self._dirty = order, sorted_ts, False

    def window(self, lo_ms: int, hi_ms: int, hi_inclusive: bool) -> tuple[list[int], int, int]:
        """Positions [a, b) in the ordered index whose ts lies in the window; returns (order, a, b)."""
        if self._dirty:
            self._rebuild()
        a = bisect_left(self._ts, lo_ms)
        b = bisect_right(self._ts, hi_ms) if hi_inclusive else bisect_left(self._ts, hi_ms)
        return self._order, a, max(a, b)

    def ordered(self) -> list[int]:
        """All row indexes in (ts, key) order."""
        if self._dirty:
            self._rebuild()
        return self._order

    def cache(self, fmt: str) -> dict[int, str]:
        """Render cache of one format, emptied when it grows past CACHE_LIMIT."""
        cache = self.caches[fmt]
        if len(cache) > CACHE_LIMIT:
            cache.clear()
        return cache
