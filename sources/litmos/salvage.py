"""Bodies that are not valid UTF-8: keep the records that decode, quarantine the others (rejects.py).
Bad bytes outside every record fail the body instead."""
from __future__ import annotations

import json
import re
from typing import Any

from .exceptions import LitmosUndecodableError
from .settings import Endpoint


def salvage_undecodable(body: bytes, endpoint: Endpoint, response_format: str) -> tuple[bytes, list[tuple[str, str]]]:
    """Splits a body that is not UTF-8 into a body of the same shape with the records that decode, and
    (raw text, reason) of each other record (its bad bytes written as ``\\xff``).

    Raises:
        LitmosUndecodableError: (not transient) bad bytes outside every record: no boundary can be trusted.
    """
    if endpoint.kind == "detail":
        return b"", [(body.decode("utf-8", "backslashreplace"), _utf8_reason(body) or "invalid UTF-8")]
    if response_format == "json":
        return _salvage_json(body, endpoint)
    element = re.escape(endpoint.element.encode())
    pattern = re.compile(rb"<" + element + rb"(?:\s[^>]*)?(?:/>|>.*?</" + element + rb"\s*>)", re.DOTALL)
    kept: list[bytes] = []
    rejects: list[tuple[str, str]] = []
    last = 0
    for match in pattern.finditer(body):
        _outside_records(body[last:match.start()], endpoint)
        _triage(match.group(0), match.group(0), kept, rejects)
        last = match.end()
    _outside_records(body[last:], endpoint)
    first = pattern.search(body)
    head = body[:first.start()] if first else body
    return head + b"".join(kept) + body[last:], rejects


def _salvage_json(body: bytes, endpoint: Endpoint) -> tuple[bytes, list[tuple[str, str]]]:
    # surrogateescape: the JSON still parses and each record's text maps back to its exact bytes.
    text = body.decode("utf-8", "surrogateescape")
    decoder = json.JSONDecoder()
    kept: list[str] = []
    rejects: list[tuple[str, str]] = []
    pos = _skip(text, 0)
    if not text.startswith("[", pos):
        _outside_records(body, endpoint)
    pos = _skip(text, pos + 1)
    while pos < len(text) and text[pos] != "]":
        try:
            _, end = decoder.raw_decode(text, pos)
        except ValueError:
            _outside_records(body, endpoint)
        _triage(text[pos:end].encode("utf-8", "surrogateescape"), text[pos:end], kept, rejects)
        pos = _skip(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip(text, pos + 1)
    return ("[" + ",".join(kept) + "]").encode("utf-8", "surrogateescape"), rejects


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _outside_records(part: bytes, endpoint: Endpoint) -> None:
    try:
        part.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LitmosUndecodableError(
            f"{endpoint.path}: the body is not valid UTF-8 outside its records (byte 0x{part[exc.start]:02x}), so "
            "no record can be trusted", transient=False) from None


def _triage(record: bytes, keep: Any, kept: list, rejects: list[tuple[str, str]]) -> None:
    """Keeps ``keep`` (the record as the body holds it) when ``record`` decodes, else quarantines it."""
    reason = _utf8_reason(record)
    if reason:
        rejects.append((record.decode("utf-8", "backslashreplace"), reason))
    else:
        kept.append(keep)


def _utf8_reason(record: bytes) -> str | None:
    """Why ``record`` is not UTF-8 (None when it is)."""
    try:
        record.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start} of the record (0x{record[exc.start]:02x}: {exc.reason})"
    return None
