"""Progress events passed to ``sync(on_event=...)``, one at a time; handlers must be cheap (fetch path)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class WindowStarted:
    """A resource began reading one since/to window (or a full-refresh list when since is None)."""

    resource: str
    since: datetime | None
    to: datetime | None
    index: int
    total: int


@dataclass(frozen=True)
class WindowDone:
    """A window was read completely."""

    resource: str
    since: datetime | None
    to: datetime | None
    rows: int
    pages: int
    index: int
    total: int


@dataclass(frozen=True)
class PageFetched:
    """One page arrived and was parsed."""

    resource: str
    start: int
    rows: int


@dataclass(frozen=True)
class RateWait:
    """A request waited for the shared rate budget."""

    resource: str
    seconds: float


@dataclass(frozen=True)
class RequestRetried:
    """A transient failure; the request is retried after ``delay_s``."""

    resource: str
    path: str
    attempt: int
    reason: str
    delay_s: float


@dataclass(frozen=True)
class BatchCommitted:
    """A batch of windows was loaded; data and cursors are committed together."""

    index: int
    total: int
    rows: int
    cursors: dict[str, datetime | None]
