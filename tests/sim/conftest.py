"""Fixtures and helpers for the simulator's own tests."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import requests

from litmos_sim.pytest_fixtures import (DEFAULT_TEST_NOW, litmos_fleet, litmos_sim, make_litmos_fleet,  # noqa: F401
                                        make_litmos_sim)

NOW = DEFAULT_TEST_NOW
XSI = "http://www.w3.org/2001/XMLSchema-instance"

# The 17 /org endpoints with their documented root and item element names (seed 001), written out
# here independently of litmos_sim.schema.
ORG = {
    "/org/users/details": ("Users", "User"),
    "/org/users/logins": ("Users", "User"),
    "/org/modules/results": ("ModuleResults", "ModuleResult"),
    "/org/results/details": ("UserResults", "UserResult"),
    "/org/learningpaths/results": ("LearningPathResults", "LearningPathResult"),
    "/org/achievements": ("Achievements", "Achievement"),
    "/org/modules": ("Modules", "Module"),
    "/org/courses": ("Courses", "Course"),
    "/org/learningpaths": ("LearningPaths", "LearningPath"),
    "/org/courses/modules": ("CourseModules", "CourseModule"),
    "/org/learningpaths/courses": ("LearningPathCourses", "LearningPathCourse"),
    "/org/users/courses": ("UserCourses", "UserCourse"),
    "/org/learningpaths/users": ("LearningPathUsers", "LearningPathUser"),
    "/org/teams": ("Teams", "Team"),
    "/org/teams/users": ("TeamUsers", "TeamUser"),
    "/org/teams/courses": ("TeamCourses", "TeamCourse"),
    "/org/teams/learningpaths": ("TeamLearningPaths", "TeamLearningPath"),
}


def fmt(dt: datetime) -> str:
    """since/to text."""
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def get(sim, path: str, key: str | None = "header", **params) -> requests.Response:
    """GET base_url+path with source=tests and the key in the header (key="query"/None to vary)."""
    params.setdefault("source", "tests")
    headers = {}
    if key == "header":
        headers["apikey"] = sim.api_key
    elif key == "query":
        params["apikey"] = sim.api_key
    return requests.get(sim.base_url + path, params=params, headers=headers, timeout=30)


def windows(end: datetime, days: int, step: int = 7):
    """Day-aligned windows [D, D+step] covering `days` days up to the day after `end`."""
    last = datetime(end.year, end.month, end.day, tzinfo=timezone.utc) + timedelta(days=1)
    start = last - timedelta(days=days)
    while start < last:
        stop = min(start + timedelta(days=step), last)
        yield start, stop
        start = stop


_ISO = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
_WCF = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_SPAN = re.compile(r"^(?:(\d+)\.)?(\d\d):(\d\d):(\d\d)$")


def parse_date(text: str) -> datetime:
    """Any date form the API writes (ISO with/without fraction and Z, or WCF /Date(ms+zzzz)/)."""
    m = _WCF.match(text)
    if m:
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=int(m.group(1)))
    m = _ISO.match(text)
    assert m, f"unparseable date {text!r}"
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    micro = int(round(float(m.group(7)) * 1_000_000)) if m.group(7) else 0
    assert m.group(8) in (None, "Z", "+00:00"), text
    return datetime(y, mo, d, h, mi, s, micro, tzinfo=timezone.utc)


def parse_span(text: str) -> timedelta:
    """.NET TimeSpan text."""
    m = _SPAN.match(text)
    assert m, f"bad TimeSpan {text!r}"
    days = int(m.group(1) or 0)
    return timedelta(days=days, hours=int(m.group(2)), minutes=int(m.group(3)), seconds=int(m.group(4)))


def typed_like(text, expected):
    """Convert wire text/JSON value to the type of the ground-truth value it should equal."""
    if text is None or text == "":
        return None
    if isinstance(expected, bool):
        return text if isinstance(text, bool) else {"true": True, "false": False}[text]
    if isinstance(expected, int):
        return int(text)
    if isinstance(expected, float):
        return float(text)
    if isinstance(expected, datetime):
        return parse_date(text)
    if isinstance(expected, timedelta):
        return parse_span(text)
    return text


def xml_records(text: str, item: str) -> list[dict]:
    """Records of an XML list body as {element: text|None}; asserts nil/empty forms are documented."""
    from lxml import etree

    root = etree.fromstring(text.encode("utf-8"))
    out = []
    for node in root:
        assert node.tag == item, node.tag
        rec = {}
        for child in node:
            nil = child.get(f"{{{XSI}}}nil") or child.get("nil")
            value = None if nil == "true" else (child.text or "")
            if child.tag in rec:  # a documented duplicate must repeat the same value
                assert rec[child.tag] == value, child.tag
            rec[child.tag] = value
        out.append(rec)
    return out


@pytest.fixture
def sim(litmos_sim):  # noqa: F811 - short name used by every test
    """The default running simulator (seed 1, scale 200, frozen at NOW, key 'test-key')."""
    return litmos_sim
