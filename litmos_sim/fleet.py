"""Many simulated orgs behind one HTTP server, one per API key (issue 15).

Each org is a full `Simulator` with its own SimConfig: data (seed, scale, history_days), clock, rate
budget, faults, request log and ground truth. The server sends an API request to the org whose key it
carries (the `apikey` header, else the `apikey` query parameter, as a single org reads it); a request
with no key or an unknown key gets exactly the 403 a wrong key gets from a single org.

    from litmos_sim import SimConfig, run_fleet
    with run_fleet([SimConfig(seed=1, api_key="ka"), SimConfig(seed=2, api_key="kb")], names=["a", "b"]) as fleet:
        fleet.base_url, fleet.orgs["a"].ground_truth("/org/users/details")

Control endpoints (JSON, no key): GET /_sim/orgs lists the orgs; /_sim/orgs/<name>/<action> is the
single-org /_sim/<action> of that org (clock, faults, reset, ground_truth, requests, stats, health);
GET /_sim/health; GET|DELETE /_sim/rejected: requests that carried no known key.
"""
from __future__ import annotations

import contextlib
import re
import threading
from typing import Iterator, Sequence

from . import control
from .api import BASE_PATH, forbidden_key, given_api_key, key_matches
from .config import DEFAULT_API_KEY, SimConfig
from .serving import HttpServing
from .simulator import RequestRecord, Served, Simulator, redact_key

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
"""Org names: they appear in control paths, so letters, digits, '_' and '-' (at most 40)."""


def org_names(count: int) -> list[str]:
    """org01..orgNN (at least two digits, more when count >= 100)."""
    width = max(2, len(str(count)))
    return [f"org{i:0{width}d}" for i in range(1, count + 1)]


def org_api_key(name: str) -> str:
    """The derived API key of an org, e.g. "litmos-sim-key-org01" (a test key, not a secret)."""
    return f"{DEFAULT_API_KEY}-{name}"


def fleet_configs(count: int, base: SimConfig | None = None,
                  names: Sequence[str] | None = None) -> tuple[list[str], list[SimConfig]]:
    """The orgs of `serve --orgs N`: names org01.., keys org_api_key(name), seeds base.seed + 0, 1, ...

    Args:
        count: Number of orgs (>= 1).
        base: Every other field (scale, history_days, now, rate limit, faults) for every org.
        names: Names instead of org01..; keys are still derived from them.

    Returns:
        (names, configs), in org order.
    """
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"the number of orgs must be an integer >= 1, got {count!r}")
    base = base or SimConfig()
    names = list(names) if names is not None else org_names(count)
    if len(names) != count:
        raise ValueError(f"got {len(names)} names for {count} orgs; give one name per org")
    configs = [base.replace(seed=base.seed + i, api_key=org_api_key(name)) for i, name in enumerate(names)]
    return names, configs


def check_orgs(names: Sequence[str], configs: Sequence[SimConfig]) -> None:
    """Raise ValueError (one line) unless names are valid and unique and every org has its own key."""
    if not configs:
        raise ValueError("a fleet needs at least one org")
    if len(names) != len(configs):
        raise ValueError(f"got {len(names)} names for {len(configs)} orgs; give one name per org")
    seen_names: set[str] = set()
    seen_keys: dict[str, str] = {}
    for name, cfg in zip(names, configs):
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ValueError(f"org name {name!r} is invalid; use 1-40 letters, digits, '_' or '-' "
                             "(starting with a letter or digit)")
        if name in seen_names:
            raise ValueError(f"org name {name!r} is used twice; give every org its own name")
        seen_names.add(name)
        if cfg.api_key in seen_keys:
            raise ValueError(f"orgs {seen_keys[cfg.api_key]!r} and {name!r} have the same api_key; "
                             "give every org its own key")
        seen_keys[cfg.api_key] = name


