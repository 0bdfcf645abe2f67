"""Litmos XML / JSON response bodies -> typed pyarrow tables.

Element texts go into per-column lists, cast whole with pyarrow compute. Every documented column exists,
typed, even when all null; undocumented elements become extra string columns (logged once).
"""
from __future__ import annotations

import json
import logging
import re
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from .exceptions import LitmosMalformedResponseError, LitmosUndecodableError
from .settings import SYNCED_AT_COLUMN, Endpoint, column_name

log = logging.getLogger(__name__)

TS_TYPE = pa.timestamp("us", tz="UTC")
ARROW_TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "ts": TS_TYPE,
    "secs": pa.int64(),
}
_NIL_WITH_TEXT = re.compile(rb"""nil\s*=\s*["']true["']\s*>\s*[^<\s]""")
_HAS_OFFSET = r"(?:[Zz]|[+-]\d\d:?\d\d)$"
_LONG_FRACTION = r"(\.\d{6})\d+"
_WCF_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_TIMESPAN = re.compile(r"^(-)?(?:(\d+)\.)?(\d+):(\d\d):(\d\d)(?:\.\d+)?$")
# WCF may write a TimeSpan as an xs:duration (PT5M30S) instead of the documented HH:mm:ss.
_XS_DURATION = re.compile(r"^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.\d+)?S)?)?$")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
# A parser per thread: lxml parsers are not thread-safe, and huge_tree lifts libxml2's 10 MB text limit.
_parsers = threading.local()
_seen_unknown: set[tuple[str, str]] = set()
_seen_lock = threading.Lock()


def arrow_schema(endpoint: Endpoint, extra: Iterable[str] = ()) -> pa.Schema:
    """The Arrow schema of one endpoint's table: documented columns, extras, synced-at."""
    # Key columns are declared non-nullable, as dlt declares merge keys, so the two schemas agree.
    fields = [pa.field(name, ARROW_TYPES[kind], nullable=name not in endpoint.primary_key)
              for name, kind in endpoint.columns.items()]
    fields += [pa.field(name, pa.string()) for name in extra]
    fields.append(pa.field(SYNCED_AT_COLUMN, TS_TYPE))
    return pa.schema(fields)


def _parser() -> etree.XMLParser:
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
        _parsers.parser = parser
    return parser


def _note_unknown(endpoint: Endpoint, name: str) -> None:
    with _seen_lock:
        if (endpoint.table, name) in _seen_unknown:
            return
        _seen_unknown.add((endpoint.table, name))
    log.warning("%s: undocumented field %r loaded as text column %r", endpoint.path, name, column_name(name))


def parse_page(
    body: bytes,
    endpoint: Endpoint,
    response_format: str,
    synced_at: datetime,
    parent_id: str | None = None,
) -> pa.Table:
    """Parses one body into a table of ``arrow_schema(endpoint, extras)``, ``synced_at`` on every row and
    ``parent_id`` in ``endpoint.parent_column``.

    Raises:
        LitmosMalformedResponseError: The body is not well-formed (e.g. truncated).
    """
    text_only = response_format != "json"  # XML gives str/None only: no per-value type checks
    if response_format == "json":
        raw, extra = _json_columns(body, endpoint)
    else:
        raw, extra = _xml_columns(body, endpoint)
    nrows = len(next(iter(raw.values()))) if raw else 0
    arrays: list[pa.Array] = []
    for name, kind in endpoint.columns.items():
        values = raw.get(name)
        if name == endpoint.parent_column and parent_id is not None:
            arrays.append(pa.array([parent_id] * nrows, pa.string()))
        elif values is None:
            arrays.append(pa.nulls(nrows, ARROW_TYPES[kind]))
        else:
            arrays.append(convert(values, kind, endpoint, name, text_only))
    for name in extra:
        values = raw[name]
        arrays.append(convert(values, "str", text_only=text_only))
    arrays.append(pa.repeat(pa.scalar(synced_at, TS_TYPE), nrows))
    return pa.Table.from_arrays(arrays, schema=arrow_schema(endpoint, extra))


