"""XML / JSON bodies (written from the vendor docs) -> typed Arrow tables."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import pyarrow as pa
import pytest

from sources.litmos.exceptions import LitmosMalformedResponseError
from sources.litmos.parsing import arrow_schema, parse_page, parse_timestamp
from sources.litmos.settings import ENDPOINTS, SYNCED_AT_COLUMN

UTC = timezone.utc
SYNCED = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)

MODULE_RESULTS_XML = b"""<?xml version="1.0" encoding="utf-8"?>
<ModuleResults xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
  <ModuleResult>
    <Id>mod1</Id><UserId>usr1</UserId><OrginalModuleId>11</OrginalModuleId><OriginalUserId>21</OriginalUserId>
    <ModuleResultId>31</ModuleResultId><Active>true</Active><Name>Fire &amp; safety</Name>
    <Passmark>80</Passmark><Score>91</Score><UserName>ann</UserName><Completed>True</Completed>
    <AttemptNumber>1</AttemptNumber><CreatedBy>5</CreatedBy>
    <FinishedDate>2024-01-02T03:04:05</FinishedDate>
    <CreatedDate>2024-01-02T03:04:05.123</CreatedDate>
    <StartedDate>2024-01-02T03:04:05Z</StartedDate>
    <TimeTaken>01:02:03</TimeTaken>
    <UpdatedDate>2024-01-02T03:04:05+00:00</UpdatedDate>
    <Code i:nil="true"/>
  </ModuleResult>
  <!-- a comment between records is not a record -->
  <ModuleResult>
    <Id>mod2</Id><UserId>usr1</UserId><Active>false</Active><Completed>false</Completed>
    <AttemptNumber>2</AttemptNumber><Score/>
    <FinishedDate>2024-01-02T05:04:05.1234567Z</FinishedDate>
    <CreatedDate>2024-01-02T03:04:05-07:00</CreatedDate>
    <StartedDate>2009-12-01T02:27Z</StartedDate>
    <TimeTaken>2.03:00:01</TimeTaken>
    <UpdatedDate nil="true">datetime [iso 8601 format]</UpdatedDate>
    <NewVendorField>surprise</NewVendorField>
  </ModuleResult>
