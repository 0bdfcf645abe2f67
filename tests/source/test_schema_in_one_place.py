"""The warehouse schema is written once (sources/litmos/settings.py); dbt's staging files and the docs'
tables are generated from it and must agree with it."""
from __future__ import annotations

import dataclasses
import re

import pytest
import yaml

from sources.litmos import schema_export
from sources.litmos.schema_export import COMMAND, ROOT, STAGING_DIR, staging_view
from sources.litmos.settings import ENDPOINTS, STAGING, Staging


def test_every_generated_file_agrees_with_settings():
    stale = [str(path.relative_to(ROOT)) for path in schema_export.stale()]
    assert stale == [], f"regenerate with `{COMMAND}`"


def test_check_names_a_generated_file_that_drifted(tmp_path, monkeypatch, capsys):
    model = tmp_path / "stg_litmos__users.sql"
    model.write_text("-- edited by hand\n")
    extra = tmp_path / "stg_litmos__gone.sql"
    extra.write_text("select 1\n")
    monkeypatch.setattr(schema_export, "STAGING_DIR", tmp_path)
    assert schema_export.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "stg_litmos__users.sql" in out and "stg_litmos__gone.sql" in out
    assert schema_export.main([]) == 0  # regenerates the model, removes the one settings.py does not have
    assert model.read_text() == schema_export.rendered()[tmp_path / "stg_litmos__users.sql"]
    assert not extra.exists()


def test_a_new_column_in_settings_makes_the_staging_spec_stale(monkeypatch):
    users = ENDPOINTS["users"]
    grown = dataclasses.replace(users, fields={**users.fields, "Nickname": "str"})
    monkeypatch.setitem(ENDPOINTS, "users", grown)
    assert ("nickname", "nickname", "text") in staging_view("users").columns
    assert schema_export.SPEC_MACRO in schema_export.stale()


def test_staging_models_are_the_endpoints_and_the_sources_list_every_raw_table():
    models = {p.stem for p in STAGING_DIR.glob("stg_litmos__*.sql")}
    assert models == {f"stg_litmos__{t}" for t in ENDPOINTS}
    sources = yaml.safe_load((STAGING_DIR / "_litmos__sources.yml").read_text())["sources"][0]["tables"]
    assert [t["name"] for t in sources] == list(ENDPOINTS)


def test_staging_yml_tests_each_views_key_and_active_flag():
    models = {m["name"]: m for m in yaml.safe_load(schema_export.STAGING_YML.read_text())["models"]}
    for table in ENDPOINTS:
        view = staging_view(table)
        model = models[view.model]
        columns = {c["name"]: c.get("data_tests", []) for c in model["columns"]}
        if len(view.key) == 1:
            assert columns[view.key[0]] == ["not_null", "unique"]
        else:
            combo = model["data_tests"][0]["unique_combination_of_columns"]["arguments"]["combination_of_columns"]
            assert combo == list(view.key) and all(columns[k] == ["not_null"] for k in view.key)
        assert ("is_active" in columns) == ("active" in ENDPOINTS[table].columns)


def test_views_follow_the_rules_of_settings():
    for table, endpoint in ENDPOINTS.items():
        view = staging_view(table)
        raw = [r for r, _, _ in view.columns]
        assert not set(endpoint.credentials) & set(raw), table  # a login credential never reaches staging
        assert raw[:len(endpoint.primary_key)] == list(endpoint.primary_key) or STAGING[table].after, table
        assert view.key == tuple(STAGING[table].renames.get(c, c) for c in endpoint.primary_key)
        assert set(view.key) <= {s for _, s, _ in view.columns}
        assert all(t in schema_export.SQL_TYPES.values() for _, _, t in view.columns)
    assert [s for _, s, _ in staging_view("module_results").columns][-4:] == [
        "code", "created_date", "updated_date", "created_by"]  # audit columns last
    assert staging_view("achievements").version_columns == ("achievement_date",)
    assert staging_view("collections").version_columns == ()
    assert staging_view("user_logins").version_columns == ("updated_date", "created_date")


def test_a_staging_row_naming_an_unknown_column_is_refused(monkeypatch):
    monkeypatch.setitem(STAGING, "teams", Staging("One row per team.", {"nmae": "team_name"}))
    with pytest.raises(ValueError, match=r"STAGING\['teams'\] names columns \['nmae'\]"):
        staging_view("teams")


def test_docs_tables_list_every_endpoint_with_its_key():
    for doc in schema_export.DOCS:
        text = doc.read_text()
        for table, endpoint in ENDPOINTS.items():
            assert re.search(rf"^\| {table} \|.*\| {re.escape(', '.join(endpoint.primary_key))} \|", text, re.M), \
                (doc.name, table)
