"""Where the org's history begins, what each table already holds of it, and re-sync swaps.

The API cannot say how old an org is, so a first sync walks the history back, window by window, to
``history_start`` when the user chose one, else to the **discovered bound**: the day of the earliest
``CreatedDate`` held minus ``HISTORY_MARGIN_DAYS`` (nothing changed before the org existed). Each pass
re-checks the bound; then, while rows reference parents never returned, the walk goes on a
``DANGLING_STEP_DAYS`` step at a time as long as each step finds some. Queries use dlt's SQL client.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

import dlt

from sources.litmos import RESYNC_SUFFIX
from sources.litmos.settings import ENDPOINTS
from sources.litmos.windows import floor_day, parse_user_date

log = logging.getLogger(__name__)

HISTORY_MARGIN_DAYS = 91  # empty history walked below the oldest record: 13 requests per delta resource
DANGLING_STEP_DAYS = 182
# Nothing is older than Litmos itself.
HISTORY_FLOOR = datetime(2007, 1, 1, tzinfo=timezone.utc)
SWAPS_TABLE = "_litmos_resync_swaps"

# child table -> {column: parent table (joined on its id)}: the references the marts join on.
REFERENCES: dict[str, dict[str, str]] = {
    "course_results": {"user_id": "users", "id": "courses"},
    "learning_path_results": {"user_id": "users", "id": "learning_paths"},
    "module_results": {"user_id": "users"},
    "user_courses": {"user_id": "users", "id": "courses"},
    "learning_path_users": {"learning_path_id": "learning_paths", "id": "users"},
    "learning_path_courses": {"learning_path_id": "learning_paths", "id": "courses"},
    "course_modules": {"course_id": "courses", "id": "modules"},
    "team_users": {"team_id": "teams", "id": "users"},
    "team_courses": {"team_id": "teams", "id": "courses"},
    "team_learning_paths": {"team_id": "teams", "id": "learning_paths"},
    "teams": {"parent_team_id": "teams"},
}

DELTA_TABLES = tuple(t for t, e in ENDPOINTS.items() if e.kind == "delta")


def _existing_tables(client: Any, tables: Iterable[str]) -> set[str]:
    rows = client.execute_sql("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                              client.dataset_name)
    return set(tables) & {r[0] for r in rows or []}


def earliest_created(pipeline: dlt.Pipeline) -> datetime | None:
    """The earliest ``created_date`` of any row of any delta table held (None: no row yet)."""
    with pipeline.sql_client() as client:
        tables = _existing_tables(client, [t for t in DELTA_TABLES if "created_date" in ENDPOINTS[t].columns])
        if not tables:
            return None
        union = " UNION ALL ".join(
            f"SELECT MIN(created_date) AS m FROM {client.make_qualified_table_name(t)}" for t in sorted(tables))
        rows = client.execute_sql(f"SELECT MIN(m) FROM ({union}) AS t")
    return parse_user_date(rows[0][0], "created_date") if rows else None


def dangling_references(pipeline: dlt.Pipeline) -> int:
    """Rows whose parent (a user, course, team, ...) the warehouse does not hold."""
    total = 0
    with pipeline.sql_client() as client:
        name = client.make_qualified_table_name
        present = _existing_tables(client, {*REFERENCES, *(p for refs in REFERENCES.values() for p in refs.values())})
        for child, refs in REFERENCES.items():
            for column, parent in refs.items() if child in present else ():
                orphan = f" AND NOT EXISTS (SELECT 1 FROM {name(parent)} p WHERE p.id = c.{column})"
                total += int(client.execute_sql(f"SELECT COUNT(*) FROM {name(child)} c WHERE c.{column} IS NOT NULL"
                                                f"{orphan if parent in present else ''}")[0][0])
    return total


def discovered_bound(earliest: datetime | None, server_now: datetime) -> datetime:
    """The walk's lower bound when the user chose none: the oldest record's day minus the margin."""
    base = floor_day(earliest) if earliest else floor_day(server_now)
    return max(HISTORY_FLOOR, base - timedelta(days=HISTORY_MARGIN_DAYS))


def held_since(pipeline: dlt.Pipeline, tables: list[str]) -> dict[str, datetime | None]:
    """For tables loaded before the lower edge was recorded: the day of their oldest cursor value (None: empty).

    The windows ran without a gap up to the cursor, so the table holds everything from that day on.
    """
    out: dict[str, datetime | None] = {t: None for t in tables}
    with pipeline.sql_client() as client:
        present = _existing_tables(client, tables)
        for table in tables:
            column = ENDPOINTS[table].cursor
            if table not in present or not column:
                continue
            value = client.execute_sql(f"SELECT MIN({column}) FROM {client.make_qualified_table_name(table)}")
            out[table] = floor_day(parse_user_date(value[0][0], column)) if value and value[0][0] is not None else None
    return out


def new_resync_entry(bound: datetime) -> dict[str, Any]:
    """The state entry that starts a re-sync of one table; its id names the swap."""
    return {"id": uuid.uuid4().hex[:12], "bound": bound.astimezone(timezone.utc).isoformat(), "cursor": None}


def clear_shadow(pipeline: dlt.Pipeline, table: str) -> None:
    """Empties ``table``'s shadow copy before a fresh re-sync (kept, not dropped: dlt's schema has it)."""
    with pipeline.sql_client() as client:
        shadow = table + RESYNC_SUFFIX
        if _existing_tables(client, [shadow]):
            client.execute_sql(f"DELETE FROM {client.make_qualified_table_name(shadow)}")


def swap_in(pipeline: dlt.Pipeline, table: str, resync_id: str) -> bool:
    """Replaces ``table``'s rows by its finished shadow copy; True when it swapped now.

    ``resync_id`` goes to ``_litmos_resync_swaps`` in the same transaction: a killed run swaps once.
    """
    shadow = table + RESYNC_SUFFIX
    with pipeline.sql_client() as client:
        swaps = client.make_qualified_table_name(SWAPS_TABLE)
        client.execute_sql(f"CREATE TABLE IF NOT EXISTS {swaps} (table_name VARCHAR NOT NULL, "
                           "resync_id VARCHAR NOT NULL, swapped_at TIMESTAMP WITH TIME ZONE NOT NULL)")
        done = client.execute_sql(f"SELECT COUNT(*) FROM {swaps} WHERE table_name = %s AND resync_id = %s",
                                  table, resync_id)
        if int(done[0][0]):
            return False
        present = _existing_tables(client, [table, shadow])
        target = client.make_qualified_table_name(table)
        source = client.make_qualified_table_name(shadow)
        with client.begin_transaction():
            if table in present and shadow in present:
                columns = _shared_columns(pipeline, table, shadow)
                cols = ", ".join(client.escape_column_name(c) for c in columns)
                client.execute_sql(f"DELETE FROM {target}")
                client.execute_sql(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {source}")
                client.execute_sql(f"DELETE FROM {source}")
            elif table in present:  # the API holds nothing for it any more
                client.execute_sql(f"DELETE FROM {target}")
            client.execute_sql(f"INSERT INTO {swaps} VALUES (%s, %s, %s)", table, resync_id,
                               datetime.now(timezone.utc))
    log.info("re-sync of %s: the new copy replaced the old rows", table)
    return True


def _shared_columns(pipeline: dlt.Pipeline, table: str, shadow: str) -> list[str]:
    tables = pipeline.default_schema.tables
    ours = [c for c, col in tables.get(table, {}).get("columns", {}).items() if col.get("data_type")]
    theirs = {c for c, col in tables.get(shadow, {}).get("columns", {}).items() if col.get("data_type")}
    return [c for c in ours if c in theirs]
