"""Control and oracle HTTP endpoints under /_sim/ (for tests and demos; never called by a pipeline).

GET  /_sim/health                      {"status": "ok", "now": ...}
GET  /_sim/clock                       {"now": ..., "frozen": bool}
POST /_sim/clock    {"freeze": ISO} | {"advance_seconds": N, "activity": true}
POST /_sim/reset    {"seed": N, "scale": N, ...}
POST /_sim/faults   {"fail_rate": 0.1, ...}
GET  /_sim/ground_truth?endpoint=/org/results/details   {"endpoint", "key", "records"}
GET  /_sim/requests                    [ {method, path, params, status, rows, at, fault}, ... ]
DELETE /_sim/requests                  clears the log
GET  /_sim/stats
Parameters may come as a JSON body or as query parameters. Dates are ISO 8601 UTC.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl

CONTROL_PREFIX = "/_sim"


def jsonable(value):
    """A value made JSON-serialisable (dates as ISO text, timedeltas as seconds)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _coerce(value: str):
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def parse_args(query: str, body: bytes) -> dict | None:
    """Arguments of a control request (query string, then a JSON object body); None when the body is bad."""
    args: dict = {k: _coerce(v) for k, v in parse_qsl(query, keep_blank_values=True)}
    if body:
        try:
            payload = json.loads(body)
        except ValueError:
            return None
        if not isinstance(payload, dict):
            return None
        args.update(payload)
    return args


BAD_BODY = {"error": "request body must be a JSON object"}


def handle(sim, method: str, path: str, query: str, body: bytes) -> tuple[int, dict | list | str]:
    """Answer a control request; returns (status, JSON-able payload)."""
    args = parse_args(query, body)
    if args is None:
        return 400, BAD_BODY
    action = path[len(CONTROL_PREFIX):].strip("/")
    try:
        if action == "health":
            return 200, {"status": "ok", "now": sim.now().isoformat()}
        if action == "clock":
            if method == "POST":
                if "freeze" in args:
                    sim.freeze(datetime.fromisoformat(str(args["freeze"]).replace("Z", "+00:00")))
                if "advance_seconds" in args:
                    events = sim.advance(timedelta(seconds=float(args["advance_seconds"])),
                                         activity=bool(args.get("activity", True)))
                    return 200, {"now": sim.now().isoformat(), "events": events}
            return 200, {"now": sim.now().isoformat(), "frozen": sim._frozen_ms is not None}
        if action == "reset" and method == "POST":
            sim.reset(**args)
            return 200, {"status": "reset", "seed": sim.config.seed, "scale": sim.config.scale,
                         "now": sim.now().isoformat()}
        if action == "faults" and method == "POST":
            sim.set_faults(**args)
            return 200, {"status": "ok"}
        if action == "ground_truth":
            endpoint = args.get("endpoint")
            if not endpoint:
                return 400, {"error": "add ?endpoint=/org/... (a documented endpoint path)"}
            return 200, {"endpoint": endpoint, "key": list(sim.keys(endpoint)),
                         "records": jsonable(sim.ground_truth(endpoint))}
        if action == "requests":
            if method == "DELETE":
                sim.clear_requests()
                return 200, {"status": "cleared"}
            return 200, [jsonable(r.__dict__) for r in sim.requests()]
        if action == "stats":
            return 200, jsonable(sim.stats())
    except (TypeError, ValueError) as exc:
        return 400, {"error": str(exc).splitlines()[0]}
    return 404, {"error": f"unknown control endpoint {method} {path}"}
