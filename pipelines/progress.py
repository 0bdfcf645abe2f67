"""Progress of a run, fed by `sync(on_event=...)`: per-resource counters plus three ways to show them.

- `TtyBars`: one redrawn bar per resource on an interactive terminal (windows done/total, rows,
  requests, time spent waiting for the rate budget).
- `TextLines`: plain log lines when stderr is not a terminal (one per finished resource, so a cron log
  of a year-long backfill stays readable).
- `JsonLines`: one JSON object per event for schedulers (`--log-format json`).
`--quiet` shows none of them.

The tracker is tolerant of the event shape (dict or object, cumulative counters) because it sits on a
contract owned by the sync core; unknown keys are carried along, never an error.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Callable

_COUNTERS = ("windows_total", "windows_done", "pages", "requests", "retries", "rows")
_EVENT_NAME_KEYS = ("event", "type", "kind", "name")


@dataclass
class ResourceProgress:
    """Counters of one resource during the current run (cumulative)."""

    resource: str
    status: str = "pending"
    windows_total: int = 0
    windows_done: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    rows: int = 0
    rate_wait_s: float = 0.0
    started: float | None = None
    finished: float | None = None
    error: str | None = None

    @property
    def duration_s(self) -> float | None:
        """Seconds between the first and the last event of this resource."""
        if self.started is None:
            return None
        return round((self.finished or time.monotonic()) - self.started, 3)


def event_fields(event: Any) -> dict[str, Any]:
    """Return an event as a plain dict whatever its type (dict, dataclass, object with attributes)."""
    if isinstance(event, dict):
        return dict(event)
    if hasattr(event, "__dataclass_fields__"):
        return asdict(event)
    if hasattr(event, "_asdict"):
        return dict(event._asdict())
    return {k: v for k, v in vars(event).items() if not k.startswith("_")} if hasattr(event, "__dict__") else {
        "event": str(event)}


def event_name(fields_: dict[str, Any]) -> str:
    """The event's kind, e.g. `window_done`, from whichever key the producer used."""
    for key in _EVENT_NAME_KEYS:
        value = fields_.get(key)
        if isinstance(value, str) and value:
            return value
    return "event"


class ProgressTracker:
    """Callable passed as `on_event`; keeps per-resource counters and notifies one renderer.

    Args:
        renderer: Object with `update(tracker, resource, event)` and `close(tracker)`, or None.
        resources: Resource names known up front (so bars appear in a stable order).
    """

    def __init__(self, renderer: Any = None, resources: list[str] | None = None) -> None:
        self.renderer = renderer
        self.resources: dict[str, ResourceProgress] = {r: ResourceProgress(r) for r in resources or []}
        self.rate_wait_s = 0.0
        self.events = 0
        self._lock = threading.Lock()  # the source may fetch resources from worker threads

    def __call__(self, event: Any) -> None:
        fields_ = event_fields(event)
        name = event_name(fields_)
        resource = fields_.get("resource") or fields_.get("table")
        with self._lock:
            self.events += 1
            state = None
            if isinstance(resource, str) and resource:
                state = self.resources.setdefault(resource, ResourceProgress(resource))
                self._apply(state, name, fields_)
            wait = fields_.get("rate_wait_seconds", fields_.get("wait_s"))
            if isinstance(wait, (int, float)) and "rate" in name:
                self.rate_wait_s += float(wait)
                if state is not None:
                    state.rate_wait_s += float(wait)
            elif isinstance(wait, (int, float)) and state is None:
                self.rate_wait_s = max(self.rate_wait_s, float(wait))
            if self.renderer is not None:
                try:
                    self.renderer.update(self, state, name, fields_)
                except Exception:  # progress must never break a load
                    pass

    @staticmethod
    def _apply(state: ResourceProgress, name: str, fields_: dict[str, Any]) -> None:
        now = time.monotonic()
        if state.started is None:
            state.started = now
        for counter in _COUNTERS:
            value = fields_.get(counter)
            if isinstance(value, int) and not isinstance(value, bool):
                # Counters are cumulative in the sync's events; never let a late event move one back.
                setattr(state, counter, max(getattr(state, counter), value))
        lowered = name.lower()
        if "error" in lowered or "fail" in lowered:
            state.status = "failed"
            state.error = str(fields_.get("error") or fields_.get("message") or name)
            state.finished = now
        elif lowered.endswith(("resource_done", "resource_end", "resource_finished", "finished", "done_resource")):
            state.status = "done"
            state.finished = now
        elif state.status == "pending":
            state.status = "running"

    def close(self) -> None:
        """Tell the renderer the run is over (final redraw)."""
        if self.renderer is not None:
            try:
                self.renderer.close(self)
            except Exception:
                pass


