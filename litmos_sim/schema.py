"""The documented shape of every served endpoint: element names and order, kinds, keys, time field.

Written from the vendor docs (seeds 001-004) only. Field kinds: s=string, i=integer, f=float,
b=boolean, d=datetime (stored as UTC epoch milliseconds), t=TimeSpan (stored as whole seconds).
"""
from __future__ import annotations

from dataclasses import dataclass, field

_USER_FIELDS = """Id:s UserName:s FirstName:s LastName:s FullName:s Email:s AccessLevel:s DisableMessages:b
Active:b Skype:s PhoneWork:s PhoneMobile:s LastLogin:d LoginKey:s IsCustomUsername:b TimeZone:s SalesforceId:s
OriginalId:i Street1:s Street2:s City:s State:s PostalCode:s Country:s CompanyName:s JobTitle:s CustomField1:s
CustomField2:s CustomField3:s Culture:s CustomField4:s CustomField5:s CustomField6:s CustomField7:s
CustomField8:s CustomField9:s CustomField10:s SalesforceContactId:s SalesforceAccountId:s CreatedDate:d
UpdatedDate:d CreatedBy:i UpdatedBy:i Brand:s ManagerId:s ManagerName:s EnableTextNotification:b Website:s
Twitter:s ExpirationDate:d ExternalEmployeeId:s"""


@dataclass(frozen=True)
class Endpoint:
    """One list endpoint as served.

    Attributes:
        path: Path under /v1.svc, e.g. "/org/results/details" (templates use {name}).
        table: Name of the stored table that backs it.
        root: XML root element name.
        item: XML element name of one record.
        fields: Stored (unique) field names in documented order.
        kinds: Kind letter of each stored field.
        render: Indexes into `fields` in rendering order (a documented duplicate repeats an index).
        key: Field names forming the record key.
        ts_field: Field the date window and ordering use (None: not a windowed endpoint).
        ts_fallback: Field used when ts_field is nil.
        json_dates: "wcf" for /Date(ms+zzzz)/ or "iso".
        xml_z: Whether XML dates carry a trailing Z.
        blank_empty: Whether nil strings render as empty elements / "" (else i:nil / null).
        blank_fields: Non-string fields that render blank when nil (e.g. LastLogin).
        drift: Undocumented element appended to some records (name, kind) or None.
        parent_field: For child lists, the parent-id field the ground truth adds (e.g. CollectionId).
    """

    path: str
    table: str
    root: str
    item: str
    fields: tuple[str, ...]
    kinds: tuple[str, ...]
    render: tuple[int, ...]
    key: tuple[str, ...]
    ts_field: str | None = "UpdatedDate"
    ts_fallback: str | None = None
    json_dates: str = "iso"
    xml_z: bool = False
    blank_empty: bool = False
    blank_fields: frozenset = field(default_factory=frozenset)
    drift: tuple[str, str] | None = None
    parent_field: str | None = None

    def index(self, name: str) -> int:
        """Stored position of field `name`."""
        return self.fields.index(name)


def _make(path, table, root, item, spec, key, **kw) -> Endpoint:
    names: list[str] = []
    kinds: list[str] = []
    render: list[int] = []
    for token in spec.split():
        name, kind = token.split(":")
        if name in names:  # documented twice: rendered twice, stored once
            render.append(names.index(name))
            continue
        names.append(name)
        kinds.append(kind)
        render.append(len(names) - 1)
    return Endpoint(path, table, root, item, tuple(names), tuple(kinds), tuple(render), tuple(key), **kw)