class Fleet(HttpServing):
    """Several Simulators served by one HTTP server, each picked by its API key.

    Args:
        configs: One SimConfig per org (each with its own api_key).
        names: Org names (default org01..); used in control paths /_sim/orgs/<name>/.

    Attributes:
        orgs: name -> Simulator, in the given order. Each org's `base_url` is the fleet's and its
            `control_url` is .../_sim/orgs/<name>.
    """

    _thread_name = "litmos-sim-fleet"
    _not_serving = "the fleet is not serving; call start() or use run_fleet()"

    def __init__(self, configs: Sequence[SimConfig], names: Sequence[str] | None = None):
        configs = list(configs)
        names = list(names) if names is not None else org_names(len(configs))
        check_orgs(names, configs)
        self.orgs: dict[str, Simulator] = {}
        for name, cfg in zip(names, configs):
            sim = Simulator(cfg)
            sim.attach_to_fleet(self, name)
            self.orgs[name] = sim
        self._lock = threading.Lock()
        self._rejected: list[RequestRecord] = []
        self._server = None
        self._thread = None

    # ---- lookup ----------------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Org names in order."""
        return list(self.orgs)

    def org(self, name: str) -> Simulator:
        """The org called `name` (KeyError naming the known orgs otherwise)."""
        try:
            return self.orgs[name]
        except KeyError:
            raise KeyError(f"no org named {name!r}; the orgs are {', '.join(self.orgs)}") from None

    def by_key(self, api_key: str | None) -> Simulator | None:
        """The org whose current key is `api_key` (keys are read live: a reset may change one)."""
        for sim in self.orgs.values():
            if key_matches(api_key, sim.config.api_key):
                return sim
        return None

    # ---- app interface of litmos_sim.server ------------------------------------------------------------
    @property
    def clock_sim(self) -> Simulator:
        """Requests without a known key get the first org's clock in their Date header."""
        return next(iter(self.orgs.values()))

    def resolve(self, params: dict[str, str], headers) -> Simulator | None:
        """The org of the request's key, None when it carries no known key."""
        return self.by_key(given_api_key(params, headers))

    def reject(self, method: str, path: str, params: dict[str, str]) -> Served:
        """A single org's wrong-key 403, logged in the fleet's own log (no org's latency or faults)."""
        resp = forbidden_key()
        short = path[len(BASE_PATH):] if path.startswith(BASE_PATH + "/") else path
        record = RequestRecord(method, short, redact_key(params), resp.status, 0, self.clock_sim.now())
        with self._lock:
            self._rejected.append(record)
        return Served(resp, 0.0, resp.body.encode("utf-8"))

    def rejected_requests(self) -> list[RequestRecord]:
        """API requests that carried no key or an unknown one (every org's own log misses them)."""
        with self._lock:
            return list(self._rejected)

    def clear_rejected(self) -> None:
        """Empty the log of rejected requests."""
        with self._lock:
            self._rejected.clear()

    def summary(self, name: str) -> dict:
        """What GET /_sim/orgs says about one org."""
        sim = self.orgs[name]
        cfg = sim.config
        return {"name": name, "api_key": cfg.api_key, "seed": cfg.seed, "scale": cfg.scale,
                "history_days": cfg.history_days, "now": sim.now().isoformat(), "rate_limit": cfg.rate_limit}

    def control(self, method: str, path: str, query: str, body: bytes):
        """Answer /_sim/...; returns (org whose clock writes Date or None, status, payload)."""
        rest = path[len(control.CONTROL_PREFIX):].strip("/")
        parts = rest.split("/", 2)
        if rest == "health":
            return None, 200, {"status": "ok", "orgs": len(self.orgs)}
        if rest == "rejected":
            if method == "DELETE":
                self.clear_rejected()
                return None, 200, {"status": "cleared"}
            return None, 200, [control.jsonable(r.__dict__) for r in self.rejected_requests()]
        if parts[0] != "orgs":
            return None, 404, {"error": f"unknown control endpoint {method} {path}; this server hosts "
                                        f"{len(self.orgs)} orgs: use /_sim/orgs/<name>/<action> "
                                        "(GET /_sim/orgs lists them)"}
        if len(parts) == 1:
            return None, 200, [self.summary(name) for name in self.orgs]
        sim = self.orgs.get(parts[1])
        if sim is None:
            return None, 404, {"error": f"no org named {parts[1]!r}; GET /_sim/orgs lists the orgs"}
        if len(parts) == 2:
            return sim, 200, self.summary(parts[1])
        action = parts[2]
        if action.strip("/") == "reset" and method == "POST":
            problem = self._reset_key_clash(sim, query, body)
            if problem is not None:
                return sim, 400, problem
        status, payload = control.handle(sim, method, f"{control.CONTROL_PREFIX}/{action}", query, body)
        return sim, status, payload

    def _reset_key_clash(self, sim: Simulator, query: str, body: bytes) -> dict | None:
        args = control.parse_args(query, body)
        key = (args or {}).get("api_key")
        other = self.by_key(key) if isinstance(key, str) else None
        if other is not None and other is not sim:
            return {"error": f"api_key is the key of org {other.name!r}; give every org its own key"}
        return None

    # ---- HTTP server lifecycle: serving.HttpServing -----------------------------------------------------
    def _make_server(self, host: str, port: int):
        from .server import make_app_server

        return make_app_server(self, host, port)


@contextlib.contextmanager
def run_fleet(configs: Sequence[SimConfig], names: Sequence[str] | None = None, host: str = "127.0.0.1",
              port: int = 0) -> Iterator[Fleet]:
    """Run a fleet in-process on a free port for the duration of a `with` block."""
    fleet = Fleet(configs, names)
    fleet.start(host, port)
    try:
        yield fleet
    finally:
        fleet.stop()
