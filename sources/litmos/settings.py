"""The endpoint table: the ONE place that says what every Litmos resource reads and how.

Each :class:`Endpoint` drives a dlt resource. Field lists are the vendor docs' (../shared/seeds); column
names are dlt's snake_case of the element names. :data:`STAGING` says how dbt stages each table; the dbt
staging files and the docs' tables are generated from both (``python -m sources.litmos.schema_export``).

Type codes: ``str``, ``int`` (int64), ``float``, ``bool``, ``ts`` (timestamp, UTC), ``secs`` (.NET
TimeSpan ``[d.]HH:mm:ss`` -> int64 seconds).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from dlt.common.normalizers.naming.snake_case import NamingConvention

DEFAULT_BASE_URL = "https://api.litmos.com/v1.svc"
DEFAULT_SOURCE_NAME = "litmos-sync"
PAGE_LIMIT = 1000
MAX_WINDOW_DAYS = 7
SYNCED_AT_COLUMN = "_litmos_synced_at"
# ModuleType values that mean "SCORM or Tin Can" (seed 002 says the API answers 9 for both).
ELEARNING_MODULE_TYPES = frozenset({"scorm", "tincan", "9"})

Kind = Literal["delta", "since", "full", "child", "detail"]

_naming = NamingConvention()


def column_name(element: str) -> str:
    """Returns the warehouse column name for a Litmos element name (dlt snake_case)."""
    return _naming.normalize_identifier(element)


@dataclass(frozen=True)
class Endpoint:
    """One Litmos read endpoint and the warehouse table it fills.

    Attributes:
        path: API path under the base URL; ``{parent}`` is replaced by the parent id.
        root, element: XML root of a list response (the object for ``detail``) and of one record.
        fields: Litmos element name -> type code, in document order.
        cursor: Column whose newest value wins inside one load (dedup sort), or None.
        kind: ``delta`` (/org since+to windows), ``since`` (since only), ``full`` (full refresh list),
            ``child`` (full refresh list per parent id), ``detail`` (one object per id).
        date_style: How this endpoint's JSON dates look (``wcf`` or ``iso``).
        parent, parent_column: For ``child``/``detail``: the table whose ids fill ``{parent}``, and the
            column holding that id.
        credentials: Login credential columns, loaded as NULL unless ``store_login_keys``.
    """

    table: str
    path: str
    root: str
    element: str
    fields: dict[str, str]
    primary_key: tuple[str, ...]
    cursor: str | None
    kind: Kind
    date_style: Literal["wcf", "iso"] = "iso"
    parent: str | None = None
    parent_column: str | None = None
    credentials: tuple[str, ...] = ()
    columns: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        cols = {column_name(name): kind for name, kind in self.fields.items()}
        if self.parent_column:
            cols[self.parent_column] = "str"
        object.__setattr__(self, "columns", cols)
        missing = [k for k in (*self.primary_key, *self.credentials) if k not in cols]
        if missing:  # a typo here would silently merge on NULL keys
            raise ValueError(f"{self.table}: primary key {missing} not among its fields")

    @property
    def incremental(self) -> bool:
        """True when the resource keeps a cursor between runs."""
        return self.kind in ("delta", "since")

    @property
    def disposition(self) -> str:
        """dlt write disposition: full refreshes replace the table, every other kind merges on the key."""
        return "replace" if self.kind in ("full", "child") else "merge"


def _parse_fields(text: str) -> dict[str, dict[str, str]]:
    """``tables: Name:type Name2 ...`` blocks (indented lines continue one) -> table -> {element: type code}."""
    out: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n(?=\S)", text.strip()):
        tables, _, spec = block.partition(":")
        for table in tables.split():
            out[table] = {name: kind or "str" for name, _, kind in (t.partition(":") for t in spec.split())}
    return out


def _parse_endpoints(text: str, fields: dict[str, dict[str, str]]) -> list[Endpoint]:
    endpoints = []
    for line in text.strip().splitlines():
        table, path, root_element, key, cursor, kind, *more = line.split()
        root, element = root_element.split("/")
        parent, _, parent_column = next((m for m in more if m != "wcf"), "").partition(".")
        endpoints.append(Endpoint(
            table, path, root, element, fields[table], tuple(key.split(",")), None if cursor == "-" else cursor,
            kind, "wcf" if "wcf" in more else "iso", parent or None, parent_column or None,
            tuple(column_name(f) for f in fields[table] if f in _CREDENTIALS)))  # type: ignore[arg-type]
    return endpoints


# LoginKey logs its user in without a password: a credential, loaded as NULL unless store_login_keys.
_CREDENTIALS = ("LoginKey",)

# One endpoint a line: table, path, root/element, primary key, cursor (- none), kind, then "wcf" (JSON dates
# as /Date(ms)/) and for child/detail the parent table[.column holding its id].
_ENDPOINT_TABLE = """
users                    /org/users/details                 Users/User                             id                            updated_date     delta
user_logins              /org/users/logins                  Users/User                             id,last_login                 last_login       delta
module_results           /org/modules/results               ModuleResults/ModuleResult             user_id,id,attempt_number     updated_date     delta  wcf
course_results           /org/results/details               UserResults/UserResult                 user_id,id                    updated_date     delta  wcf
learning_path_results    /org/learningpaths/results         LearningPathResults/LearningPathResult user_id,id                    updated_date     delta  wcf
org_achievements         /org/achievements                  Achievements/Achievement               id                            updated_date     delta  wcf
modules                  /org/modules                       Modules/Module                         id                            updated_date     delta
courses                  /org/courses                       Courses/Course                         id                            updated_date     delta  wcf
learning_paths           /org/learningpaths                 LearningPaths/LearningPath             id                            updated_date     delta
course_modules           /org/courses/modules               CourseModules/CourseModule             course_id,id                  updated_date     delta
learning_path_courses    /org/learningpaths/courses         LearningPathCourses/LearningPathCourse learning_path_id,id           updated_date     delta
user_courses             /org/users/courses                 UserCourses/UserCourse                 user_id,id                    updated_date     delta
learning_path_users      /org/learningpaths/users           LearningPathUsers/LearningPathUser     learning_path_id,id           updated_date     delta
teams                    /org/teams                         Teams/Team                             id                            updated_date     delta
team_users               /org/teams/users                   TeamUsers/TeamUser                     team_id,id                    updated_date     delta
team_courses             /org/teams/courses                 TeamCourses/TeamCourse                 team_id,id,is_in_team_library updated_date     delta
team_learning_paths      /org/teams/learningpaths           TeamLearningPaths/TeamLearningPath     team_id,id,is_in_team_library updated_date     delta
achievements             /achievements                      Achievements/Achievement               achievement_id                achievement_date since  wcf
collections              /collections                       Collections/Collection                 id                            -                full
collection_listings      /collectionlistings/{parent}       Listings/Listing                       collection_id,id              -                child  collections.collection_id
collection_listing_users /collectionlistings/{parent}/users ListingUsers/ListingUser               listing_id,id                 -                child  collection_listings.listing_id
collection_listing_teams /collectionlistings/{parent}/teams Teams/Team                             listing_id,id                 -                child  collection_listings.listing_id
module_details           /modules/{parent}                  Module/Module                          id                            -                detail modules
"""

_FIELD_TABLE = """
users user_logins: Id UserName FirstName LastName FullName Email AccessLevel DisableMessages:bool Active:bool
    Skype PhoneWork PhoneMobile LastLogin:ts LoginKey IsCustomUsername:bool TimeZone SalesforceId OriginalId:int
    Street1 Street2 City State PostalCode Country CompanyName JobTitle CustomField1 CustomField2 CustomField3
    Culture CustomField4 CustomField5 CustomField6 CustomField7 CustomField8 CustomField9 CustomField10
    SalesforceContactId SalesforceAccountId CreatedDate:ts UpdatedDate:ts CreatedBy:int UpdatedBy:int Brand
    ManagerId ManagerName EnableTextNotification:bool Website Twitter ExpirationDate:ts ExternalEmployeeId
