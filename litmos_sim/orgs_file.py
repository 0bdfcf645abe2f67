"""The orgs file of `litmos-sim serve --orgs-file FILE`: one TOML table per simulated org.

    [defaults]              # optional: fields for every org
    scale = 100

    [[orgs]]
    name = "acme"           # required: letters, digits, '_' or '-'
    api_key = "acme-key"    # default litmos-sim-key-<name>
    seed = 7                # default --seed + the org's position (0, 1, ...)
    history_days = 365
    rate_limit = 100        # requests/min, 0 = unlimited

Any SimConfig field may be given (latency_ms, fail_rate, now = 2026-01-15T10:30:00Z, ...); fields
neither in the org nor in [defaults] come from the command line flags. Every problem is a ValueError
with a one-line message naming the file, the org and the field.
"""
from __future__ import annotations

import dataclasses
import tomllib
from datetime import datetime, timezone
from pathlib import Path

from .config import SimConfig
from .fleet import check_orgs, org_api_key

_INT_FIELDS = {"seed", "scale", "history_days", "rate_limit", "rate_limit_status", "latency_ms",
               "latency_jitter_ms"}
_FLOAT_FIELDS = {"fail_rate", "truncate_rate", "drop_rate"}
_BOOL_FIELDS = {"day_granular_to", "oversize_pages", "empty_final_page"}
FIELDS = [f.name for f in dataclasses.fields(SimConfig)]


def _typed(where: str, name: str, value):
    """The value of one field, checked against its SimConfig type."""
    if name in _INT_FIELDS:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{where}: {name} must be an integer, got {value!r}")
        return None if name == "rate_limit" and value == 0 else value  # 0 = unlimited, as --rate-limit 0
    if name in _FLOAT_FIELDS:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"{where}: {name} must be a number from 0.0 to 1.0, got {value!r}")
        return float(value)
    if name in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise ValueError(f"{where}: {name} must be true or false, got {value!r}")
        return value
    if name == "now":
        if not isinstance(value, datetime):
            raise ValueError(f"{where}: now must be a TOML date-time such as 2026-01-15T10:30:00Z, got {value!r}")
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str):
        raise ValueError(f"{where}: {name} must be a string, got {value!r}")
    return value


def _fields(where: str, table: dict, allow_name: bool) -> dict:
    # [defaults] takes neither name nor api_key: every org needs its own of both.
    allowed = ["name"] + FIELDS if allow_name else [n for n in FIELDS if n != "api_key"]
    out = {}
    for name, value in table.items():
        if name not in allowed:
            raise ValueError(f"{where}: unknown field {name!r}; allowed: {', '.join(allowed)}")
        if name != "name":
            out[name] = _typed(where, name, value)
    return out


def load_orgs_file(path: str | Path, base: SimConfig) -> tuple[list[str], list[SimConfig]]:
    """Read an orgs file; `base` holds the command line's values for fields the file leaves out.

    Returns:
        (names, configs) in file order.

    Raises:
        ValueError: with a one-line message saying what is wrong and where.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read orgs file {path} ({exc.strerror}); pass an existing TOML file "
                         "to --orgs-file") from None
    except UnicodeDecodeError:
        raise ValueError(f"orgs file {path} is not UTF-8 text; save it as UTF-8 TOML") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"orgs file {path} is not valid TOML: {str(exc).splitlines()[0]}") from None
    unknown = sorted(set(doc) - {"orgs", "defaults"})
    if unknown:
        raise ValueError(f"orgs file {path}: unknown top-level key {unknown[0]!r}; the file holds an optional "
                         "[defaults] table and one [[orgs]] table per org")
    defaults = doc.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ValueError(f"orgs file {path}: defaults must be a table ([defaults])")
    common = _fields(f"orgs file {path}: [defaults]", defaults, allow_name=False)
    orgs = doc.get("orgs")
    if not isinstance(orgs, list) or not orgs or not all(isinstance(o, dict) for o in orgs):
        raise ValueError(f"orgs file {path} has no [[orgs]] tables; add one [[orgs]] table per org, "
                         'each with at least name = "..."')
    names, configs = [], []
    for i, table in enumerate(orgs):
        name = table.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError(f'orgs file {path}: org #{i + 1} has no name; add name = "..." to its [[orgs]] table')
        where = f"orgs file {path}: org {name!r}"
        fields = {"seed": base.seed + i, "api_key": org_api_key(name), **common,
                  **_fields(where, table, allow_name=True)}
        try:
            configs.append(base.replace(**fields))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        names.append(name)
    try:
        check_orgs(names, configs)
    except ValueError as exc:
        raise ValueError(f"orgs file {path}: {exc}") from None
    return names, configs

