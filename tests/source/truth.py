"""Compare a warehouse (DuckDB file or Postgres DSN) with the simulator's ground truth, table by table."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from sources.litmos.settings import ENDPOINTS, column_name

UTC = timezone.utc
TRUTH_PATHS = {
    "collection_listings": "/collectionlistings/{collectionid}",
    "collection_listing_users": "/collectionlistings/{listingid}/users",
    "collection_listing_teams": "/collectionlistings/{listingid}/teams",
    "module_details": "/modules/{moduleid}",
}
SKIP = {"_dlt_id", "_dlt_load_id", "_litmos_synced_at"}


def truth_rows(sim, table: str) -> list[dict]:
    """Ground truth of one table with warehouse column names and the pipeline's value types."""
    endpoint = ENDPOINTS[table]
    rows = []
    for record in sim.ground_truth(TRUTH_PATHS.get(table, endpoint.path)):
        row = {}
        for name, value in record.items():
            col = column_name(name)
            if isinstance(value, timedelta):
                value = int(value.total_seconds())
            elif endpoint.columns.get(col, "str") == "str" and value is not None and not isinstance(value, str):
                # ModuleType 9 (int in the simulator) is text in both module tables, and undocumented
                # elements load as text columns by design.
                value = str(value)
            row[col] = value
        rows.append(row)
    return rows


def warehouse_rows(conn, dataset: str, table: str) -> list[dict]:
    """All rows of a raw table as dicts (timestamps in UTC), without dlt/sync bookkeeping columns."""
    cur = conn.cursor()
    try:
        cur.execute(f'select * from "{dataset}"."{table}"')
    except Exception:  # table never created (no rows and no run): empty
        try:
            conn.rollback()  # psycopg2 aborts the transaction on a failed statement
        except Exception:
            pass
        return []
    names = [d[0] for d in cur.description]
    out = []
    for values in cur.fetchall():
        row = {}
        for name, value in zip(names, values):
            if name in SKIP:
                continue
            if isinstance(value, datetime):
                value = value.astimezone(UTC)
            row[name] = value
        out.append(row)
    return out


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, (float, int)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


# user_logins is an event log keyed by (user, LastLogin). The simulator renders every past login with the
# user's CURRENT fields; an incremental reader re-reads only recent logins, so for old events only the
# key (and the login time) can match. Compared: key columns only.
KEY_ONLY = {"user_logins"}


def diff_table(sim, conn, dataset: str, table: str, login_keys_stored: bool = False) -> list[str]:
    """Differences between truth and warehouse for one table (empty list = equal).

    Credential columns (``LoginKey``) are expected NULL unless the run stored them.
    """
    key = ENDPOINTS[table].primary_key
    truth = truth_rows(sim, table)
    if not login_keys_stored:
        blank = {c: None for c in ENDPOINTS[table].credentials}
        truth = [{**r, **blank} for r in truth]
    if table in KEY_ONLY:
        truth = [{c: r.get(c) for c in key} for r in truth]
    got = warehouse_rows(conn, dataset, table)
    problems = []
    got_by_key = {}
    for row in got:
        k = tuple(row.get(c) for c in key)
        if k in got_by_key:
            problems.append(f"{table}: duplicate key {k}")
        got_by_key[k] = row
    truth_by_key = {tuple(r.get(c) for c in key): r for r in truth}
    missing = set(truth_by_key) - set(got_by_key)
    extra = set(got_by_key) - set(truth_by_key)
    if missing:
        problems.append(f"{table}: {len(missing)} missing rows, e.g. {sorted(missing, key=str)[:3]}")
    if extra:
        problems.append(f"{table}: {len(extra)} unexpected rows, e.g. {sorted(extra, key=str)[:3]}")
    for k, want in truth_by_key.items():
        have = got_by_key.get(k)
        if have is None:
            continue
        for col, value in want.items():
            if not _same(value, have.get(col)):
                problems.append(f"{table} {k}: {col} = {have.get(col)!r}, truth {value!r}")
                break
        for col, value in have.items():  # a column the truth does not have must be empty
            if table not in KEY_ONLY and col not in want and value is not None and col not in (ENDPOINTS[table].parent_column,):
                problems.append(f"{table} {k}: unexpected value {col} = {value!r}")
                break
        if len(problems) > 20:
            break
    return problems


def diff_all(sim, conn, dataset: str = "litmos_raw", tables=None, login_keys_stored: bool = False) -> list[str]:
    problems = []
    for table in tables or ENDPOINTS:
        problems += diff_table(sim, conn, dataset, table, login_keys_stored)
    return problems
