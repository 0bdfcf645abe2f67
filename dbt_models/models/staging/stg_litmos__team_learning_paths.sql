-- One row per (team, learning path, is_in_team_library).
-- Generated from sources/litmos/settings.py by `python -m sources.litmos.schema_export`: edit settings.py and rerun it (tests/source/test_schema_in_one_place.py fails while this file is stale).
{{ litmos_staging('team_learning_paths') }}
