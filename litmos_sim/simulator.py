"""The Simulator: org + clock + request log + faults, with the Python control/oracle API and HTTP server."""
from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterator

from .activity import run_activity
from .api import BASE_PATH, Api, Response, check_api_key, parse_query
from .config import FAULT_FIELDS, SimConfig
from .faults import FaultInjector, RateLimiter, rate_limited
from .org import Org
from .render import truth_row_converter
from .serving import HttpServing
from .schema import (ACHIEVEMENTS, ALL_ENDPOINTS, COLLECTIONS, LISTING_TEAMS, LISTING_USERS, LISTINGS,
                     MODULE_DETAIL, ORG_ENDPOINTS, Endpoint)
from .timefmt import from_ms, to_ms


@dataclass(frozen=True)
class RequestRecord:
    """One API request as the simulator saw it.

    Attributes:
        method: HTTP method.
        path: Path without the /v1.svc base, e.g. "/org/results/details".
        params: Query parameters (apikey removed, whatever its case).
        status: HTTP status sent; 0 when the connection was dropped without an answer.
        rows: Records in the body that was sent in full (0 for errors and damaged bodies).
        at: Simulated time of the request (tz-aware UTC).
        fault: None, "rate_limit", "error", "truncate" or "drop".
    """

    method: str
    path: str
    params: dict
    status: int
    rows: int
    at: datetime
    fault: str | None = None


@dataclass
class Served:
    """What the HTTP layer must send for one request."""

    response: Response | None  # None = drop the connection
    delay_s: float = 0.0
    body: bytes = b""
    extra_headers: dict = field(default_factory=dict)


def redact_key(params: dict[str, str]) -> dict[str, str]:
    """The query parameters without apikey (any case): what a log may hold."""
    return {k: v for k, v in params.items() if k.lower() != "apikey"}


