"""Progress of a run, fed by `sync(on_event=...)`: per-resource counters and three renderers of them.

`TtyBars` redraws a bar per resource on a terminal, `TextLines` writes plain log lines otherwise,
`JsonLines` one JSON object per event (`--log-format json`); `--quiet` shows none.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import IO, Any, Callable

from sources.litmos.stats import COUNTS, ResourceStats

SYNC_FINISHED = "SyncFinished"  # the runner's dict event `{"event": "SyncFinished"}`: extract+load is over


@dataclass
class ResourceProgress(ResourceStats):
    """One resource's stats so far and its status: ``pending``, ``running``, ``done`` or ``failed``."""

    resource: str = ""
    status: str = "pending"
    rate_wait_s: float = 0.0


class ProgressTracker:
    """The `on_event` callable: counts `sources.litmos.events` per resource and tells a `Renderer` (or
    None); `resources` known up front keep the bars in a stable order."""

    def __init__(self, renderer: Any = None, resources: list[str] | None = None) -> None:
        self.renderer = renderer
        self.resources: dict[str, ResourceProgress] = {r: ResourceProgress(resource=r) for r in resources or []}
        self.rate_wait_s = 0.0
        self._lock = threading.Lock()  # cheap insurance: events may come from worker threads

    def __call__(self, event: Any) -> None:
        if isinstance(event, dict):
            fields_, name = dict(event), str(event.get("event", "event"))
        else:
            fields_, name = asdict(event), type(event).__name__
        resource = fields_.get("resource")
        with self._lock:
            state = None
            # "_probe" and other underscore labels are the sync's own housekeeping calls, not tables.
            if isinstance(resource, str) and resource and not resource.startswith("_"):
                state = self.resources.setdefault(resource, ResourceProgress(resource=resource))
                self._apply(state, name, fields_)
            elif name == SYNC_FINISHED:  # what still runs is complete, e.g. module_details (no windows)
                for other in self.resources.values():
                    if other.status == "running":
                        other.status, other.last_end = "done", other.last_end or time.monotonic()
            self._tell("update", state, name, fields_)

    def _apply(self, state: ResourceProgress, name: str, fields_: dict[str, Any]) -> None:
        now = time.monotonic()
        state.first_start, state.last_end = state.first_start or now, now  # the span: first to last event
        if state.status in ("pending", "done"):
            state.status = "running"
        total = fields_.get("total")
        if name == "WindowStarted" and isinstance(total, int):
            state.windows_total = max(state.windows_total, total)
        elif name == "WindowDone":
            state.windows_done += 1
            state.windows_total = max(state.windows_total, total if isinstance(total, int) else 0,
                                      state.windows_done)
            if state.windows_done >= state.windows_total:
                state.status = "done"
        elif name == "PageFetched":  # one page = one successful request
            state.pages += 1
            state.requests += 1
            state.rows += int(fields_.get("rows") or 0)
        elif name == "RequestRetried":
            state.retries += 1
            state.requests += 1
        elif name == "RateWait":
            seconds = float(fields_.get("seconds") or 0.0)
            state.rate_wait_s += seconds
            self.rate_wait_s += seconds
        elif "error" in name.lower() or "fail" in name.lower():
            state.status = "failed"

    def close(self) -> None:
        """Tells the renderer the run is over (final redraw)."""
        self._tell("close")

    def _tell(self, method: str, *args: Any) -> None:
        if self.renderer is not None:
            try:
                getattr(self.renderer, method)(self, *args)
            except Exception:  # noqa: BLE001 - progress must never break a load
                pass


class Renderer:
    """Shows a tracker's progress: `update` after each event (`state`: its resource's, or None), `close`."""

    def update(self, tracker: ProgressTracker, state: ResourceProgress | None, name: str,
               fields_: dict[str, Any]) -> None:
        pass

    def close(self, tracker: ProgressTracker) -> None:
        pass