ORG_ENDPOINTS: dict[str, Endpoint] = {e.path: e for e in (
    _make("/org/users/details", "users", "Users", "User", _USER_FIELDS, ("Id",), xml_z=True,
          blank_empty=True, blank_fields=frozenset({"LastLogin"}), drift=("Department", "s")),
    _make("/org/users/logins", "logins", "Users", "User", _USER_FIELDS, ("Id", "LastLogin"), ts_field="LastLogin",
          xml_z=True, blank_empty=True, blank_fields=frozenset({"LastLogin"}), drift=("Department", "s")),
    _make("/org/modules/results", "module_results", "ModuleResults", "ModuleResult",
          "Id:s UserId:s OrginalModuleId:i OriginalUserId:i ModuleResultId:i Active:b Name:s Passmark:i Score:i "
          "UserName:s Completed:b AttemptNumber:i CreatedBy:i FinishedDate:d CreatedDate:d StartedDate:d "
          "TimeTaken:t UpdatedDate:d Code:s", ("UserId", "Id", "AttemptNumber"), json_dates="wcf"),
    _make("/org/results/details", "course_results", "UserResults", "UserResult",
          "Id:s UserId:s OriginalUserId:i OriginalCourseId:i Name:s Active:b CreatedDate:d UpdatedDate:d "
          "StartedDate:d Completed:b PercentageComplete:f CompletedDate:d UpToDate:b Overdue:b "
          "CompliantTillDate:d DueDate:d LastAttemptDate:d CreatedBy:i UpdatedDate:d Code:s Username:s",
          ("UserId", "Id"), json_dates="wcf", drift=("CourseVersion", "i")),
    _make("/org/learningpaths/results", "lp_results", "LearningPathResults", "LearningPathResult",
          "Id:s UserId:s OriginalLearningPathId:i OriginalUserId:i Active:b Name:s PercentageComplete:f "
          "Completed:b CreatedDate:d UpdatedDate:d CompliantTillDate:d StartDate:d FinishDate:d CreatedBy:i",
          ("UserId", "Id"), json_dates="wcf"),
    _make("/org/achievements", "org_achievements", "Achievements", "Achievement",
          "Id:s UserId:s CourseId:s LearningPathId:s OriginalAchievementId:i OriginalUserId:i OriginalCourseId:i "
          "OriginalLearningPathId:i CompliantTillDate:d Title:s AchievementDate:d Type:s CertificateId:i "
          "CreatedDate:d UpdatedDate:d CreatedBy:i UpdatedBy:i", ("Id",), json_dates="wcf", xml_z=True),
    _make("/org/modules", "modules", "Modules", "Module",
          "Id:s OriginalId:i Name:s Description:s Active:b Passmark:i CreatedDate:d UpdatedDate:d CreatedBy:i "
          "ModuleType:s", ("Id",)),
    _make("/org/courses", "courses", "Courses", "Course",
          "Id:s Code:s Name:s Active:b ForSale:b OriginalCourseId:i Description:s EcommerceShortDescription:s "
          "EcommerceLongDescription:s CourseCodeForBulkImport:s Price:f AccessTillDate:d AccessTillDays:i "
          "CreatedDate:d UpdatedDate:d CreatedBy:i UpdatedBy:i CompliantTillDays:i TimeLimitDate:d "
          "TimeLimitDays:i DisplayOrder:i IncludeInLibrary:b CourseImageURL:s", ("Id",), json_dates="wcf"),
    _make("/org/learningpaths", "learning_paths", "LearningPaths", "LearningPath",
          "Id:s Name:s Description:s Active:b OriginalId:i ForSale:b Price:f EcommerceShortDescription:s "
          "EcommerceLongDescription:s AccessTillDate:d AccessTillDays:i CreatedDate:d UpdatedDate:d CreatedBy:i "
          "DisplayOrder:i IncludeInLibrary:b IsCourseOrderOptional:b ImageURL:s", ("Id",)),
    _make("/org/courses/modules", "course_modules", "CourseModules", "CourseModule",
          "CourseId:s Id:s OriginalCourseId:i OriginalModuleId:i Active:b CreatedDate:d UpdatedDate:d "
          "CreatedBy:i UpdatedBy:i", ("CourseId", "Id")),
    _make("/org/learningpaths/courses", "lp_courses", "LearningPathCourses", "LearningPathCourse",
          "LearningPathId:s Id:s OriginalLearningPathId:i OriginalCourseId:i Active:b CreatedDate:d "
          "UpdatedDate:d CreatedBy:i UpdatedBy:i", ("LearningPathId", "Id")),
    _make("/org/users/courses", "user_courses", "UserCourses", "UserCourse",
          "UserId:s ID:s OriginalUserId:i OriginalCourseId:i Active:b CreatedDate:d UpdatedDate:d CreatedBy:i "
          "UpdatedBy:i", ("UserId", "ID")),
    _make("/org/learningpaths/users", "lp_users", "LearningPathUsers", "LearningPathUser",
          "LearningPathId:s Id:s OriginalLearningPathId:i Active:b OriginalUserId:i CreatedBy:i CreatedDate:d "
          "UpdatedBy:i UpdatedDate:d", ("LearningPathId", "Id"), ts_fallback="CreatedDate"),
    _make("/org/teams", "teams", "Teams", "Team",
          "Id:s Name:s OriginalTeamId:i Active:b CreatedDate:d UpdatedDate:d CreatedBy:i UpdatedBy:i "
          "ParentTeamId:s TeamCodeForBulkImport:s", ("Id",)),
    _make("/org/teams/users", "team_users", "TeamUsers", "TeamUser",
          "TeamId:s Id:s OriginalTeamId:i OriginalUserId:i Active:b IsTeamLeader:b IsTeamAdmin:b CreatedDate:d "
          "UpdatedDate:d CreatedBy:i UpdatedBy:i", ("TeamId", "Id")),
    _make("/org/teams/courses", "team_courses", "TeamCourses", "TeamCourse",
          "TeamId:s Id:s OriginalCourseId:i OriginalTeamId:i Active:b IsInTeamLibrary:b LearningPathAssignment:b "
          "CreatedDate:d UpdatedDate:d CreatedBy:i UpdatedBy:i", ("TeamId", "Id", "IsInTeamLibrary")),
    _make("/org/teams/learningpaths", "team_lps", "TeamLearningPaths", "TeamLearningPath",
          "TeamId:s Id:s OriginalLearningPathId:i OriginalTeamId:i Active:b IsInTeamLibrary:b CreatedDate:d "
          "UpdatedDate:d CreatedBy:i UpdatedBy:i", ("TeamId", "Id", "IsInTeamLibrary")),
)}

