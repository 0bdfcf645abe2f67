"""Progress rendering from the sync core's real event classes, and key-free logging."""
from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re

from sources.litmos.events import BatchCommitted, PageFetched, RateWait, RequestRetried, WindowDone, WindowStarted

from pipelines.logging_setup import configure_logging
from pipelines.progress import JsonLines, ProgressTracker, TextLines, TtyBars, make_renderer

D1 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
D2 = dt.datetime(2026, 1, 8, tzinfo=dt.timezone.utc)


def _feed(tracker: ProgressTracker) -> None:
    tracker(WindowStarted("users", D1, D2, 0, 2))
    tracker(RateWait("users", 0.25))
    tracker(PageFetched("users", 0, 1000))
    tracker(RequestRetried("users", "/org/users/details", 1, "503 rate limit", 1.0))
    tracker(PageFetched("users", 1000, 7))
    tracker(WindowDone("users", D1, D2, 1007, 2, 0, 2))
    tracker(WindowStarted("users", D2, D2 + dt.timedelta(days=7), 1, 2))
    tracker(PageFetched("users", 0, 3))
    tracker(WindowDone("users", D2, D2 + dt.timedelta(days=7), 3, 1, 1, 2))
    tracker(WindowStarted("courses", None, None, 0, 1))
    tracker(BatchCommitted(0, 1, 1010, {"users": D2}))


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_tracker_counts_windows_pages_requests_retries_rows_and_waits():
    tracker = ProgressTracker(resources=["users", "courses"])
    _feed(tracker)
    users, courses = tracker.resources["users"], tracker.resources["courses"]
    assert (users.windows_done, users.windows_total, users.pages, users.requests, users.retries, users.rows) \
        == (2, 2, 3, 4, 1, 1010)
    assert users.status == "done" and users.rate_wait_s == 0.25 and tracker.rate_wait_s == 0.25
    assert (courses.status, courses.windows_done, courses.windows_total) == ("running", 0, 1)


def test_text_lines_one_per_finished_resource():
    lines: list[str] = []
    tracker = ProgressTracker(TextLines(lines.append), resources=["users", "courses"])
    _feed(tracker)
    assert lines == ["users                       [####################]    2/2 windows      1,010 rows       4 req  "
                     "1 retries  waited 0.2s  done"]
    tracker.close()  # unfinished resources are reported at the end
    assert lines[1] == "courses                     [....................]    0/1 windows          0 rows       0 req"


def test_tty_bars_redraw_in_place():
    out = _Tty()
    tracker = ProgressTracker(TtyBars(out, min_interval_s=0), resources=["users", "courses"])
    _feed(tracker)
    tracker.close()
    text = out.getvalue()
    assert "\x1b[2F" in text  # moved up over the two bars to redraw them
    final = text.rsplit("\x1b[2F", 1)[-1]
    assert final.split("\n")[0] == ("\x1b[2Kusers                       [####################]    2/2 windows"
                                    "      1,010 rows       4 req  1 retries  waited 0.2s  done")
    assert final.split("\n")[1].startswith("\x1b[2Kcourses ")
    assert "waiting for the rate budget so far: 0.2s" in final


def test_json_lines_skip_per_request_events():
    out = io.StringIO()
    tracker = ProgressTracker(JsonLines(out), resources=["users"])
    _feed(tracker)
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [d["event"] for d in docs] == ["RequestRetried", "WindowDone", "WindowDone", "BatchCommitted"]
    last_window = docs[2]
    assert {k: last_window[k] for k in ("resource", "rows", "pages", "index", "total", "windows_done_so_far",
                                        "rows_so_far", "requests_so_far", "status")} == {
        "resource": "users", "rows": 3, "pages": 1, "index": 1, "total": 2, "windows_done_so_far": 2,
        "rows_so_far": 1010, "requests_so_far": 4, "status": "done"}
    assert last_window["since"] == "2026-01-08 00:00:00+00:00"


def test_renderer_choice():
    assert make_renderer(True, "text", _Tty()) is None
    assert isinstance(make_renderer(False, "json", _Tty()), JsonLines)
    assert isinstance(make_renderer(False, "text", _Tty()), TtyBars)
    assert isinstance(make_renderer(False, "text", io.StringIO()), TextLines)


def test_logging_redacts_key_in_text_json_and_tracebacks():
    key = "sk-live-abcdef123456"
    for fmt in ("text", "json"):
        out = io.StringIO()
        log = configure_logging(fmt, quiet=False, secrets=[key], stream=out)
        log.info("calling with apikey=%s", key, extra={"url": f"http://x/?apikey={key}"})
        try:
            raise RuntimeError(f"boom {key}")
        except RuntimeError:
            log.exception("failed")
        logging.getLogger("sources.litmos.client").warning("header %s", key)
        text = out.getvalue()
        assert key not in text
        assert text.count("***") >= 4
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["msg"] == "calling with apikey=***" and lines[0]["url"] == "http://x/?apikey=***"
    assert lines[1]["level"] == "error" and "RuntimeError: boom ***" in lines[1]["exc"]
    assert lines[2]["logger"] == "sources.litmos.client"


def test_quiet_logging_keeps_only_errors():
    out = io.StringIO()
    log = configure_logging("text", quiet=True, stream=out)
    log.info("hello")
    log.warning("careful")
    log.error("bad")
    assert out.getvalue().endswith(" ERROR bad\n") and out.getvalue().count("\n") == 1


def test_resources_without_windows_are_reported_when_the_load_ends_not_after_it():
    """module_details is read per parent row (pages, no windows): its line comes with SyncFinished."""
    lines: list[str] = []
    tracker = ProgressTracker(TextLines(lines.append), resources=["users", "module_details"])
    _feed(tracker)
    for _ in range(3):
        tracker(PageFetched("module_details", 0, 2))
    assert len(lines) == 1  # users only, so far
    tracker({"event": "SyncFinished"})
    assert lines[1:] == [  # the load succeeded: whatever was still running is complete
        "module_details              [####################]        3 pages          6 rows       3 req  done",
        "courses                     [....................]    0/1 windows          0 rows       0 req  done"]
    tracker.close()  # nothing left to report after the run's "finished" line
    assert len(lines) == 3 and not any("0/?" in line for line in lines)


def test_run_progress_off_a_terminal_is_totals_not_a_line_per_resource():
    lines: list[str] = []
    tracker = ProgressTracker(TextLines(lines.append, every_s=3600), resources=["users", "courses"])
    _feed(tracker)
    tracker({"event": "SyncFinished"})
    tracker.close()
    assert len(lines) == 1 and re.fullmatch(r"extract and load done in \d+s", lines[0])
    failing = ProgressTracker(TextLines(lines.append, every_s=3600), resources=["users"])
    failing({"event": "WindowFailed", "resource": "users", "error": "HTTP 503"})
    assert lines[-1].startswith("users ") and lines[-1].endswith("FAILED")  # failures still get their line
    assert isinstance(make_renderer(False, "text", io.StringIO(), per_resource=False), TextLines)
    assert make_renderer(False, "text", io.StringIO(), per_resource=False).every_s == 60.0