</ModuleResults>"""


def _rows(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def test_xml_page_types_nils_and_dates():
    table = parse_page(MODULE_RESULTS_XML, ENDPOINTS["module_results"], "xml", SYNCED)
    first, second = _rows(table)
    assert table.schema.field("updated_date").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("time_taken").type == pa.int64()
    assert first["id"] == "mod1" and first["orginal_module_id"] == 11 and first["name"] == "Fire & safety"
    assert first["active"] is True and first["completed"] is True and first["score"] == 91
    assert first["finished_date"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert first["created_date"] == datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    assert first["started_date"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert first["updated_date"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert first["time_taken"] == 3723
    assert first["code"] is None
    assert first[SYNCED_AT_COLUMN] == SYNCED
    assert second["active"] is False and second["score"] is None and second["passmark"] is None
    assert second["finished_date"] == datetime(2024, 1, 2, 5, 4, 5, 123456, tzinfo=UTC)
    assert second["created_date"] == datetime(2024, 1, 2, 10, 4, 5, tzinfo=UTC)
    assert second["started_date"] == datetime(2009, 12, 1, 2, 27, tzinfo=UTC)
    assert second["time_taken"] == 2 * 86400 + 3 * 3600 + 1
    assert second["updated_date"] is None  # nil="true" wins over placeholder text
    assert second["new_vendor_field"] == "surprise" and first["new_vendor_field"] is None


def test_unknown_field_is_logged_once(caplog):
    caplog.set_level(logging.WARNING, logger="sources.litmos.parsing")
    body = b"<Teams><Team><Id>t</Id><BrandNewThing>x</BrandNewThing></Team></Teams>"
    parse_page(body, ENDPOINTS["teams"], "xml", SYNCED)
    parse_page(body, ENDPOINTS["teams"], "xml", SYNCED)
    messages = [r.getMessage() for r in caplog.records if "BrandNewThing" in r.getMessage()]
    assert messages == ["/org/teams: undocumented field 'BrandNewThing' loaded as text column 'brand_new_thing'"]


def test_documented_columns_exist_typed_even_when_all_null():
    table = parse_page(MODULE_RESULTS_XML, ENDPOINTS["module_results"], "xml", SYNCED)
    expected = arrow_schema(ENDPOINTS["module_results"], ["new_vendor_field"])
    assert table.schema == expected
    assert table.column("started_date").null_count == 0
    assert table.column("code").to_pylist() == [None, None]


def test_duplicate_element_gives_one_value_and_user_course_upper_id():
    body = (b"<UserResults><UserResult><Id>c1</Id><UserId>u1</UserId><UpdatedDate>2024-05-01T00:00:00"
            b"</UpdatedDate><PercentageComplete>12.5</PercentageComplete><UpdatedDate>2024-05-01T00:00:00"
            b"</UpdatedDate></UserResult></UserResults>")
    (row,) = _rows(parse_page(body, ENDPOINTS["course_results"], "xml", SYNCED))
    assert row["updated_date"] == datetime(2024, 5, 1, tzinfo=UTC) and row["percentage_complete"] == 12.5
    body = b"<UserCourses><UserCourse><UserId>u1</UserId><ID>c9</ID><Active>true</Active></UserCourse></UserCourses>"
    (row,) = _rows(parse_page(body, ENDPOINTS["user_courses"], "xml", SYNCED))
    assert (row["user_id"], row["id"], row["active"]) == ("u1", "c9", True)


def test_empty_final_page_and_default_namespace():
    empty = b'<Users xmlns:i="http://www.w3.org/2001/XMLSchema-instance"/>'
    table = parse_page(empty, ENDPOINTS["users"], "xml", SYNCED)
    assert table.num_rows == 0 and table.schema == arrow_schema(ENDPOINTS["users"])
    namespaced = (b'<Teams xmlns="http://schemas.datacontract.org/2004/07/Litmos"><Team><Id>t1</Id>'
                  b"<Active>false</Active></Team></Teams>")
    (row,) = _rows(parse_page(namespaced, ENDPOINTS["teams"], "xml", SYNCED))
    assert row["id"] == "t1" and row["active"] is False


@pytest.mark.parametrize("body", [
    b"<Users><User><Id>u1</Id><UserName>trunc",
    b"<html><body>Service Unavailable</body>",
    b"",
])
def test_malformed_xml_raises(body):
    with pytest.raises(LitmosMalformedResponseError, match=r"^/org/users/details: malformed XML"):
        parse_page(body, ENDPOINTS["users"], "xml", SYNCED)


def test_json_wcf_and_iso_dates_and_empty_strings():
    body = (b'[{"Id":"c1","UserId":"u1","Active":true,"UpdatedDate":"/Date(1497801750508-0700)/",'
            b'"CompletedDate":"","PercentageComplete":50,"StartedDate":null,"CompliantTillDate":"/Date(0)/"}]')
    (row,) = _rows(parse_page(body, ENDPOINTS["course_results"], "json", SYNCED))
    assert row["updated_date"] == datetime(2017, 6, 18, 16, 2, 30, 508000, tzinfo=UTC)
    assert row["completed_date"] is None and row["started_date"] is None
    assert row["compliant_till_date"] == datetime(1970, 1, 1, tzinfo=UTC)
    assert row["active"] is True and row["percentage_complete"] == 50.0
    users = b'[{"Id":"u1","LastLogin":"2016-12-09T07:54:27Z","Active":"false","OriginalId":"42"}]'
    (row,) = _rows(parse_page(users, ENDPOINTS["users"], "json", SYNCED))
    assert row["last_login"] == datetime(2016, 12, 9, 7, 54, 27, tzinfo=UTC)
    assert row["active"] is False and row["original_id"] == 42
    assert parse_page(b"[]", ENDPOINTS["users"], "json", SYNCED).num_rows == 0
    with pytest.raises(LitmosMalformedResponseError, match=r"^/org/users/details: malformed JSON"):
        parse_page(b'[{"Id":"u1"', ENDPOINTS["users"], "json", SYNCED)


def test_module_detail_single_object_xml_and_json():
    xml = (b'<Module xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Id>Y5z6</Id><ModuleType>9'
           b"</ModuleType><Name>SCORM</Name><Active>true</Active><ModuleRefCode/><HideDescription>false"
           b"</HideDescription><Status>Ready</Status></Module>")
    (row,) = _rows(parse_page(xml, ENDPOINTS["module_details"], "xml", SYNCED))
    assert (row["id"], row["module_type"], row["module_ref_code"], row["hide_description"]) == (
        "Y5z6", "9", None, False)
    js = b'{"Id":"Y5z6","ModuleType":9,"Active":true,"ModuleRefCode":"","Status":"Ready"}'
    (row,) = _rows(parse_page(js, ENDPOINTS["module_details"], "json", SYNCED))
    assert (row["id"], row["module_type"], row["module_ref_code"], row["active"]) == ("Y5z6", "9", None, True)


def test_parent_column_added_for_child_endpoints():
    body = (b"<ListingUsers><ListingUser><Id>u1</Id><AccessTill>2026-01-01T00:00:00</AccessTill>"
            b"<Active>true</Active></ListingUser></ListingUsers>")
    (row,) = _rows(parse_page(body, ENDPOINTS["collection_listing_users"], "xml", SYNCED, parent_id="L1"))
    assert (row["listing_id"], row["id"], row["access_till"]) == ("L1", "u1", datetime(2026, 1, 1, tzinfo=UTC))


def test_unparseable_value_becomes_null_with_warning(caplog):
    caplog.set_level(logging.WARNING, logger="sources.litmos.parsing")
    body = b"<Teams><Team><Id>t</Id><CreatedBy>n/a</CreatedBy><CreatedDate>soon</CreatedDate></Team></Teams>"
    (row,) = _rows(parse_page(body, ENDPOINTS["teams"], "xml", SYNCED))
    assert row["created_by"] is None and row["created_date"] is None
    assert "/org/teams: 1 value(s) of created_by are not int and were loaded as NULL" in caplog.text


@pytest.mark.parametrize("text,expected", [
    ("2024-01-02T03:04:05", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2024-01-02 03:04:05", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2024-01-02T03:04:05.5Z", datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
    ("2024-01-02T03:04:05+02:00", datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)),
    ("/Date(1497801750508+0200)/", datetime(2017, 6, 18, 16, 2, 30, 508000, tzinfo=UTC)),
    ("/Date(-1000)/", datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ("", None),
])
def test_parse_timestamp(text, expected):
    assert parse_timestamp(text) == expected


def test_rows_without_complete_key_are_dropped_with_warning(caplog):
    from sources.litmos.fetch import drop_rows_without_key

    body = (b"<ModuleResults><ModuleResult><Id>m</Id><UserId>u</UserId><AttemptNumber>1</AttemptNumber>"
            b"</ModuleResult><ModuleResult><Id>m</Id><UserId>u</UserId><AttemptNumber i:nil='true' "
            b"xmlns:i='http://www.w3.org/2001/XMLSchema-instance'/></ModuleResult></ModuleResults>")
    endpoint = ENDPOINTS["module_results"]
    table = drop_rows_without_key(parse_page(body, endpoint, "xml", SYNCED), endpoint)
    assert table.column("attempt_number").to_pylist() == [1]
    assert ("/org/modules/results: skipped 1 record(s) without a complete key (user_id, id, attempt_number)"
            in caplog.text)


def test_fast_paths_and_careful_paths_agree():
    from sources.litmos.parsing import convert

    assert convert(["2024-01-02T03:04:05.1234567", "2024-01-02 03:04:05", "2024-01-02", None], "ts").to_pylist() == [
        datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2024, 1, 2, tzinfo=UTC), None]
    assert convert(["True", "false", "1", None], "bool").to_pylist() == [True, False, True, None]
    assert convert([" 5", "7", None], "int").to_pylist() == [5, 7, None]
    assert convert(["1.5", " 2 "], "float").to_pylist() == [1.5, 2.0]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:05:30", 330), ("1.02:03:04", 93784), ("00:05:30.1234567", 330), ("PT5M30S", 330),
     ("P1DT2H", 93600), ("PT0S", 0), ("PT1.5S", 1), ("90", 90), ("", None), ("P", None), ("PT", None),
     ("five minutes", None)],
)
def test_time_taken_accepts_timespan_xs_duration_and_seconds(text, seconds):
    from sources.litmos.parsing import _timespan_seconds

    assert _timespan_seconds(text) == seconds