def _bar(done: int, total: int, width: int = 20) -> str:
    if total <= 0:
        return "[" + "." * width + "]"
    filled = min(width, int(width * done / total))
    return "[" + "#" * filled + "." * (width - filled) + "]"


def format_resource_line(state: ResourceProgress, name_width: int = 26) -> str:
    """One human line for a resource, e.g. `users  [#####.....] 3/12 windows  1,204 rows  15 req`."""
    windows = f"{state.windows_done}/{state.windows_total or '?'} windows"
    parts = [
        f"{state.resource:<{name_width}}",
        _bar(state.windows_done, state.windows_total),
        f"{windows:>13}",
        f"{state.rows:>9,} rows",
        f"{state.requests:>6,} req",
    ]
    if state.retries:
        parts.append(f"{state.retries} retries")
    if state.rate_wait_s >= 0.05:
        parts.append(f"waited {state.rate_wait_s:.1f}s")
    if state.status == "failed":
        parts.append("FAILED")
    elif state.status == "done":
        parts.append("done")
    return "  ".join(parts)


class TtyBars:
    """Redraws a block of bars (one per resource) in place on a terminal, at most 10 times a second."""

    def __init__(self, stream: IO[str] | None = None, min_interval_s: float = 0.1) -> None:
        self.stream = stream or sys.stderr
        self.min_interval_s = min_interval_s
        self._lines_drawn = 0
        self._last = 0.0

    def update(self, tracker: ProgressTracker, state: ResourceProgress | None, name: str,
               fields_: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - self._last < self.min_interval_s and not (state and state.status in ("done", "failed")):
            return
        self._last = now
        self._draw(tracker)

    def _draw(self, tracker: ProgressTracker) -> None:
        states = [s for s in tracker.resources.values() if s.status != "pending"]
        lines = [format_resource_line(s) for s in states]
        if tracker.rate_wait_s >= 0.05:
            lines.append(f"waiting for the rate budget so far: {tracker.rate_wait_s:.1f}s")
        out = []
        if self._lines_drawn:
            out.append(f"\x1b[{self._lines_drawn}F")  # cursor up to the first bar line
        out.extend(f"\x1b[2K{line}\n" for line in lines)
        self.stream.write("".join(out))
        self.stream.flush()
        self._lines_drawn = len(lines)

    def close(self, tracker: ProgressTracker) -> None:
        self._draw(tracker)


class TextLines:
    """One line per resource when it finishes or fails; for logs that are not a terminal."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit

    def update(self, tracker: ProgressTracker, state: ResourceProgress | None, name: str,
               fields_: dict[str, Any]) -> None:
        if state is not None and state.status in ("done", "failed") and not getattr(state, "_reported", False):
            state._reported = True  # type: ignore[attr-defined]
            self.emit(format_resource_line(state))

    def close(self, tracker: ProgressTracker) -> None:
        pass


class JsonLines:
    """Writes every event as one JSON object per line (`{"event": ..., "resource": ..., counters}`)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr

    def update(self, tracker: ProgressTracker, state: ResourceProgress | None, name: str,
               fields_: dict[str, Any]) -> None:
        doc: dict[str, Any] = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": name}
        doc.update({k: v for k, v in fields_.items() if k not in _EVENT_NAME_KEYS})
        if state is not None:
            doc.update({c: getattr(state, c) for c in _COUNTERS})
            doc["status"] = state.status
        self.stream.write(json.dumps(doc, default=str) + "\n")
        self.stream.flush()

    def close(self, tracker: ProgressTracker) -> None:
        pass


def make_renderer(quiet: bool, log_format: str, stream: IO[str] | None = None,
                  emit: Callable[[str], None] | None = None) -> Any:
    """Pick the renderer for the CLI options and whether stderr is a terminal."""
    stream = stream or sys.stderr
    if quiet:
        return None
    if log_format == "json":
        return JsonLines(stream)
    if hasattr(stream, "isatty") and stream.isatty():
        return TtyBars(stream)
    return TextLines(emit or (lambda line: print(line, file=stream, flush=True)))