module_results: Id UserId OrginalModuleId:int OriginalUserId:int ModuleResultId:int Active:bool Name
    Passmark:int Score:int UserName Completed:bool AttemptNumber:int CreatedBy:int FinishedDate:ts
    CreatedDate:ts StartedDate:ts TimeTaken:secs UpdatedDate:ts Code
course_results: Id UserId OriginalUserId:int OriginalCourseId:int Name Active:bool CreatedDate:ts UpdatedDate:ts
    StartedDate:ts Completed:bool PercentageComplete:float CompletedDate:ts UpToDate:bool Overdue:bool
    CompliantTillDate:ts DueDate:ts LastAttemptDate:ts CreatedBy:int Code Username
learning_path_results: Id UserId OriginalLearningPathId:int OriginalUserId:int Active:bool Name
    PercentageComplete:float Completed:bool CreatedDate:ts UpdatedDate:ts CompliantTillDate:ts StartDate:ts
    FinishDate:ts CreatedBy:int
org_achievements: Id UserId CourseId LearningPathId OriginalAchievementId:int OriginalUserId:int
    OriginalCourseId:int OriginalLearningPathId:int CompliantTillDate:ts Title AchievementDate:ts Type
    CertificateId:int CreatedDate:ts UpdatedDate:ts CreatedBy:int UpdatedBy:int
