-- One row per user (latest version); `login_key` is deliberately dropped: it is a login credential.
-- Generated from sources/litmos/settings.py by `python -m sources.litmos.schema_export`: edit settings.py and rerun it (tests/source/test_schema_in_one_place.py fails while this file is stale).
{{ litmos_staging('users') }}