def _xml_columns(body: bytes, endpoint: Endpoint) -> tuple[dict[str, list], list[str]]:
    """Collects element texts into per-column lists (None for nil/empty/missing)."""
    try:
        root = etree.fromstring(body, _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        _check_utf8(body, endpoint)
        raise LitmosMalformedResponseError(f"{endpoint.path}: malformed XML ({str(exc).splitlines()[0][:120]})") from None
    _check_root(root, endpoint)
    records = [root] if endpoint.kind == "detail" else [r for r in root if isinstance(r.tag, str)]
    nrows = len(records)
    columns: dict[str, list] = {}
    extra: list[str] = []
    # Tag -> the column's value list (None = ignored node); each distinct tag is resolved once per page.
    by_tag: dict[Any, list | None] = {}
    for row, record in enumerate(records):
        for child in record:
            try:
                target = by_tag[child.tag]
            except KeyError:
                target = by_tag[child.tag] = (_column(child.tag.rsplit("}", 1)[-1], endpoint, columns, extra, nrows)
                                              if isinstance(child.tag, str) else None)  # not comments
            if target is not None:
                # An element present twice (UpdatedDate in UserResult) keeps one value: the last.
                target[row] = child.text
    if _NIL_WITH_TEXT.search(body):  # nil elements with text (seed 004): rarer than a lookup per element
        row_of = {record: row for row, record in enumerate(records)}
        for element in root.xpath("//*[@*[local-name()='nil']='true']"):
            row = row_of.get(element.getparent())
            target = by_tag.get(element.tag)
            if row is not None and target is not None:
                target[row] = None
    return columns, extra


def _check_utf8(body: bytes, endpoint: Endpoint) -> None:
    """Raises :class:`LitmosUndecodableError` when the body is not UTF-8."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LitmosUndecodableError(
            f"{endpoint.path}: the body is not valid UTF-8 (byte 0x{body[exc.start]:02x} at {exc.start})") from None


def _check_root(root: Any, endpoint: Endpoint) -> None:
    # A sign-in page or another endpoint's list would read as an empty page: the rows would never arrive.
    local = root.tag.rsplit("}", 1)[-1] if isinstance(root.tag, str) else str(root.tag)
    if local != endpoint.root:
        raise LitmosMalformedResponseError(
            f"{endpoint.path}: the body's root element is <{local[:40]}>, not <{endpoint.root}>")


def _column(field: str, endpoint: Endpoint, columns: dict[str, list], extra: list[str], nrows: int) -> list:
    """The value list of ``field``'s column, added (as an extra when undocumented) on first sight."""
    name = column_name(field)
    if name not in columns:
        if name not in endpoint.columns:
            _note_unknown(endpoint, field)
            extra.append(name)
        columns[name] = [None] * nrows
    return columns[name]


def _json_columns(body: bytes, endpoint: Endpoint) -> tuple[dict[str, list], list[str]]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        _check_utf8(body, endpoint)
        raise LitmosMalformedResponseError(f"{endpoint.path}: malformed JSON ({str(exc)[:120]})") from None
    # The API's lists are bare arrays; anything else (a gateway's {"Message": ...}) would lose or invent rows.
    if endpoint.kind == "detail" and isinstance(data, dict):
        data = [data]
    elif endpoint.kind == "detail" or not isinstance(data, list):
        expected = "an object" if endpoint.kind == "detail" else "a list of records"
        raise LitmosMalformedResponseError(
            f"{endpoint.path}: the JSON body is {_json_kind(data)}, not {expected}")
    nrows = len(data)
    columns: dict[str, list] = {}
    extra: list[str] = []
    for row, record in enumerate(data):
        if not isinstance(record, dict):
            raise LitmosMalformedResponseError(f"{endpoint.path}: JSON record {row} is not an object")
        for key, value in record.items():
            target = _column(key, endpoint, columns, extra, nrows)
            if isinstance(value, (dict, list)):
                value = json.dumps(value)
            target[row] = None if value == "" else value
    return columns, extra


def _json_kind(data: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", type(None): "null"}
    return kinds.get(type(data)) or "a " + type(data).__name__


def convert(values: list, kind: str, endpoint: Endpoint | None = None, name: str = "",
            text_only: bool = False) -> pa.Array:
    """Converts one column of raw values (text or JSON scalars) into its Arrow type; a column the whole-column
    cast fails is parsed value by value, an unparseable value becoming NULL with a warning."""
    if kind == "str":
        return pa.array(values, pa.string()) if text_only else _to_string_array(values)
    if kind == "secs":
        return pa.array([_timespan_seconds(v) for v in values], pa.int64())
    if not text_only and any(not (v is None or isinstance(v, str)) for v in values):
        return _convert_python(values, kind, endpoint, name)
    strings = pa.array(values, pa.string())
    fast = _fast_cast(strings, kind)
    if fast is not None:
        return fast
    if kind == "bool":  # True, 1, yes, blanks...: rare enough for the value-by-value path
        return _convert_python(values, kind, endpoint, name)
    strings = pc.utf8_trim_whitespace(strings)
    strings = pc.if_else(pc.equal(strings, ""), pa.scalar(None, pa.string()), strings)
    try:
        if kind == "ts":
            if pc.any(pc.match_substring(strings, "/Date(")).as_py():
                raise ValueError("WCF dates")
            strings = pc.replace_substring_regex(strings, _LONG_FRACTION, r"\1")
            has_offset = pc.match_substring_regex(strings, _HAS_OFFSET)
            strings = pc.if_else(has_offset, strings, pc.binary_join_element_wise(strings, "Z", ""))
            return pc.cast(strings, TS_TYPE)
        return pc.cast(strings, ARROW_TYPES[kind])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        return _convert_python(values, kind, endpoint, name)


def _fast_cast(strings: pa.Array, kind: str) -> pa.Array | None:
    """The common case in one or two compute calls; None when the column needs the careful path."""
    try:
        if kind == "bool":
            is_true = pc.equal(strings, "true")
            if pc.all(pc.or_(is_true, pc.equal(strings, "false"))).as_py() is not False:
                return is_true
            return None
        if kind == "ts":
            # Offset-free ISO text (the API's usual form) casts straight to naive UTC timestamps.
            return pc.cast(strings, pa.timestamp("us")).cast(TS_TYPE)
        return pc.cast(strings, ARROW_TYPES[kind])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _to_string_array(values: list) -> pa.Array:
    if all(v is None or isinstance(v, str) for v in values):
        return pa.array(values, pa.string())
    return pa.array([None if v is None else _scalar_text(v) for v in values], pa.string())


def _scalar_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _convert_python(values: list, kind: str, endpoint: Endpoint | None, name: str) -> pa.Array:
    parse = {"bool": parse_bool, "ts": parse_timestamp, "int": _parse_int, "float": _parse_float}[kind]
    out = []
    bad = 0
    for value in values:
        try:
            out.append(parse(value))
        except (ValueError, TypeError, OverflowError):
            bad += 1
            out.append(None)
    if bad:
        where = endpoint.path if endpoint else "?"
        log.warning("%s: %d value(s) of %s are not %s and were loaded as NULL", where, bad, name, kind)
    return pa.array(out, ARROW_TYPES[kind])


def parse_bool(value: Any) -> bool | None:
    """``true``/``false`` (any case, also 1/0/yes/no) or a JSON bool; blank -> None."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value).strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _parse_int(value: Any) -> int | None:
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if not text:
        return None
    number = float(text)
    if not number.is_integer():
        raise ValueError(f"not an integer: {value!r}")
    return int(number)


def _parse_float(value: Any) -> float | None:
    if value is None:
        return None
    text = str(value).strip()
    return float(text) if text else None


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 (naive = UTC) or WCF ``/Date(ms[+-]hhmm)/`` (the offset is display only) as UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value).strip()
    if not text:
        return None
    match = _WCF_DATE.match(text)
    if match:
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=int(match.group(1)))
    text = re.sub(_LONG_FRACTION, r"\1", text)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _timespan_seconds(value: Any) -> int | None:
    """A .NET TimeSpan (``[d.]HH:mm:ss[.f]``), an xs:duration (``PT5M30S``) or seconds, in whole seconds."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    match = _TIMESPAN.match(text) or _XS_DURATION.match(text)
    if not match or text in ("P", "-P") or text.endswith("T"):
        log.warning("TimeTaken %r is not [d.]HH:mm:ss or an xs:duration; loaded as NULL", text[:40])
        return None
    sign, days, hours, minutes, seconds = match.groups()
    total = int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(seconds or 0)
    return -total if sign else total

