"""The API's request rules and responses: auth, source, routing, parameters, paging, formats, quirks.

Checks run in a fixed order and the first failure answers: API key (403), rate limit (503/429, applied
by the server), `source` (403 missing / 400 too long), route (404, 405 for non-GET), parameters (400).
Bodies of errors are one short text/plain line saying what was wrong and how to fix it.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from . import org as O
from .render import (dumps, json_document, json_row_renderer, xml_document, xml_row_renderer)
from .schema import (ACHIEVEMENTS, COLLECTIONS, LISTING_TEAMS, LISTING_USERS, LISTINGS, MODULE_DETAIL,
                     ORG_ENDPOINTS, XSI_NS, Endpoint)
from .timefmt import day_start_ms, parse_date_or_datetime, parse_window_datetime

BASE_PATH = "/v1.svc"
MAX_WINDOW_MS = 7 * 86_400_000
XML_TYPE = "application/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
_ORG_BY_LOWER = {path.lower(): ep for path, ep in ORG_ENDPOINTS.items()}


@dataclass
class Response:
    """One HTTP answer before faults are applied."""

    status: int
    body: str
    content_type: str = TEXT_TYPE
    rows: int = 0
    headers: dict = field(default_factory=dict)
    window_s: float | None = None
    endpoint: str | None = None


def error(status: int, message: str) -> Response:
    """A short text/plain error response."""
    return Response(status, message, TEXT_TYPE)


def parse_query(query: str) -> dict[str, str]:
    """Query parameters as a dict (the last value wins when a name repeats)."""
    return dict(parse_qsl(query, keep_blank_values=True))


def param(params: dict[str, str], name: str) -> str | None:
    """Query parameter by case-insensitive name (ASP.NET binds query names case-insensitively)."""
    for key, value in params.items():
        if key.lower() == name:
            return value
    return None


FORBIDDEN_KEY_MESSAGE = "Forbidden: missing or invalid API key; send it in the 'apikey' request header"


def given_api_key(params: dict[str, str], headers) -> str | None:
    """The key a request carries: the apikey header (any case), else the apikey query parameter."""
    given = headers.get("apikey") if headers is not None else None
    if given is None:
        given = param(params, "apikey")
    return given


def key_matches(given: str | None, api_key: str) -> bool:
    """Constant-time comparison of a request's key with an org's key (False when none was sent)."""
    return bool(given) and hmac.compare_digest(given.encode(), api_key.encode())


def forbidden_key() -> Response:
    """The 403 of a missing or wrong key."""
    return error(403, FORBIDDEN_KEY_MESSAGE)


def check_api_key(params: dict[str, str], headers, api_key: str) -> Response | None:
    """403 unless the apikey header (any case) or apikey query parameter equals the configured key."""
    if not key_matches(given_api_key(params, headers), api_key):
        return forbidden_key()
    return None


def wants_json(params: dict[str, str], headers) -> bool:
    """JSON when format=json, or an Accept / Content-Type header names application/json."""
    fmt = param(params, "format")
    if fmt is not None:
        return fmt.strip().lower() == "json"
    for name in ("Accept", "Content-Type"):
        value = headers.get(name) if headers is not None else None
        if value and "application/json" in value.lower():
            return True
    return False


def oversize_extra(seed: int, path: str, lo: int, hi: int, start: int, limit: int) -> int:
    """Quirk: 0 or 1-5 extra records for this page, decided by seed and request (deterministic)."""
    digest = hashlib.blake2b(f"{seed}|{path}|{lo}|{hi}|{start}|{limit}".encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    return 1 + (value // 100) % 5 if value % 100 < 25 else 0


class Api:
    """Answers API requests from a simulator's state (org, clock, config); call under the state lock."""

    def __init__(self, sim):
        self.sim = sim
        self._xml = {}
        self._json = {}
        for ep in list(ORG_ENDPOINTS.values()) + [ACHIEVEMENTS, COLLECTIONS, LISTINGS, LISTING_USERS,
                                                  LISTING_TEAMS, MODULE_DETAIL]:
            self._xml[ep.path] = xml_row_renderer(ep)
            self._json[ep.path] = json_row_renderer(ep)

    # ---- entry point -----------------------------------------------------------------------------------
    def handle(self, method: str, path: str, params: dict[str, str], headers) -> Response:
        """Apply source, route and parameter rules (the key and rate limit were checked by the caller)."""
        source = param(params, "source")
        if source is None or not source.strip():
            return error(403, "Forbidden: missing 'source' query parameter; add source=<your app name> "
                              "(free text, at most 50 characters)")
        if len(source) > 50:
            return error(400, f"Bad Request: 'source' is {len(source)} characters long; use at most 50")
        if not path.startswith(BASE_PATH + "/"):
            return error(404, f"Not Found: {path} is not an API path; the base path is {BASE_PATH}")
        sub = path[len(BASE_PATH):].rstrip("/")
        route = self._route(sub)
        if route is None:
            return error(404, f"Not Found: no endpoint {sub}")
        if method != "GET":
            return error(405, f"Method Not Allowed: the simulator serves only GET on {sub}")
        kind, arg = route
        as_json = wants_json(params, headers)
        paging = self._paging(params)
        if isinstance(paging, Response):
            return paging
        start, limit = paging
        if kind == "org":
            resp = self._org(arg, params, start, limit, as_json)
        elif kind == "achievements":
            resp = self._achievements(params, start, limit, as_json)
        elif kind == "module":
            resp = self._module_detail(arg, as_json)
        else:
            resp = self._collections(kind, arg, start, limit, as_json)
        return resp

    def _route(self, sub: str):
        low = sub.lower()
        if low in _ORG_BY_LOWER:
            return "org", _ORG_BY_LOWER[low]
        parts = sub.split("/")[1:]
        lowp = [p.lower() for p in parts]
        if lowp == ["achievements"]:
            return "achievements", None
        if lowp == ["collections"]:
            return "collections", None
        if len(parts) == 2 and lowp[0] == "collectionlistings" and parts[1]:
            return "listings", parts[1]
        if len(parts) == 3 and lowp[0] == "collectionlistings" and lowp[2] in ("users", "teams") and parts[1]:
            return "listing_" + lowp[2], parts[1]
        if len(parts) == 2 and lowp[0] == "modules" and parts[1]:
            return "module", parts[1]
        return None

    @staticmethod
    def _paging(params: dict[str, str]):
        start_text, limit_text = param(params, "start"), param(params, "limit")
        try:
            start = 0 if start_text is None else int(start_text)
        except ValueError:
            start = -1
        if start < 0:
            return error(400, f"Bad Request: start={start_text!r} is invalid; use an integer >= 0")
        try:
            limit = 100 if limit_text is None else int(limit_text)
        except ValueError:
            limit = -1
        if not 1 <= limit <= 1000:
            return error(400, f"Bad Request: limit={limit_text!r} is invalid; use an integer from 1 to 1000")
        return start, limit

    # ---- /org/* ------------------------------------------------------------------------------------------
    def _window(self, params: dict[str, str]):
        values = {}
        for name in ("since", "to"):
            text = param(params, name)
            if text is None or not text.strip():
                return error(400, f"Bad Request: missing '{name}' query parameter; add {name}=YYYY-MM-DD HH:MM:SS "
                                  "(UTC, range at most 7 days)")
            parsed = parse_window_datetime(text)
            if parsed is None:
                return error(400, f"Bad Request: {name}={text!r} is not a date-time; use YYYY-MM-DD HH:MM:SS (UTC)")
            values[name] = parsed
        lo, hi = values["since"], values["to"]
        if lo > hi:
            return error(400, "Bad Request: 'since' is after 'to'; swap them")
        if hi - lo > MAX_WINDOW_MS:
            return error(400, "Bad Request: the date range since..to is longer than 7 days; split it into "
                              "ranges of at most 7 days")
        return lo, hi

    def _org(self, ep: Endpoint, params, start: int, limit: int, as_json: bool) -> Response:
        window = self._window(params)
        if isinstance(window, Response):
            return window
        lo, hi = window
        sim = self.sim
        cfg = sim.config
        table = sim.org.t(ep.table)
        if cfg.day_granular_to:
            order, a, b = table.window(lo, day_start_ms(hi), hi_inclusive=False)
        else:
            order, a, b = table.window(lo, hi, hi_inclusive=True)
        extra = oversize_extra(cfg.seed, ep.path, lo, hi, start, limit) if cfg.oversize_pages else 0
        first = a + start
        last = min(b, first + limit + extra)
        picked = order[first:last] if first < b else []
        if ep.table == "logins":
            body = self._render_logins(picked, as_json)
        else:
            body = self._render(ep, table, picked, as_json)
        resp = Response(200, body, JSON_TYPE if as_json else XML_TYPE, rows=len(picked))
        resp.window_s = (hi - lo) / 1000.0
        resp.endpoint = ep.path
        return resp

    def _render(self, ep: Endpoint, table, picked: list[int], as_json: bool) -> str:
        rows = table.rows
        if as_json:
            cache, render = table.cache("json"), self._json[ep.path]
            items = []
            for i in picked:
                text = cache.get(i)
                if text is None:
                    text = cache[i] = dumps(render(rows[i]))
                items.append(text)
            return json_document(items)
        cache, render = table.cache("xml"), self._xml[ep.path]
        items = []
        for i in picked:
            text = cache.get(i)
            if text is None:
                text = cache[i] = render(rows[i])
            items.append(text)
        return xml_document(ep, items, self.sim.config.empty_final_page)

    def login_row(self, event: list) -> list:
        """The /org/users/logins record of a login event: the user as now, LastLogin = the event."""
        row = list(self.sim.org.t("users").rows[event[0]])
        row[O.U.LastLogin] = event[1]
        return row

    def _render_logins(self, picked: list[int], as_json: bool) -> str:
        ep = ORG_ENDPOINTS["/org/users/logins"]
        table = self.sim.org.t("logins")
        fmt = "json" if as_json else "xml"
        cache = table.cache(fmt)
        items = []
        for i in picked:
            text = cache.get(i)
            if text is None:
                row = self.login_row(table.rows[i])
                text = dumps(self._json[ep.path](row)) if as_json else self._xml[ep.path](row)
                cache[i] = text
            items.append(text)
        if as_json:
            return json_document(items)
        return xml_document(ep, items, self.sim.config.empty_final_page)

    # ---- other endpoints ---------------------------------------------------------------------------------
    def achievement_rows(self, since_ms: int | None, user_id: str | None) -> list[list]:
        """Seed-004 achievements, AchievementDate descending (ties: AchievementId descending)."""
        table = self.sim.org.t("achievements")
        if since_ms is None:
            positions = table.ordered()
        else:
            order, a, b = table.window(since_ms, 1 << 62, hi_inclusive=True)
            positions = order[a:b]
        rows = [table.rows[i] for i in reversed(positions)]
        if user_id is not None:
            rows = [r for r in rows if r[O.AX.UserId] == user_id]
        return rows

    def _achievements(self, params, start: int, limit: int, as_json: bool) -> Response:
        since_text = param(params, "since")
        since = None
        if since_text is not None and since_text.strip():
            since = parse_date_or_datetime(since_text)
            if since is None:
                return error(400, f"Bad Request: since={since_text!r} is not a date; use YYYY-MM-DD or "
                                  "YYYY-MM-DD HH:MM:SS (UTC)")
        user_id = param(params, "userid")
        rows = self.achievement_rows(since, user_id or None)[start:start + limit]
        return self._plain_list(ACHIEVEMENTS, rows, as_json)

    def _plain_list(self, ep: Endpoint, rows: list[list], as_json: bool) -> Response:
        if as_json:
            render = self._json[ep.path]
            body = json_document([dumps(render(r)) for r in rows])
        else:
            render = self._xml[ep.path]
            body = xml_document(ep, [render(r) for r in rows], self.sim.config.empty_final_page)
        resp = Response(200, body, JSON_TYPE if as_json else XML_TYPE, rows=len(rows))
        resp.endpoint = ep.path
        return resp

    def _collections(self, kind: str, arg: str | None, start: int, limit: int, as_json: bool) -> Response:
        org = self.sim.org
        if kind == "collections":
            return self._plain_list(COLLECTIONS, org.collections[start:start + limit], as_json)
        if kind == "listings":
            if arg not in org.listings:
                return error(404, f"Not Found: no collection with id {arg}")
            return self._plain_list(LISTINGS, org.listings[arg][start:start + limit], as_json)
        source = org.listing_users if kind == "listing_users" else org.listing_teams
        if arg not in source:
            return error(404, f"Not Found: no collection listing with id {arg}")
        ep = LISTING_USERS if kind == "listing_users" else LISTING_TEAMS
        return self._plain_list(ep, source[arg][start:start + limit], as_json)

    def module_detail_rows(self) -> dict[str, list]:
        """Seed-002 module records (SCORM / Tin Can modules only) by module Id."""
        org = self.sim.org
        modules = org.t("modules").rows
        out = {}
        for m, (ref, hide, new_window, review, status) in org.module_details.items():
            mod = modules[m]
            out[mod[O.MOD.Id]] = [mod[O.MOD.Id], 9, mod[O.MOD.Name], mod[O.MOD.Description], mod[O.MOD.Active],
                                  ref, hide, new_window, review, status, None]
        return out

    def _module_detail(self, module_id: str, as_json: bool) -> Response:
        row = self.module_detail_rows().get(module_id)
        if row is None:
            return error(404, f"Not Found: no SCORM or Tin Can module with id {module_id}")
        if as_json:
            body = dumps(self._json[MODULE_DETAIL.path](row))
        else:
            inner = self._xml[MODULE_DETAIL.path](row)
            # A single object: the item element itself is the root and carries xmlns:i.
            body = inner.replace("<Module>", f'<Module xmlns:i="{XSI_NS}">', 1)
        resp = Response(200, body, JSON_TYPE if as_json else XML_TYPE, rows=1)
        resp.endpoint = MODULE_DETAIL.path
        return resp