# Seed 004: GET /achievements (optional since/userid, AchievementDate descending).
ACHIEVEMENTS = _make(
    "/achievements", "achievements", "Achievements", "Achievement",
    "UserId:s Title:s Description:s AchievementDate:d CourseId:s CompliantTillDate:d Score:s Result:s Type:s "
    "FirstName:s LastName:s AchievementId:i CertificateId:i", ("AchievementId",), ts_field=None, json_dates="wcf",
    xml_z=True)

# Seed 003: collections and listings (full lists, paged with start/limit).
COLLECTIONS = _make("/collections", "collections", "Collections", "Collection", "Id:s Name:s", ("Id",),
                    ts_field=None)
LISTINGS = _make("/collectionlistings/{collectionid}", "listings", "Listings", "Listing",
                 "Id:s Name:s Active:b DurationType:s MaxUsers:i DurationDays:i FixedDate:s",
                 ("CollectionId", "Id"), ts_field=None, parent_field="CollectionId")
LISTING_USERS = _make("/collectionlistings/{listingid}/users", "listing_users", "ListingUsers", "ListingUser",
                      "Id:s FirstName:s LastName:s Username:s AccessTill:d Active:b", ("ListingId", "Id"),
                      ts_field=None, parent_field="ListingId")
LISTING_TEAMS = _make("/collectionlistings/{listingid}/teams", "listing_teams", "Teams", "Team",
                      "Id:s Name:s TeamCodeForBulkImport:s ParentTeamId:s", ("ListingId", "Id"), ts_field=None,
                      parent_field="ListingId")

# Seed 002: GET /modules/{moduleid} for SCORM / Tin Can modules only.
MODULE_DETAIL = _make("/modules/{moduleid}", "module_details", "Module", "Module",
                      "Id:s ModuleType:i Name:s Description:s Active:b ModuleRefCode:s HideDescription:b "
                      "NewWindow:b ReviewMode:b Status:s", ("Id",), ts_field=None, blank_empty=True)

OTHER_ENDPOINTS: dict[str, Endpoint] = {
    e.path: e for e in (ACHIEVEMENTS, COLLECTIONS, LISTINGS, LISTING_USERS, LISTING_TEAMS, MODULE_DETAIL)}
ALL_ENDPOINTS: dict[str, Endpoint] = {**ORG_ENDPOINTS, **OTHER_ENDPOINTS}

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
MODULE_STATUSES = ("Queued", "Uploading", "ReadyToProcess", "Processing", "Ready", "Failed")