def format_resource_line(state: ResourceProgress, name_width: int = 26) -> str:
    """One human line for a resource, e.g. `users  [#####.....] 3/12 windows  1,204 rows  15 req`."""
    windows = f"{state.windows_done}/{state.windows_total or '?'} windows"
    done, total = state.windows_done, state.windows_total
    if not total and state.pages:  # read per parent row (module_details), not in date windows
        windows = f"{state.pages} pages"
        done, total = (1, 1) if state.status == "done" else (0, 0)
    filled = min(20, int(20 * done / total)) if total > 0 else 0
    parts = [f"{state.resource:<{name_width}}", "[" + "#" * filled + "." * (20 - filled) + "]", f"{windows:>13}",
             f"{state.rows:>9,} rows", f"{state.requests:>6,} req",
             f"{state.retries} retries" if state.retries else "",
             f"waited {state.rate_wait_s:.1f}s" if state.rate_wait_s >= 0.05 else "",
             {"failed": "FAILED", "done": "done"}.get(state.status, "")]
    return "  ".join(p for p in parts if p)


class TtyBars(Renderer):
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
        up = f"\x1b[{self._lines_drawn}F" if self._lines_drawn else ""  # cursor up to the first bar line
        self.stream.write(up + "".join(f"\x1b[2K{line}\n" for line in lines))
        self.stream.flush()
        self._lines_drawn = len(lines)

    def close(self, tracker: ProgressTracker) -> None:
        self._draw(tracker)


class TextLines(Renderer):
    """Plain log lines: one per resource when it finishes or fails; with `every_s` (`litmos-sync run`, whose
    summary table follows) only failures, totals at most every `every_s` seconds and a final line."""

    def __init__(self, emit: Callable[[str], None], every_s: float | None = None) -> None:
        self.emit = emit
        self.every_s = every_s
        self._started = time.monotonic()
        self._last = self._started
        self._reported: set[str] = set()

    def update(self, tracker: ProgressTracker, state: ResourceProgress | None, name: str,
               fields_: dict[str, Any]) -> None:
        now = time.monotonic()
        finished = ("failed",) if self.every_s is not None else ("done", "failed")
        if state is not None and state.status in finished and state.resource not in self._reported:
            self._report(state)
        elif name == SYNC_FINISHED and self.every_s is None:
            self.close(tracker)
        elif name == SYNC_FINISHED:
            self.emit(f"extract and load done in {now - self._started:.0f}s")
            self.every_s = float("inf")  # nothing more after the final line
        elif self.every_s is not None and now - self._last >= self.every_s:
            self._last = now
            states = tracker.resources.values()
            done = sum(1 for s in states if s.status == "done")
            self.emit(f"progress: {done}/{len(states)} resources done, {sum(s.rows for s in states):,} records, "
                      f"{sum(s.requests for s in states):,} requests in {now - self._started:.0f}s")

    def close(self, tracker: ProgressTracker) -> None:
        for state in tracker.resources.values():  # with `every_s` the run's summary follows instead
            if self.every_s is None and state.status != "pending" and state.resource not in self._reported:
                self._report(state)

    def _report(self, state: ResourceProgress) -> None:
        self._reported.add(state.resource)
        self.emit(format_resource_line(state))


class JsonLines(Renderer):
    """Every event as one JSON object per line (`{"event": ..., "resource": ..., counters}`)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr

    #: Per-request events: too many lines for a scheduler log; their counts ride on WindowDone lines.
    SKIP = frozenset({"PageFetched", "RateWait", "WindowStarted"})

    def update(self, tracker: ProgressTracker, state: ResourceProgress | None, name: str,
               fields_: dict[str, Any]) -> None:
        if name in self.SKIP:
            return
        doc: dict[str, Any] = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": name}
        doc.update({k: v for k, v in fields_.items() if k != "event"})
        if state is not None:
            doc.update({f"{c}_so_far": getattr(state, c) for c in COUNTS})
            doc["rate_wait_s_so_far"] = round(state.rate_wait_s, 3)
            doc["status"] = state.status
        self.stream.write(json.dumps(doc, default=str) + "\n")
        self.stream.flush()


def make_renderer(quiet: bool, log_format: str, stream: IO[str] | None = None,
                  emit: Callable[[str], None] | None = None, per_resource: bool = True) -> Any:
    """The renderer for the CLI options and whether `stream` (stderr) is a terminal; `per_resource=False`:
    off a terminal, totals once a minute instead of a line per resource."""
    stream = stream or sys.stderr
    if quiet:
        return None
    if log_format == "json":
        return JsonLines(stream)
    if hasattr(stream, "isatty") and stream.isatty():
        return TtyBars(stream)
    return TextLines(emit or (lambda line: print(line, file=stream, flush=True)),
                     every_s=None if per_resource else 60.0)
