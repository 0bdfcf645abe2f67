"""Rendering stored rows as the API's XML and JSON, and as typed ground-truth dicts."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Callable
from xml.sax.saxutils import escape

from .schema import ACHIEVEMENTS, XSI_NS, Endpoint
from .timefmt import from_ms, timespan, wcf_date, xml_date


def _float_text(value: float) -> str:
    # .NET writes whole doubles without a fraction (100, not 100.0).
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _escape(text: str) -> str:
    # Most values need no escaping; testing first is much cheaper than three replace() calls.
    if "&" in text or "<" in text or ">" in text:
        return escape(text)
    return text


def xml_row_renderer(endpoint: Endpoint) -> Callable[[list], str]:
    """Build a function rendering one stored row as the endpoint's XML item element.

    The function is generated as one concatenation expression (no per-field loop): rendering cold
    rows is what limits a 1000-row page, so this is the simulator's hot path.
    """
    # Seed 004 shows an unprefixed nil attribute on /achievements; the /org endpoints use i:nil.
    nil_attr = 'nil="true"' if endpoint is ACHIEVEMENTS else 'i:nil="true"'
    z = endpoint.xml_z
    converters = {"s": "esc", "d": "date", "b": None, "i": "str", "f": "num", "t": "span"}
    parts = [repr(f"<{endpoint.item}>")]
    for i in endpoint.render:
        name, kind = endpoint.fields[i], endpoint.kinds[i]
        blank = endpoint.blank_empty if kind == "s" else name in endpoint.blank_fields
        empty = f"<{name}/>" if blank else f"<{name} {nil_attr}/>"
        if kind == "b":
            value = f"({repr(f'<{name}>true</{name}>')} if row[{i}] else {repr(f'<{name}>false</{name}>')})"
        else:
            value = f"{repr(f'<{name}>')} + {converters[kind]}(row[{i}]) + {repr(f'</{name}>')}"
        parts.append(f"({repr(empty)} if row[{i}] is None else {value})")
    if endpoint.drift is not None:
        n = len(endpoint.fields)
        parts.append(f"('' if row[{n}] is None else drift(row[{n}]))")
    parts.append(repr(f"</{endpoint.item}>"))
    source = "def render(row):\n    return (" + "\n        + ".join(parts) + ")\n"
    drift_name = endpoint.drift[0] if endpoint.drift else ""

    def drift(value) -> str:
        text = _escape(value) if isinstance(value, str) else str(value)
        return f"<{drift_name}>{text}</{drift_name}>"

    namespace = {"esc": _escape, "date": (lambda ms: xml_date(ms, True)) if z else xml_date, "str": str,
                 "num": _float_text, "span": timespan, "drift": drift}
    exec(compile(source, f"<xml renderer {endpoint.path}>", "exec"), namespace)  # noqa: S102 - own code
    return namespace["render"]


def json_row_renderer(endpoint: Endpoint) -> Callable[[list], dict]:
    """Build a function rendering one stored row as the endpoint's JSON object (as a dict)."""
    wcf = endpoint.json_dates == "wcf"
    plan = []
    seen = set()
    for i in endpoint.render:
        if i in seen:  # a JSON object cannot repeat a member; the duplicate is written once
            continue
        seen.add(i)
        name, kind = endpoint.fields[i], endpoint.kinds[i]
        blank = endpoint.blank_empty if kind == "s" else name in endpoint.blank_fields
        plan.append((i, name, kind, "" if blank else None))
    drift = endpoint.drift
    drift_i = len(endpoint.fields)

    def render(row: list) -> dict:
        obj = {}
        for i, name, kind, empty in plan:
            value = row[i]
            if value is None:
                obj[name] = empty
            elif kind == "d":
                obj[name] = wcf_date(value) if wcf else xml_date(value, True)
            elif kind == "t":
                obj[name] = timespan(value)
            else:
                obj[name] = value
        if drift is not None and row[drift_i] is not None:
            obj[drift[0]] = row[drift_i]
        return obj

    return render


def xml_document(endpoint: Endpoint, items: list[str], self_closing_empty: bool) -> str:
    """The list document: root with xmlns:i around the items; empty root self-closing when asked."""
    root = endpoint.root
    if not items:
        if self_closing_empty:
            return f'<{root} xmlns:i="{XSI_NS}"/>'
        return f'<{root} xmlns:i="{XSI_NS}"></{root}>'
    return f'<{root} xmlns:i="{XSI_NS}">' + "".join(items) + f"</{root}>"


def json_document(items: list[str]) -> str:
    """A bare JSON array of already-serialised objects."""
    return "[" + ",".join(items) + "]"


def dumps(obj) -> str:
    """Compact JSON text, non-ASCII kept as is."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def truth_row_converter(endpoint: Endpoint) -> Callable[[list], dict]:
    """Build a function turning a stored row into a ground-truth dict of typed Python values.

    Datetimes become tz-aware UTC datetimes, TimeTaken a timedelta, nil and empty both None. The
    undocumented drift element is present only in the records that carry it.
    """
    plan = [(i, name, kind) for i, (name, kind) in enumerate(zip(endpoint.fields, endpoint.kinds))]
    drift = endpoint.drift
    drift_i = len(endpoint.fields)

    def convert(row: list) -> dict:
        out = {}
        for i, name, kind in plan:
            value = row[i]
            if value is None or value == "":
                out[name] = None
            elif kind == "d":
                out[name] = from_ms(value)
            elif kind == "t":
                out[name] = timedelta(seconds=value)
            else:
                out[name] = value
        if drift is not None and row[drift_i] is not None:
            out[drift[0]] = row[drift_i]
        return out

    return convert