modules: Id OriginalId:int Name Description Active:bool Passmark:int CreatedDate:ts UpdatedDate:ts CreatedBy:int
    ModuleType
courses: Id Code Name Active:bool ForSale:bool OriginalCourseId:int Description EcommerceShortDescription
    EcommerceLongDescription CourseCodeForBulkImport Price:float AccessTillDate:ts AccessTillDays:int
    CreatedDate:ts UpdatedDate:ts CreatedBy:int UpdatedBy:int CompliantTillDays:int TimeLimitDate:ts
    TimeLimitDays:int DisplayOrder:int IncludeInLibrary:bool CourseImageURL
learning_paths: Id Name Description Active:bool OriginalId:int ForSale:bool Price:float
    EcommerceShortDescription EcommerceLongDescription AccessTillDate:ts AccessTillDays:int CreatedDate:ts
    UpdatedDate:ts CreatedBy:int DisplayOrder:int IncludeInLibrary:bool IsCourseOrderOptional:bool ImageURL
course_modules: CourseId Id OriginalCourseId:int OriginalModuleId:int Active:bool CreatedDate:ts UpdatedDate:ts
    CreatedBy:int UpdatedBy:int
learning_path_courses: LearningPathId Id OriginalLearningPathId:int OriginalCourseId:int Active:bool
    CreatedDate:ts UpdatedDate:ts CreatedBy:int UpdatedBy:int
user_courses: UserId ID OriginalUserId:int OriginalCourseId:int Active:bool CreatedDate:ts UpdatedDate:ts
    CreatedBy:int UpdatedBy:int
learning_path_users: LearningPathId Id OriginalLearningPathId:int Active:bool OriginalUserId:int CreatedBy:int
    CreatedDate:ts UpdatedBy:int UpdatedDate:ts
teams: Id Name OriginalTeamId:int Active:bool CreatedDate:ts UpdatedDate:ts CreatedBy:int UpdatedBy:int
    ParentTeamId TeamCodeForBulkImport
team_users: TeamId Id OriginalTeamId:int OriginalUserId:int Active:bool IsTeamLeader:bool IsTeamAdmin:bool
    CreatedDate:ts UpdatedDate:ts CreatedBy:int UpdatedBy:int
team_courses: TeamId Id OriginalCourseId:int OriginalTeamId:int Active:bool IsInTeamLibrary:bool
    LearningPathAssignment:bool CreatedDate:ts UpdatedDate:ts CreatedBy:int UpdatedBy:int
team_learning_paths: TeamId Id OriginalLearningPathId:int OriginalTeamId:int Active:bool IsInTeamLibrary:bool
    CreatedDate:ts UpdatedDate:ts CreatedBy:int UpdatedBy:int
achievements: UserId Title Description AchievementDate:ts CourseId CompliantTillDate:ts Score Result Type
    FirstName LastName AchievementId:int CertificateId:int
collections: Id Name Description DefaultListing:bool ImageURL
collection_listings: Id Name Active:bool DurationType MaxUsers:int DurationDays:int FixedDate
collection_listing_users: Id FirstName LastName Username AccessTill:ts Active:bool
collection_listing_teams: Id Name TeamCodeForBulkImport ParentTeamId
module_details: Id ModuleType Name Description Active:bool ModuleRefCode HideDescription:bool NewWindow:bool
    ReviewMode:bool Status ContentURL Code