class Simulator(HttpServing):
    """A simulated Litmos org served over HTTP, with a clock and an oracle for tests.

    Args:
        config: SimConfig; keyword overrides are applied on top (e.g. Simulator(seed=2)).
    """

    def __init__(self, config: SimConfig | None = None, **overrides):
        config = config or SimConfig()
        self.config = config.replace(**overrides) if overrides else config
        self.lock = threading.RLock()
        self._server = None
        self._thread = None
        self._fleet = None  # the Fleet serving this org, if any (see attach_to_fleet)
        self.name: str | None = None
        self._build()

    # ---- state -----------------------------------------------------------------------------------------
    def _build(self) -> None:
        cfg = self.config
        if cfg.now is None:
            self._frozen_ms, self._offset_ms = None, 0
        else:
            self._frozen_ms, self._offset_ms = to_ms(cfg.now), 0
        self.org = Org(cfg.seed, cfg.scale, self.now_ms(), cfg.history_days)
        for table in self.org.tables.values():  # build window indexes now, not in the first request
            table.ordered()
        self.api = Api(self)
        self.faults = FaultInjector(cfg.seed)
        self.limiter = RateLimiter()
        self._log: list[RequestRecord] = []
        self._longest_window_s = 0.0
        self.activity_log: list[dict] = []

    def reset(self, seed: int | None = None, **changes) -> None:
        """Rebuild the org from scratch (new seed or other config fields), clear log and clock changes."""
        with self.lock:
            if seed is not None:
                changes["seed"] = seed
            self.config = self.config.replace(**changes)
            self._build()

    # ---- clock -----------------------------------------------------------------------------------------
    def now_ms(self) -> int:
        """Simulated now in epoch milliseconds."""
        if self._frozen_ms is not None:
            return self._frozen_ms
        return int(time.time() * 1000) + self._offset_ms

    def now(self) -> datetime:
        """Simulated now, tz-aware UTC."""
        return from_ms(self.now_ms())

    def freeze(self, dt: datetime | None = None) -> None:
        """Stop the clock at `dt` (default: the current simulated now). Generates no activity."""
        with self.lock:
            self._frozen_ms = self.now_ms() if dt is None else to_ms(dt)

    def advance(self, delta: timedelta, activity: bool = True) -> dict:
        """Move the clock forward by `delta`; with activity, the org changes over that interval.

        Returns:
            Counts of generated events by kind (empty without activity).
        """
        if delta < timedelta(0):
            raise ValueError("advance() needs a positive timedelta; use freeze() to set an earlier time")
        with self.lock:
            t0 = self.now_ms()
            step = int(delta / timedelta(milliseconds=1))
            if self._frozen_ms is not None:
                self._frozen_ms += step
            else:
                self._offset_ms += step
            t1 = t0 + step
            counts = run_activity(self.org, t0, t1) if activity and step > 0 else {}
            self.activity_log.append({"from": from_ms(t0), "to": from_ms(t1), "events": counts})
            return counts

    # ---- oracle ----------------------------------------------------------------------------------------
    @staticmethod
    def endpoint(path: str) -> Endpoint:
        """The endpoint spec for a documented path (with or without /v1.svc, template or concrete)."""
        if path.startswith(BASE_PATH):
            path = path[len(BASE_PATH):]
        path = path.rstrip("/")
        if path in ALL_ENDPOINTS:
            return ALL_ENDPOINTS[path]
        parts = path.split("/")
        if len(parts) == 3 and parts[1] == "collectionlistings":
            return LISTINGS
        if len(parts) == 4 and parts[1] == "collectionlistings" and parts[3] in ("users", "teams"):
            return LISTING_USERS if parts[3] == "users" else LISTING_TEAMS
        if len(parts) == 3 and parts[1] == "modules":
            return MODULE_DETAIL
        raise ValueError(f"unknown endpoint {path!r}; use one of: {', '.join(sorted(ALL_ENDPOINTS))}")

    def keys(self, path: str) -> tuple[str, ...]:
        """Litmos field names forming the record key of an endpoint, e.g. ("UserId", "Id")."""
        return self.endpoint(path).key

    def ground_truth(self, path: str) -> list[dict]:
        """Current records of an endpoint as typed Python values (see README "Ground truth").

        /org endpoints: every record, in (ts, key) order. Templates such as
        "/collectionlistings/{collectionid}" return the records of every parent with the parent id added
        (CollectionId / ListingId); a concrete path ("/collectionlistings/<id>") returns that list only.
        """
        ep = self.endpoint(path)
        convert = truth_row_converter(ep)
        with self.lock:
            org = self.org
            if ep.path in ORG_ENDPOINTS:
                table = org.t(ep.table)
                if ep.table == "logins":
                    return [convert(self.api.login_row(table.rows[i])) for i in table.ordered()]
                return [convert(table.rows[i]) for i in table.ordered()]
            if ep is ACHIEVEMENTS:
                return [convert(r) for r in self.api.achievement_rows(None, None)]
            if ep is COLLECTIONS:
                return [convert(r) for r in org.collections]
            if ep is MODULE_DETAIL:
                rows = self.api.module_detail_rows()
                concrete = path.rstrip("/").split("/")[-1]
                if concrete in rows:
                    return [convert(rows[concrete])]
                return [convert(r) for r in rows.values()]
            parents = org.listings if ep is LISTINGS else (
                org.listing_users if ep is LISTING_USERS else org.listing_teams)
            concrete = path.rstrip("/").split("/")[-1 if ep is LISTINGS else -2]
            if not concrete.startswith("{"):
                return [convert(r) for r in parents.get(concrete, [])]
            out = []
            for parent_id, rows in parents.items():
                for r in rows:
                    rec = {ep.parent_field: parent_id}
                    rec.update(convert(r))
                    out.append(rec)
            return out

    def requests(self) -> list[RequestRecord]:
        """Every API request so far (control requests under /_sim/ are not logged)."""
        with self.lock:
            return list(self._log)

    def clear_requests(self) -> None:
        """Empty the request log (and the longest-window statistic)."""
        with self.lock:
            self._log.clear()
            self._longest_window_s = 0.0

    def stats(self) -> dict:
        """Request counts: total, by status, by path, by fault, and the longest since..to window seen."""
        with self.lock:
            by_status: dict[int, int] = {}
            by_path: dict[str, int] = {}
            by_fault: dict[str, int] = {}
            for rec in self._log:
                by_status[rec.status] = by_status.get(rec.status, 0) + 1
                by_path[rec.path] = by_path.get(rec.path, 0) + 1
                if rec.fault:
                    by_fault[rec.fault] = by_fault.get(rec.fault, 0) + 1
            return {"requests": len(self._log), "by_status": by_status, "by_path": by_path,
                    "by_fault": by_fault, "rows": sum(r.rows for r in self._log),
                    "longest_window_s": self._longest_window_s}

    def set_faults(self, **changes) -> None:
        """Change serving behaviour at run time (rates, latency, rate limit, quirks); never data."""
        unknown = sorted(set(changes) - set(FAULT_FIELDS))
        if unknown:
            raise ValueError(f"set_faults() got {', '.join(unknown)}; allowed: {', '.join(FAULT_FIELDS)}")
        with self.lock:
            self.config = self.config.replace(**changes)

    @property
    def api_key(self) -> str:
        """The API key the server accepts."""
        return self.config.api_key

    # ---- serving ---------------------------------------------------------------------------------------
    def serve(self, method: str, raw_path: str, query: str, headers) -> Served:
        """Answer one API request (rules, rate limit, faults) and log it."""
        params = parse_query(query)
        with self.lock:
            cfg = self.config
            at = self.now()
            fault = None
            resp = check_api_key(params, headers, cfg.api_key)
            if resp is None:
                retry = self.limiter.check(cfg.api_key, cfg.rate_limit)
                if retry is not None:
                    resp, fault = rate_limited(cfg.rate_limit_status, retry), "rate_limit"
            if resp is None:
                resp = self.api.handle(method, raw_path, params, headers)
                if resp.status == 200 and (cfg.fail_rate or cfg.truncate_rate or cfg.drop_rate):
                    fault = self.faults.draw(cfg.fail_rate, cfg.truncate_rate, cfg.drop_rate)
            delay = self.faults.latency(cfg.latency_ms, cfg.latency_jitter_ms)
            if resp.window_s is not None and resp.status == 200:
                self._longest_window_s = max(self._longest_window_s, resp.window_s)
            path = raw_path[len(BASE_PATH):] if raw_path.startswith(BASE_PATH + "/") else raw_path
            body = resp.body.encode("utf-8")
            rows = resp.rows if resp.status == 200 else 0
            if fault == "drop":
                self._log.append(RequestRecord(method, path, redact_key(params), 0, 0, at, "drop"))
                return Served(None, delay)
            if fault == "error":
                resp = self.faults.error_response()
                body, rows = resp.body.encode("utf-8"), 0
            elif fault == "truncate":
                body, rows = self.faults.truncate(body), 0
            self._log.append(RequestRecord(method, path, redact_key(params), resp.status, rows, at, fault))
            return Served(resp, delay, body)

    # ---- HTTP server lifecycle -------------------------------------------------------------------------
    def _make_server(self, host: str, port: int):
        from .server import make_server

        return make_server(self, host, port)

    def attach_to_fleet(self, fleet, name: str) -> None:
        """Mark this org as served by `fleet` under `name`: port/base_url become the fleet's."""
        self._fleet, self.name = fleet, name

    @property
    def port(self) -> int:
        """TCP port the server listens on (the fleet's when the org is served by a fleet)."""
        if self._server is None and self._fleet is not None:
            return self._fleet.port
        return super().port

    @property
    def control_url(self) -> str:
        """Base of this org's control endpoints: .../_sim, or .../_sim/orgs/<name> in a fleet."""
        if self._server is None and self._fleet is not None:
            return f"{self.root_url}/_sim/orgs/{self.name}"
        return self.root_url + "/_sim"


@contextlib.contextmanager
def run_simulator(config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0,
                  **overrides) -> Iterator[Simulator]:
    """Run a simulator in-process on a free port for the duration of a `with` block."""
    sim = Simulator(config, **overrides)
    sim.start(host, port)
    try:
        yield sim
    finally:
        sim.stop()
