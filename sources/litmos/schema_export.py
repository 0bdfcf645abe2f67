"""Writes the warehouse schema of settings.py into the dbt project and the docs:
``python -m sources.litmos.schema_export [--check]`` (``--check`` lists the stale files, exit 1).

Generated: ``macros/staging_schema.sql`` (every staging view's columns, types, key and version columns),
the ``stg_litmos__<table>.sql`` models, their key tests in ``_staging.yml``, and the marked docs tables.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from .settings import ENDPOINTS, STAGING, Endpoint

ROOT = Path(__file__).resolve().parents[2]
STAGING_DIR = ROOT / "dbt_models" / "models" / "staging"
SPEC_MACRO = ROOT / "dbt_models" / "macros" / "staging_schema.sql"
STAGING_YML = STAGING_DIR / "_staging.yml"
DOCS = (ROOT / "docs" / "architecture.md", ROOT / "sources" / "litmos" / "README.md")
COMMAND = "python -m sources.litmos.schema_export"
NOTE = (f"Generated from sources/litmos/settings.py by `{COMMAND}`: edit settings.py and rerun it "
        "(tests/source/test_schema_in_one_place.py fails while this file is stale).")
SQL_TYPES = {"str": "text", "int": "bigint", "float": "float8", "bool": "boolean", "ts": "timestamptz",
             "secs": "bigint"}
AUDIT = ("created_date", "updated_date", "created_by", "updated_by")
VERSION_COLUMNS = ("updated_date", "created_date")


@dataclass(frozen=True)
class StagingView:
    """The dbt staging view of one raw table (one row per ``key``; the first non-NULL of the
    ``version_columns`` dates a version, the newest wins)."""

    table: str
    grain: str
    columns: tuple[tuple[str, str, str], ...]  # (raw column, staged column, SQL type) in the view's order
    key: tuple[str, ...]
    version_columns: tuple[str, ...]

    @property
    def model(self) -> str:
        return f"stg_litmos__{self.table}"


def staging_view(table: str) -> StagingView:
    """A table's staging view, from its ENDPOINTS and STAGING rows.

    Raises:
        ValueError: The STAGING row names a column the endpoint does not have, or two staged names collide.
    """
    endpoint, staging = ENDPOINTS[table], STAGING[table]
    moved = {c for group in staging.after for c in group.split()} | set(staging.after.values())
    unknown = (set(staging.renames) | set(staging.keep or ()) | moved) - set(endpoint.columns)
    if unknown:
        raise ValueError(f"STAGING[{table!r}] names columns {sorted(unknown)} that {table} does not have")
    key = list(endpoint.primary_key)
    wanted = [c for c in endpoint.columns if c not in key and c not in endpoint.credentials
              and (staging.keep is None or c in staging.keep)]
    order = key + [c for c in wanted if c not in AUDIT] + [c for c in AUDIT if c in wanted]
    for group, anchor in staging.after.items():
        order = [c for c in order if c not in group.split()]
        at = order.index(anchor) + 1
        order[at:at] = group.split()

    def staged(column: str) -> str:
        return "is_active" if column == "active" else staging.renames.get(column, column)

    columns = tuple((c, staged(c), SQL_TYPES[endpoint.columns[c]]) for c in order)
    names = [name for _, name, _ in columns]
    if len(set(names)) != len(names):
        raise ValueError(f"STAGING[{table!r}] renames two columns of {table} to the same name")
    versions = tuple(c for c in VERSION_COLUMNS if c in names) or tuple(c for c in (endpoint.cursor,) if c in names)
    return StagingView(table, staging.grain, columns, tuple(staged(c) for c in key), versions)


def _spec_macro(views: list[StagingView]) -> str:
    def entry(view: StagingView) -> str:
        columns = ",\n".join(f"            {json.dumps(list(c))}" for c in view.columns)
        return (f'    "{view.table}": {{\n        "key": {json.dumps(list(view.key))},\n'
                f'        "version_columns": {json.dumps(list(view.version_columns))},\n'
                f'        "columns": [\n{columns}\n        ]\n    }}')
    body = ",\n".join(entry(v) for v in views)
    return (f"{{#- {NOTE}\n    Every staging view: natural key, version columns, columns [raw, staged, SQL type]. -#}}\n"
            "{% macro litmos_staging_spec(table) -%}\n"
            f"{{%- set specs = {{\n{body}\n}} -%}}\n"
            "{%- if table not in specs -%}\n"
            "    {{ exceptions.raise_compiler_error(\"raw table '\" ~ table ~ \"' has no staging view: add it to "
            f"sources/litmos/settings.py and run {COMMAND}\") }}}}\n"
            "{%- endif -%}\n"
            "{{- return(specs[table]) -}}\n"
            "{%- endmacro %}\n")


def _model(view: StagingView) -> str:
    return f"-- {view.grain}\n-- {NOTE}\n{{{{ litmos_staging('{view.table}') }}}}\n"


def _staging_yml(views: list[StagingView]) -> str:
    lines = [f"# {NOTE}", "version: 2", "",
             "# Natural keys of every staging view are tested here (unique + not_null). Each view keeps one row per",
             "# tenant and key: the newest version by coalesce(updated_date, created_date), then by _litmos_synced_at.",
             "# Keys are per tenant: in this project unique and unique_combination_of_columns group by tenant too",
             "# (macros/tenant_tests.sql), since two orgs can hold the same ids.", "",
             "models:"]
    for view in views:
        lines += [f"  - name: {view.model}", f"    description: \"{view.grain} From source litmos.{view.table}.\""]
        composite = len(view.key) > 1
        if composite:
            lines += ["    data_tests:", "      - unique_combination_of_columns:", "          arguments:",
                      f"            combination_of_columns: [{', '.join(view.key)}]"]
        lines += ["    columns:", "      - name: tenant",
                  "        description: The tenant (Litmos org) whose raw schema the row comes from.",
                  "        data_tests:", "          - not_null"]
        for column in view.key:
            lines += [f"      - name: {column}", f"        description: Natural key{' part' if composite else ''}.",
                      "        data_tests:", "          - not_null"] + ([] if composite else ["          - unique"])
        if any(name == "is_active" for _, name, _ in view.columns):
            lines += ["      - name: is_active",
                      "        description: Litmos Active flag (NULL read as true); false = removed/deactivated.",
                      "        data_tests:", "          - not_null"]
        lines += ["      - name: _litmos_synced_at", "        description: When the pipeline extracted this version (UTC)."]
    return "\n".join(lines) + "\n"


def _path(endpoint: Endpoint) -> str:
    return endpoint.path.replace("{parent}", f"{{{endpoint.parent}.id}}")


def _kind(endpoint: Endpoint) -> str:
    return f"{endpoint.kind} of {endpoint.parent}" if endpoint.parent else endpoint.kind


def _cursor(endpoint: Endpoint) -> str:
    if endpoint.cursor:
        return endpoint.cursor
    return f"follows {endpoint.parent}" if endpoint.kind == "detail" else "full refresh"


def _tables(views: list[StagingView]) -> dict[str, str]:
    """Every generated docs table by its marker name."""
    keys = ["| table | endpoint | primary key (warehouse columns) | cursor field | dbt view key |", "|---|---|---|---|---|"]
    resources = ["| table | endpoint | kind | primary key | cursor / dedup sort | disposition |", "|---|---|---|---|---|---|"]
    columns = ["| table | columns (`name:type`, type `str` left out; credentials loaded as NULL by default) |", "|---|---|"]
    for view in views:
        e = ENDPOINTS[view.table]
        pk = ", ".join(e.primary_key)
        keys.append(f"| {e.table} | {_path(e)} | {pk} | {_cursor(e)} | {view.model}: {', '.join(view.key)} |")
        resources.append(f"| {e.table} | `{_path(e)}` | {_kind(e)} | {pk} | {e.cursor or '-'} | {e.disposition} |")
        typed = " ".join(f"{c}:{t}" if t != "str" else c for c, t in e.columns.items())
        credentials = f" (credentials: {', '.join(e.credentials)})" if e.credentials else ""
        columns.append(f"| {e.table} | `{typed}`{credentials} |")
    return {"keys": "\n".join(keys), "resources": "\n".join(resources), "columns": "\n".join(columns)}


def _replace_marked(text: str, tables: dict[str, str], path: Path) -> str:
    for name, table in tables.items():
        begin = f"<!-- generated: {name} ({COMMAND}; edit sources/litmos/settings.py) -->"
        end = f"<!-- end generated: {name} -->"
        if begin not in text:
            continue
        head, _, rest = text.partition(begin)
        if end not in rest:
            raise ValueError(f"{path}: {begin!r} has no {end!r}")
        text = f"{head}{begin}\n{table}\n{end}{rest.partition(end)[2]}"
    return text


def rendered() -> dict[Path, str]:
    """Every generated file and the text it must hold."""
    views = [staging_view(table) for table in ENDPOINTS]
    files = {SPEC_MACRO: _spec_macro(views), STAGING_YML: _staging_yml(views)}
    files.update({STAGING_DIR / f"{v.model}.sql": _model(v) for v in views})
    tables = _tables(views)
    for doc in DOCS:
        files[doc] = _replace_marked(doc.read_text(), tables, doc)
    return files


def stale() -> list[Path]:
    """Generated files that disagree with settings.py, and staging models settings.py no longer has."""
    files = rendered()
    out = [path for path, text in files.items() if not path.is_file() or path.read_text() != text]
    return out + sorted(set(STAGING_DIR.glob("stg_litmos__*.sql")) - set(files))


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    """Regenerates the files (or with ``--check`` lists the stale ones); returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    paths = stale()
    if "--check" in args:
        for path in paths:
            print(f"stale: {_shown(path)} (run {COMMAND})")
        return 1 if paths else 0
    files = rendered()
    for path in paths:
        if path in files:
            path.write_text(files[path])
        else:
            path.unlink()
        print(f"{'wrote' if path in files else 'removed'} {_shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