"""

ENDPOINTS: dict[str, Endpoint] = {e.table: e for e in _parse_endpoints(_ENDPOINT_TABLE, _parse_fields(_FIELD_TABLE))}
"""Every resource by table name, in the order runs process them."""

DELTA_TABLES = tuple(t for t, e in ENDPOINTS.items() if e.kind == "delta")


@dataclass(frozen=True)
class Staging:
    """How dbt stages one raw table as the view ``stg_litmos__<table>``: one row per key, newest version.

    Columns: the endpoint's minus the credentials, ``active`` read as ``is_active`` (NULL = true), in the
    order primary key, the rest, the audit columns; ``after`` keeps the views' historical order.

    Attributes:
        grain: What one row is (the model's description).
        renames: Raw column -> staging column.
        after: Raw columns (space-separated, moved together) -> the raw column they follow.
        keep: Only these raw columns are staged (None = all).
    """

    grain: str
    renames: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)
    keep: tuple[str, ...] | None = None


_AUDIT = "created_date updated_date created_by updated_by"

STAGING: dict[str, Staging] = {
    "users": Staging(
        "One row per user (latest version); `login_key` is deliberately dropped: it is a login credential.",
        {"id": "user_id", "original_id": "original_user_id"},
        {"original_id": "id", "culture": "custom_field10", _AUDIT: "salesforce_account_id"}),
    "user_logins": Staging(
        "One row per login event (user, last_login).", {"id": "user_id", "original_id": "original_user_id"},
        {"original_id": "last_login"},
        keep=tuple("id last_login original_id user_name full_name email active created_date updated_date".split())),
    "module_results": Staging(
        "One row per module attempt (user, module, attempt number); `orginal_module_id` (vendor typo) is renamed.",
        {"id": "module_id", "orginal_module_id": "original_module_id", "name": "module_name",
         "time_taken": "time_taken_seconds"}, {"started_date": "completed"}),
    "course_results": Staging("One row per user course result (user, course).",
                              {"id": "course_id", "name": "course_name"}),
    "learning_path_results": Staging("One row per user learning-path result (user, learning path).",
                                     {"id": "learning_path_id", "name": "learning_path_name"}),
    "org_achievements": Staging("One row per achievement from /org/achievements.",
                                {"id": "achievement_id", "type": "achievement_type"}),
    "modules": Staging("One row per module.",
                       {"id": "module_id", "original_id": "original_module_id", "name": "module_name"}),
    "courses": Staging("One row per course.", {"id": "course_id", "name": "course_name"},
                       {"original_course_id": "id"}),
    "learning_paths": Staging(
        "One row per learning path.",
        {"id": "learning_path_id", "original_id": "original_learning_path_id", "name": "learning_path_name"},
        {"original_id": "id"}),
    "course_modules": Staging("One row per (course, module) link; is_active = false means removed.",
                              {"id": "module_id"}),
    "learning_path_courses": Staging("One row per (learning path, course) link.", {"id": "course_id"}),
    "user_courses": Staging(
        "One row per direct (user, course) assignment; team assignments are not in this endpoint.",
        {"id": "course_id"}),
    "learning_path_users": Staging(
        "One row per direct (learning path, user) assignment; UpdatedDate is often nil, so versions order by"
        " created_date after it.", {"id": "user_id"}, {"original_user_id": "original_learning_path_id"}),
    "teams": Staging("One row per team; parent_team_id NULL for top-level teams.",
                     {"id": "team_id", "name": "team_name"}, {"original_team_id": "id"}),
    "team_users": Staging("One row per (team, user) membership.", {"id": "user_id"}),
    "team_courses": Staging(
        "One row per (team, course, is_in_team_library): false = assigned to the team, true = only in its library.",
        {"id": "course_id"}),
    "team_learning_paths": Staging("One row per (team, learning path, is_in_team_library).",
                                   {"id": "learning_path_id"}),
    "achievements": Staging("One row per achievement from /achievements (seed 004).",
                            {"type": "achievement_type"}, {"course_id": "user_id"}),
    "collections": Staging("One row per collection (full refresh).",
                           {"id": "collection_id", "name": "collection_name"}),
    "collection_listings": Staging("One row per collection listing (entitlement).",
                                   {"id": "listing_id", "name": "listing_name"}),
    "collection_listing_users": Staging("One row per (listing, user).", {"id": "user_id"}),
    "collection_listing_teams": Staging("One row per (listing, team).", {"id": "team_id", "name": "team_name"}),
    "module_details": Staging("One row per SCORM / Tin Can module from GET /modules/{id}.",
                              {"id": "module_id", "name": "module_name"},
                              {"code": "active", "content_url": "review_mode"}),
}
"""The dbt staging view of every table in ENDPOINTS."""

if STAGING.keys() != ENDPOINTS.keys():  # a new endpoint needs its staging row (and a regenerate)
    raise ValueError(f"STAGING and ENDPOINTS differ: {sorted(STAGING.keys() ^ ENDPOINTS.keys())}")
