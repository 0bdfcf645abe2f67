"""The simulated organisation: deterministic generation from (seed, scale, now, history) and mutations.

Every table row is a list of stored values in the documented field order of its endpoint (see
schema.py) plus one trailing slot holding the undocumented "drift" element's value (None = absent).
Datetimes are UTC epoch milliseconds, TimeTaken whole seconds. Every timestamp the generator writes
is <= the clock's now, so the whole history is reachable through date windows.

The org is `history_days` old: founded on its first day by its account owner, it starts small and
grows (README "Growth"). Rows of users, teams and courses are in creation order, so "what existed at
time t" is a bisect over their creation times.
"""
from __future__ import annotations

import math
import random
import uuid
from bisect import bisect_right

from . import names as N
from .schema import ACHIEVEMENTS, MODULE_STATUSES, ORG_ENDPOINTS, Endpoint
from .table import Table
from .timefmt import MS_PER_DAY, day_start_ms

HOUR = 3_600_000
MINUTE = 60_000

E_USERS = ORG_ENDPOINTS["/org/users/details"]
E_MR = ORG_ENDPOINTS["/org/modules/results"]
E_CR = ORG_ENDPOINTS["/org/results/details"]
E_LPR = ORG_ENDPOINTS["/org/learningpaths/results"]
E_ACH = ORG_ENDPOINTS["/org/achievements"]
E_MOD = ORG_ENDPOINTS["/org/modules"]
E_COURSE = ORG_ENDPOINTS["/org/courses"]
E_LP = ORG_ENDPOINTS["/org/learningpaths"]
E_CM = ORG_ENDPOINTS["/org/courses/modules"]
E_LPC = ORG_ENDPOINTS["/org/learningpaths/courses"]
E_UC = ORG_ENDPOINTS["/org/users/courses"]
E_LPU = ORG_ENDPOINTS["/org/learningpaths/users"]
E_TEAM = ORG_ENDPOINTS["/org/teams"]
E_TU = ORG_ENDPOINTS["/org/teams/users"]
E_TC = ORG_ENDPOINTS["/org/teams/courses"]
E_TLP = ORG_ENDPOINTS["/org/teams/learningpaths"]


# CompliantTillDays of the first courses, fixed so every seed has expired and expiring-soon rows.
GUARANTEED_COMPLIANCE_DAYS = (30, 60)

# Delays of a course result's history, drawn from the assignment / the start independently of now.
START_DELAY_MAX_MS = 10 * MS_PER_DAY
COMPLETE_DELAY_MAX_MS = 20 * MS_PER_DAY
# Delay of the (optional) later update of a learning path assignment record.
LP_USER_UPDATE_DELAY_MAX_MS = 14 * MS_PER_DAY
PARTIAL_PERCENTAGES = (10.0, 25.0, 33.3, 50.0, 66.7, 80.0, 95.0)

YEAR_MS = 365 * MS_PER_DAY
# The org starts small and grows: the yearly intake of users, courses and teams grows this much each
# year, so a 10-year-old org made most of its records in its last three years and its first years are
# sparse, while over a few weeks the intake is practically even.
GROWTH_PER_YEAR = 1.8
# The founding phase (account opened, first administrators, launch catalog, pilot users): the first
# four weeks, or the first tenth of a shorter history.
FOUNDING_MAX_MS = 28 * MS_PER_DAY
ONBOARDING_MS = 30 * MS_PER_DAY
ONGOING_ASSIGNMENTS_PER_YEAR = 2
MEAN_TENURE_MS = 4 * YEAR_MS
PILOT_LEAVER_SHARE = 0.4
# Course row 0 is the pilot course of the founding phase: retired before launch, never assigned.
PILOT_COURSE = 0
ADMIN, PILOT, LEARNER = "admin", "pilot", "learner"


class _Ix:
    """Attribute access to stored field positions of one endpoint, e.g. `U.UpdatedDate`."""

    def __init__(self, endpoint: Endpoint):
        for i, name in enumerate(endpoint.fields):
            setattr(self, name, i)
        self.DRIFT = len(endpoint.fields)
        self.width = len(endpoint.fields) + 1


U, MR, CR, LPR, ACH = _Ix(E_USERS), _Ix(E_MR), _Ix(E_CR), _Ix(E_LPR), _Ix(E_ACH)
MOD, CO, LP, CM, LPC = _Ix(E_MOD), _Ix(E_COURSE), _Ix(E_LP), _Ix(E_CM), _Ix(E_LPC)
UC, LPU, TEAM, TU, TC, TLP = _Ix(E_UC), _Ix(E_LPU), _Ix(E_TEAM), _Ix(E_TU), _Ix(E_TC), _Ix(E_TLP)
AX = _Ix(ACHIEVEMENTS)


_POSITIONS: dict[str, dict[str, int]] = {}


def _row(endpoint: Endpoint, **values) -> list:
    pos = _POSITIONS.get(endpoint.path)
    if pos is None:
        pos = _POSITIONS[endpoint.path] = {name: i for i, name in enumerate(endpoint.fields)}
    row = [None] * (len(endpoint.fields) + 1)
    for name, value in values.items():
        row[pos[name]] = value
    return row


def _table_for(endpoint: Endpoint) -> Table:
    ts_i = endpoint.index(endpoint.ts_field)
    fb_i = endpoint.index(endpoint.ts_fallback) if endpoint.ts_fallback else None
    key_i = tuple(endpoint.index(k) for k in endpoint.key)
    if fb_i is None:
        ts_of = lambda r: r[ts_i]  # noqa: E731
    else:
        ts_of = lambda r: r[ts_i] if r[ts_i] is not None else r[fb_i]  # noqa: E731
    key_of = lambda r: tuple(r[i] for i in key_i)  # noqa: E731
    return Table(endpoint.table, ts_of, key_of, ts_index=None if fb_i is not None else ts_i)


class Org:
    """All data of one simulated Litmos organisation.

    Args:
        seed: Seed of every random choice.
        scale: Number of users.
        now_ms: The clock's now at generation (epoch ms); nothing is stamped after it.
        history_days: Days of history before now: the org's age (it is founded on the first day).
    """

    def __init__(self, seed: int, scale: int, now_ms: int, history_days: int):
        self.seed, self.scale, self.history_days = seed, scale, history_days
        self.rng = random.Random(f"litmos-sim/{seed}/{scale}")
        self.ids = N.IdMaker(random.Random(f"ids/{seed}"))
        self.now_ms = now_ms
        self.start_ms = now_ms - history_days * MS_PER_DAY
        self.tables: dict[str, Table] = {e.table: _table_for(e) for e in ORG_ENDPOINTS.values()
                                         if e.table != "logins"}
        # Logins are events [user_row, login_ms]; the record is the user as now with LastLogin = event.
        users = self.tables["users"]
        self.tables["logins"] = Table("logins", lambda r: r[1], lambda r: (users.rows[r[0]][U.Id], r[1]))
        self.tables["achievements"] = Table("achievements", lambda r: r[AX.AchievementDate],
                                            lambda r: (r[AX.AchievementId],))
        self.collections: list[list] = []
        self.listings: dict[str, list[list]] = {}       # collection id -> listing rows
        self.listing_users: dict[str, list[list]] = {}  # listing id -> rows
        self.listing_teams: dict[str, list[list]] = {}
        self.module_details: dict[int, list] = {}       # module row -> [ModuleRefCode, Hide, NewWindow, Review, Status]
        # Lookups the activity generator needs.
        self.result_of: dict[tuple[int, int], int] = {}  # (user row, course row) -> course result row
        self.user_course_of: dict[tuple[int, int], int] = {}
        self.user_course_keys: list[tuple[int, int]] = []
        self.course_modules: list[list[int]] = []        # course row -> module rows
        self.lp_course_rows: list[list[int]] = []        # lp row -> course rows
        self.team_members: list[list[int]] = []
        self.user_teams: list[list[int]] = []
        self.team_direct_courses: list[list[tuple[int, int]]] = []  # team row -> (course row, assigned at)
        self.admins: list[int] = []                      # administrators' OriginalIds, in creation order
        self._admin_since: list[int] = []                # their CreatedDates
        self.team_created: list[int] = []                # team row -> CreatedDate (rows in creation order)
        self.course_created: list[int] = []              # course row -> CreatedDate (rows in creation order)
        self.lp_created: list[int] = []                  # learning path row -> CreatedDate
        self.counters = {"module_result": 5_000_000, "achievement": 7_000_000, "original": 100_000}
        # Module results for every started course at small scale; a sample at 100k-user scale (memory, build time).
        self.module_results_enabled = 1.0 if scale <= 5000 else 0.2
        self._lp_rows_of_user: dict[int, list[int]] = {}        # user row -> lp_results rows
        self._lp_of_result: dict[int, tuple[int, int]] = {}     # lp_results row -> (user row, lp row)
        self._mr_count: dict[int, int] = {}                     # course result row -> modules with results
        self.user_row_of: dict[str, int] = {}                   # user Id -> users row
        self.course_row_of: dict[str, int] = {}                 # course Id -> courses row
        self._generating = True
        self._generate()
        self._generating = False

    # ---- small helpers -------------------------------------------------------------------------------
    def t(self, name: str) -> Table:
        """Table by name."""
        return self.tables[name]

    def next_id(self, counter: str) -> int:
        """Next value of an integer id sequence."""
        self.counters[counter] += 1
        return self.counters[counter]

    def rint(self, lo: int, hi: int) -> int:
        """Random integer in [lo, hi] (a cheaper randint; the data only needs to be deterministic)."""
        return lo + int(self.rng.random() * (hi - lo + 1))

    def stamp(self, lo: int, hi: int) -> int:
        """A random ms timestamp in [lo, hi]; some land exactly on 00:00:00 or on a whole second."""
        if hi <= lo:
            return hi
        return self._snap(lo + int(self.rng.random() * (hi - lo + 1)), lo)

    def _snap(self, value: int, lo: int) -> int:
        """`value`, or its midnight (if not before `lo`) or whole second: real stamps often are round."""
        roll = self.rng.random()
        if roll < 0.03:
            midnight = day_start_ms(value)
            if midnight >= lo:
                return midnight
        elif roll < 0.25:
            return value - value % 1000
        return value

    def growth_times(self, n: int, lo: int, hi: int) -> list[int]:
        """`n` ascending timestamps in [lo, hi], denser later: the intake grows GROWTH_PER_YEAR-fold a year.

        Drawn by inverting the CDF of the density exp(g t) over the interval, so one random number
        per timestamp suffices whatever the span (a 10-year history costs what a 60-day one does).
        """
        if hi <= lo:
            return [hi] * n
        growth = math.log(GROWTH_PER_YEAR) * (hi - lo) / YEAR_MS
        total = math.expm1(growth)
        rng, width = self.rng, hi - lo
        out = []
        for _ in range(n):
            x = rng.random()
            frac = math.log1p(x * total) / growth if growth > 1e-9 else x
            out.append(self._snap(lo + min(width, int(frac * width)), lo))
        out.sort()
        return out

    def count(self, mean: float) -> int:
        """A whole number of events with expectation `mean` (the fraction decides one more)."""
        whole = int(mean)
        return whole + (self.rng.random() < mean - whole)

    def onboarding_time(self, lo: int, end: int) -> int | None:
        """When an onboarding step starting at `lo` happens, or None if that is after `end`.

        Drawn independently of now and censored, like a learner's progress: bounding the draw by now
        instead would cram the whole onboarding of every recent user into the last hours.
        """
        at = self.stamp(lo, lo + ONBOARDING_MS)
        return at if at <= end else None

    def admin(self, at: int | None = None) -> int:
        """OriginalId of a random administrator already in the org at `at` (default: any of them).

        Every change in Litmos is made by a user, so CreatedBy/UpdatedBy name an administrator whose
        user record was created no later than the change. The account owner exists from the first
        instant, so there is always one.
        """
        k = len(self.admins) if at is None else max(1, bisect_right(self._admin_since, at))
        return self.admins[int(self.rng.random() * k)]

    def courses_until(self, at: int) -> int:
        """Number of courses created by `at` (course rows are in creation order)."""
        return bisect_right(self.course_created, at)

    def assignable_course(self, k: int) -> int | None:
        """A random course row among the first `k`, never the pilot course (row 0); None if there is none."""
        return self.rint(PILOT_COURSE + 1, k - 1) if k > PILOT_COURSE + 1 else None

    # ---- generation ----------------------------------------------------------------------------------
    def _generate(self) -> None:
        span = self.now_ms - self.start_ms
        self.founding_end = self.start_ms + min(span // 10, FOUNDING_MAX_MS)
        years = span / YEAR_MS
        people = self._plan_people()
        n_launch = max(12, min(240, self.scale // 400))
        n_later = min(360, round(max(6, self.scale // 300) * years))
        self._gen_teams(max(4, self.scale // 40))
        self._gen_courses_modules(n_launch, n_later)
        self._gen_learning_paths(max(3, (n_launch + n_later) // 4))
        self._gen_team_assignments()
        for created, role, orig in people:
            self._gen_person(created, role, orig)
        self._gen_collections(max(2, len(self.course_created) // 10))
        self._pin_boundary_rows()

    def _plan_people(self) -> list[tuple[int, str, int | None]]:
        """Creation time, role and (administrators only) OriginalId of every user, in creation order.

        The account owner opens the org at its first instant and two more administrators join within
        days; a small pilot group arrives during the founding phase; the remaining administrators and
        the learners arrive over the whole history at a growing rate.
        """
        n, start, founding, now = self.scale, self.start_ms, self.founding_end, self.now_ms
        n_admins = min(n, 3 + n // 1000)
        n_pilots = min(n - n_admins, max(3, min(10, n // 200)))
        first_days = start + min(3 * MS_PER_DAY, founding - start)
        admins = [start] + [self.stamp(start, first_days) for _ in range(min(2, n_admins - 1))]
        admins += self.growth_times(n_admins - len(admins), founding, now)
        people = [(t, ADMIN) for t in admins]
        people += [(self.stamp(start, founding), PILOT) for _ in range(n_pilots)]
        people += [(t, LEARNER) for t in self.growth_times(n - n_admins - n_pilots, start, now)]
        people.sort(key=lambda p: p[0])  # stable: the owner (first, at `start`) stays first
        plan = []
        for created, role in people:
            orig = None
            if role == ADMIN:
                orig = self.next_id("original")
                self.admins.append(orig)
                self._admin_since.append(created)
            plan.append((created, role, orig))
        return plan

    def _gen_teams(self, n: int) -> None:
        """Teams in creation order: the first two during the founding, the rest as the org grows.

        Roots come first, then their children, then grandchildren, so every parent team is older than
        its children.
        """
        rng, teams = self.rng, self.t("teams")
        n_roots = max(2, n // 8)
        n_level2 = max(1, (n - n_roots) * 2 // 5)
        n_founding = min(n, 2)
        times = sorted(self.stamp(self.start_ms, self.founding_end) for _ in range(n_founding))
        times += self.growth_times(n - n_founding, self.founding_end, self.now_ms)
        for i, created in enumerate(times):
            if i < n_roots:
                parent = None
            elif i < n_roots + n_level2:
                parent = rng.randrange(n_roots)
            else:
                parent = rng.randrange(n_roots, n_roots + n_level2)
            admin = self.admin(created)
            teams.add(_row(
                E_TEAM, Id=self.ids.new(), Name=f"{rng.choice(N.TEAM_WORDS)} Team {i + 1}",
                OriginalTeamId=self.next_id("original"), Active=True, CreatedDate=created,
                UpdatedDate=created, CreatedBy=admin, UpdatedBy=admin,
                ParentTeamId=None if parent is None else teams.rows[parent][TEAM.Id],
                TeamCodeForBulkImport=None if rng.random() < 0.3 else f"TEAM-{i + 1:04d}"))
            self.team_created.append(created)
            self.team_members.append([])
            self.team_direct_courses.append([])

    def _gen_courses_modules(self, n_launch: int, n_later: int) -> None:
        """The launch catalog (founding phase) and the courses added later, in creation order."""
        times = sorted(self.stamp(self.start_ms, self.founding_end) for _ in range(n_launch))
        times += self.growth_times(n_later, self.founding_end, self.now_ms)
        for c, created in enumerate(times):
            self._gen_course(c, created)
        self.course_created = times

    def _course_updated(self, c: int, created: int) -> int:
        """When course `c` was last edited: most are finished within two weeks, a fifth revised any time later."""
        if c == PILOT_COURSE:
            # The pilot course was retired while the org was still being set up and never touched again.
            return self.stamp(created, self.founding_end)
        if self.rng.random() < 0.8:
            return self.stamp(created, min(self.now_ms, created + 14 * MS_PER_DAY))
        return self.stamp(created, self.now_ms)

    def _gen_course(self, c: int, created: int) -> None:
        rng = self.rng
        courses = self.t("courses")
        updated = self._course_updated(c, created)
        topic = N.COURSE_TOPICS[c % len(N.COURSE_TOPICS)]
        compliant_days = rng.choice((None, None, 365, 180, 30))
        if PILOT_COURSE < c <= len(GUARANTEED_COMPLIANCE_DAYS):
            # Whatever the seed, some compliance periods are short enough to have expired, or to
            # expire soon, within a few weeks of history (the marts' statuses all need examples).
            compliant_days = GUARANTEED_COMPLIANCE_DAYS[c - PILOT_COURSE - 1]
        courses.add(_row(
            E_COURSE, Id=self.ids.new(), Code=f"C-{c + 1:03d}", Name=f"{topic} {c // len(N.COURSE_TOPICS) + 1}",
            Active=c != PILOT_COURSE and rng.random() > 0.05, ForSale=rng.random() < 0.1,
            OriginalCourseId=self.next_id("original"),
            Description=rng.choice((None, f"Learn {topic} & more", "Covers <basics> & practice")),
            EcommerceShortDescription=None, EcommerceLongDescription=None,
            CourseCodeForBulkImport=rng.choice((None, f"BULK-{c + 1}")), Price=rng.choice((0.0, 0.0, 49.99, 120.5)),
            AccessTillDate=None, AccessTillDays=rng.choice((None, 365)), CreatedDate=created,
            UpdatedDate=updated, CreatedBy=self.admin(created), UpdatedBy=self.admin(updated),
            CompliantTillDays=compliant_days, TimeLimitDate=None, TimeLimitDays=rng.choice((None, 30)),
            DisplayOrder=c + 1, IncludeInLibrary=rng.random() < 0.7,
            CourseImageURL=rng.choice((None, f"https://cdn.litmos.example/img/c{c + 1}.png"))))
        self.course_row_of[courses.rows[c][CO.Id]] = c
        built_by = min(updated, created + 7 * MS_PER_DAY)  # modules are added while the course is built
        self.course_modules.append([self._gen_module(c, m, self.stamp(created, built_by), topic)
                                    for m in range(rng.randint(1, 4))])

    def _gen_module(self, c: int, m: int, created: int, topic: str) -> int:
        """Module `m` of course row `c` and its course-module record; returns the module row."""
        rng = self.rng
        modules, course = self.t("modules"), self.t("courses").rows[c]
        kind = rng.choices(N.MODULE_KINDS, weights=(30, 20, 20, 10, 12, 8))[0]
        m_row = modules.add(_row(
            E_MOD, Id=self.ids.new(), OriginalId=self.next_id("original"),
            Name=f"{topic}: part {m + 1}", Description=rng.choice((None, "Module & notes", "<intro> text")),
            Active=True, Passmark=80 if kind == "Assessment" else 0, CreatedDate=created,
            UpdatedDate=created, CreatedBy=self.admin(created), ModuleType=kind))
        if kind in ("Scorm", "TinCan"):
            self.module_details[m_row] = [
                rng.choice((None, f"REF-{m_row}")), rng.random() < 0.3, rng.random() < 0.5,
                rng.random() < 0.7, rng.choices(MODULE_STATUSES, weights=(1, 1, 1, 1, 12, 2))[0]]
        admin = self.admin(created)
        self.t("course_modules").add(_row(
            E_CM, CourseId=course[CO.Id], Id=modules.rows[m_row][MOD.Id],
            OriginalCourseId=course[CO.OriginalCourseId], OriginalModuleId=modules.rows[m_row][MOD.OriginalId],
            Active=True, CreatedDate=created, UpdatedDate=created, CreatedBy=admin, UpdatedBy=admin))
        return m_row

    def _gen_learning_paths(self, n: int) -> None:
        """Learning paths of existing courses: one closes the founding phase, the rest come with growth."""
        rng = self.rng
        lps, lpcs, courses = self.t("learning_paths"), self.t("lp_courses"), self.t("courses")
        launch_done = max(t for t in self.course_created if t <= self.founding_end)
        times = [self.stamp(launch_done, self.founding_end)]
        times += self.growth_times(n - 1, self.founding_end, self.now_ms)
        for i, created in enumerate(times):
            row = lps.add(_row(
                E_LP, Id=self.ids.new(), Name=f"Path {i + 1}: {rng.choice(N.COURSE_TOPICS)}",
                Description=rng.choice((None, "A path & its courses")), Active=True,
                OriginalId=self.next_id("original"), ForSale=False, Price=0.0, EcommerceShortDescription=None,
                EcommerceLongDescription=None, AccessTillDate=None, AccessTillDays=None, CreatedDate=created,
                UpdatedDate=created, CreatedBy=self.admin(created), DisplayOrder=i + 1,
                IncludeInLibrary=rng.random() < 0.5, IsCourseOrderOptional=rng.random() < 0.5, ImageURL=None))
            available = range(PILOT_COURSE + 1, self.courses_until(created))
            members = rng.sample(available, k=min(len(available), rng.randint(2, 5)))
            self.lp_course_rows.append(members)
            self.lp_created.append(created)
            for c in members:
                admin = self.admin(created)
                lpcs.add(_row(
                    E_LPC, LearningPathId=lps.rows[row][LP.Id], Id=courses.rows[c][CO.Id],
                    OriginalLearningPathId=lps.rows[row][LP.OriginalId],
                    OriginalCourseId=courses.rows[c][CO.OriginalCourseId], Active=True, CreatedDate=created,
                    UpdatedDate=created, CreatedBy=admin, UpdatedBy=admin))

    def _soon_after(self, lo: int, days: int, end: int | None = None) -> int | None:
        """A stamp within `days` days after `lo`, or None if it falls after `end` (default now): not yet."""
        at = self.stamp(lo, lo + days * MS_PER_DAY)
        return at if at <= (self.now_ms if end is None else end) else None

    def _gen_team_assignments(self) -> None:
        """Each team gets its courses and (for some) a learning path within a month of its creation."""
        for t in range(len(self.t("teams"))):
            settled = min(self.now_ms, self.team_created[t] + 30 * MS_PER_DAY)
            self._assign_team_courses(t, settled)
            n_lps = bisect_right(self.lp_created, settled)
            if n_lps and self.rng.random() < 0.4:
                self._assign_team_lp(t, self.rng.randrange(n_lps))

    def _assign_team_courses(self, t: int, settled: int) -> None:
        """Direct and library courses of team row `t`, chosen from the catalog as it is by `settled`."""
        rng, team, courses = self.rng, self.t("teams").rows[t], self.t("courses").rows
        available = range(PILOT_COURSE + 1, self.courses_until(settled))
        direct = rng.sample(available, k=min(len(available), rng.randint(0, 2)))
        library = rng.sample(available, k=min(len(available), rng.randint(0, 3)))
        for c, in_library in [(c, False) for c in direct] + [(c, True) for c in library]:
            stamp = self._soon_after(max(self.team_created[t], self.course_created[c]), 30)
            if stamp is None:
                continue
            if not in_library:
                self.team_direct_courses[t].append((c, stamp))
            admin = self.admin(stamp)
            self.t("team_courses").add(_row(
                E_TC, TeamId=team[TEAM.Id], Id=courses[c][CO.Id], OriginalCourseId=courses[c][CO.OriginalCourseId],
                OriginalTeamId=team[TEAM.OriginalTeamId], Active=True, IsInTeamLibrary=in_library,
                LearningPathAssignment=False, CreatedDate=stamp, UpdatedDate=stamp, CreatedBy=admin, UpdatedBy=admin))

    def _assign_team_lp(self, t: int, lp_row: int) -> None:
        """Learning path `lp_row` for team row `t` (in its library or assigned), unless not yet at now."""
        team, path = self.t("teams").rows[t], self.t("learning_paths").rows[lp_row]
        in_library = self.rng.random() < 0.5
        stamp = self._soon_after(max(self.team_created[t], self.lp_created[lp_row]), 30)
        if stamp is None:
            return
        admin = self.admin(stamp)
        self.t("team_lps").add(_row(
            E_TLP, TeamId=team[TEAM.Id], Id=path[LP.Id], OriginalLearningPathId=path[LP.OriginalId],
            OriginalTeamId=team[TEAM.OriginalTeamId], Active=True, IsInTeamLibrary=in_library, CreatedDate=stamp,
            UpdatedDate=stamp, CreatedBy=admin, UpdatedBy=admin))

    def new_user(self, created: int, admin_orig: int | None = None) -> int:
        """Create one user stamped `created`; returns its row.

        Args:
            created: CreatedDate (epoch ms).
            admin_orig: The OriginalId reserved for an administrator (see `admins`); None for a
                learner (some of them team leaders).
        """
        rng = self.rng
        users = self.t("users")
        first, last = rng.choice(N.FIRST_NAMES), rng.choice(N.LAST_NAMES)
        orig = self.next_id("original") if admin_orig is None else admin_orig
        level = "Administrator" if admin_orig is not None else (
            "Team Leader" if rng.random() < 0.05 else "Learner")
        username = f"user{orig}@acme.example"
        manager = rng.randrange(len(users)) if len(users) > 3 and rng.random() < 0.6 else None
        row = _row(
            E_USERS, Id=self.ids.new(), UserName=username, FirstName=first, LastName=last,
            FullName=f"{first} {last}", Email=None if rng.random() < 0.1 else username, AccessLevel=level,
            DisableMessages=rng.random() < 0.1, Active=True, Skype=None,
            PhoneWork=rng.choice((None, None, "+1 555 0100")), PhoneMobile=rng.choice((None, "+44 7700 900123")),
            LastLogin=None, LoginKey=f"https://acme.litmos.example/login.aspx?loginkey={uuid.UUID(int=rng.getrandbits(128))}",
            IsCustomUsername=rng.random() < 0.2, TimeZone=rng.choice(N.TIME_ZONES), SalesforceId=None,
            OriginalId=orig, Street1=rng.choice((None, "1 Main St & 2nd Ave")), Street2=None,
            City=rng.choice(N.CITIES), State=None, PostalCode=rng.choice((None, "8001")),
            Country=rng.choice(N.COUNTRIES), CompanyName="Acme & Co", JobTitle=rng.choice(N.JOB_TITLES),
            CustomField1=rng.choice((None, "Level <2>", "Blue")), Culture=rng.choice(N.CULTURES),
            CreatedDate=created, UpdatedDate=created, CreatedBy=self.admin(created), UpdatedBy=self.admin(created),
            Brand=rng.choice(N.BRANDS),
            ManagerId=None if manager is None else users.rows[manager][U.Id],
            ManagerName=None if manager is None else users.rows[manager][U.FullName],
            EnableTextNotification=rng.random() < 0.2, Website=None, Twitter=None,
            ExpirationDate=None if rng.random() < 0.95 else self.now_ms + rng.randint(30, 400) * MS_PER_DAY,
            ExternalEmployeeId=rng.choice((None, f"E{orig:07d}")))
        if rng.random() < 0.15:
            row[U.DRIFT] = rng.choice(N.DEPARTMENTS)
        u = users.add(row)
        self.user_row_of[row[U.Id]] = u
        self.user_teams.append([])
        return u

    def _leave_time(self, created: int, role: str) -> int | None:
        """When a user leaves the org (is deactivated), or None if still there at now.

        Administrators stay. Part of the pilot group leaves soon after the founding without ever
        logging in; learners stay for an exponentially distributed tenure.
        """
        if role == ADMIN:
            return None
        if role == PILOT and self.rng.random() < PILOT_LEAVER_SHARE:
            leave = self.stamp(created, self.founding_end + 30 * MS_PER_DAY)
        else:
            leave = created + int(self.rng.expovariate(1.0) * MEAN_TENURE_MS)
        return leave if leave < self.now_ms else None

    def _login_rate(self, role: str, leave: int | None) -> float:
        """Logins per day over the user's tenure (administrators work in the org most days)."""
        rng = self.rng
        if role == ADMIN:
            return 0.3 + 0.4 * rng.random()
        if (role == PILOT and leave is not None and leave <= self.founding_end + 30 * MS_PER_DAY) or rng.random() < 0.1:
            return 0.0
        return 0.15 * rng.random()

    def _gen_person(self, created: int, role: str, admin_orig: int | None) -> None:
        """One user with a whole tenure: teams, assignments, results, logins, and leaving (if they left)."""
        leave = self._leave_time(created, role)
        login_rate = self._login_rate(role, leave)
        u = self.new_user(created, admin_orig)
        end = self.now_ms if leave is None else leave
        joined = self._join_teams(u, created, end)
        courses = self._gen_assignments(u, created, end)
        for t, at in joined:  # a team's direct courses reach its members from when both exist
            for c, team_at in self.team_direct_courses[t]:
                if max(at, team_at) <= end:
                    courses.setdefault(c, max(at, team_at))
        if self.rng.random() < 0.3:
            self._gen_lp_assignment(u, created, end, courses)
        for c, at in courses.items():
            self.new_result(u, c, at, end)
        for lp_users_row in self._lp_rows_of_user.get(u, ()):
            self.refresh_lp_result(lp_users_row, None)
        self._gen_logins(u, created, end, login_rate)
        if leave is not None:
            self.deactivate_user(u, max(leave, self.t("users").rows[u][U.UpdatedDate]))

    def _gen_lp_assignment(self, u: int, created: int, end: int, courses: dict[int, int]) -> None:
        """Assign one of the learning paths of the user's onboarding time; its courses join `courses`."""
        at = self.onboarding_time(created, end)
        n_lps = 0 if at is None else bisect_right(self.lp_created, at)
        if not n_lps:
            return
        lp = self.rint(0, n_lps - 1)
        self.assign_lp(u, lp, at)
        for c in self.lp_course_rows[lp]:
            courses.setdefault(c, at)

    def _join_teams(self, u: int, created: int, end: int) -> list[tuple[int, int]]:
        """Put a new user in one or two of the teams that exist by then; returns (team row, joined at)."""
        n_teams = max(1, bisect_right(self.team_created, created + 3 * MS_PER_DAY))
        joined = []
        for t in self.rng.sample(range(n_teams), k=min(n_teams, 1 if self.rng.random() < 0.8 else 2)):
            at = self._soon_after(max(created, self.team_created[t]), 3, end)
            if at is not None:
                self.join_team(u, t, at)
                joined.append((t, at))
        return joined

    def _gen_assignments(self, u: int, created: int, end: int) -> dict[int, int]:
        """Direct course assignments over a tenure; returns course row -> assigned at.

        Onboarding assigns up to 30 of the courses that exist within the user's first weeks; later
        assignments come at ONGOING_ASSIGNMENTS_PER_YEAR on average, each from the catalog of its day.
        """
        courses: dict[int, int] = {}
        available = range(PILOT_COURSE + 1, self.courses_until(created + ONBOARDING_MS))
        for c in self.rng.sample(available, k=self.rint(0, min(len(available), 30))):
            at = self.onboarding_time(max(created, self.course_created[c]), end)
            if at is not None:
                self.assign_course(u, c, at)
                courses[c] = at
        for _ in range(self.count(ONGOING_ASSIGNMENTS_PER_YEAR * (end - created) / YEAR_MS)):
            at = self.stamp(created, end)
            c = self.assignable_course(self.courses_until(at))
            if c is not None and c not in courses:
                self.assign_course(u, c, at)
                courses[c] = at
        return courses

    def join_team(self, u: int, t: int, at: int) -> int:
        """Add user row `u` to team row `t` at `at`; returns the team_users row."""
        users, teams = self.t("users"), self.t("teams")
        user, team = users.rows[u], teams.rows[t]
        self.user_teams[u].append(t)
        self.team_members[t].append(u)
        return self.t("team_users").add(_row(
            E_TU, TeamId=team[TEAM.Id], Id=user[U.Id], OriginalTeamId=team[TEAM.OriginalTeamId],
            OriginalUserId=user[U.OriginalId], Active=True, IsTeamLeader=user[U.AccessLevel] == "Team Leader",
            IsTeamAdmin=self.rng.random() < 0.02, CreatedDate=at, UpdatedDate=at, CreatedBy=self.admin(at),
            UpdatedBy=self.admin(at)))

    def assign_course(self, u: int, c: int, at: int) -> int:
        """Direct user-course assignment record; returns its row."""
        user, course = self.tables["users"].rows[u], self.tables["courses"].rows[c]
        admin = self.admin(at)
        # Literal row in documented order (hot path at 100k-user scale).
        row = self.tables["user_courses"].add([
            user[U.Id], course[CO.Id], user[U.OriginalId], course[CO.OriginalCourseId], True, at, at, admin, admin,
            None])
        self.user_course_of[(u, c)] = row
        self.user_course_keys.append((u, c))
        return row

    def assign_lp(self, u: int, lp: int, at: int) -> int:
        """Direct user-learning-path assignment plus its (empty) learning path result; returns lp_users row."""
        rng = self.rng
        user, path = self.t("users").rows[u], self.t("learning_paths").rows[lp]
        # As in the docs' example, UpdatedDate is usually nil on these records (then CreatedDate is the ts).
        # A later update (if any) comes within two weeks; one that would fall after now has not happened yet.
        updated = None if rng.random() < 0.7 else self.stamp(at, at + LP_USER_UPDATE_DELAY_MAX_MS)
        if updated is not None and updated > self.now_ms:
            updated = None
        row = self.t("lp_users").add(_row(
            E_LPU, LearningPathId=path[LP.Id], Id=user[U.Id], OriginalLearningPathId=path[LP.OriginalId],
            Active=True, OriginalUserId=user[U.OriginalId], CreatedBy=self.admin(at), CreatedDate=at,
            UpdatedBy=0 if updated is None else self.admin(updated), UpdatedDate=updated))
        res = self.t("lp_results").add(_row(
            E_LPR, Id=path[LP.Id], UserId=user[U.Id], OriginalLearningPathId=path[LP.OriginalId],
            OriginalUserId=user[U.OriginalId], Active=True, Name=path[LP.Name], PercentageComplete=0.0,
            Completed=False, CreatedDate=at, UpdatedDate=at, CompliantTillDate=None, StartDate=None,
            FinishDate=None, CreatedBy=self.admin(at)))
        self._lp_rows_of_user.setdefault(u, []).append(res)
        self._lp_of_result[res] = (u, lp)
        return row

    def new_result(self, u: int, c: int, assigned: int, until: int | None = None) -> None:
        """Course result with a full history up to `until` (start, progress, completion, due, compliance).

        Args:
            u: User row.
            c: Course row.
            assigned: When the course was assigned (the result's CreatedDate).
            until: The learner's last moment in the org (default now): progress stops there, deadlines
                (overdue, compliance expiry) keep flipping up to now.
        """
        rng = self.rng
        now = self.now_ms if until is None else min(until, self.now_ms)
        course = self.t("courses").rows[c]
        user = self.t("users").rows[u]
        due = assigned + self.rint(14, 60) * MS_PER_DAY if rng.random() < 0.5 else None
        row = [None] * CR.width
        row[CR.Id], row[CR.UserId] = course[CO.Id], user[U.Id]
        row[CR.OriginalUserId], row[CR.OriginalCourseId] = user[U.OriginalId], course[CO.OriginalCourseId]
        row[CR.Name], row[CR.Active], row[CR.CreatedDate], row[CR.UpdatedDate] = course[CO.Name], True, assigned, assigned
        row[CR.Completed], row[CR.PercentageComplete], row[CR.UpToDate], row[CR.Overdue] = False, 0.0, False, False
        row[CR.DueDate], row[CR.CreatedBy], row[CR.Code], row[CR.Username] = due, self.admin(assigned), course[CO.Code], user[U.UserName]
        if rng.random() < 0.1:
            row[CR.DRIFT] = self.rint(1, 4)
        r = self.t("course_results").add(row)
        self.result_of[(u, c)] = r
        # The learner's future is drawn independently of now (75% start within 10 days of the
        # assignment, 45% then complete within 20 days of starting) and censored at now: an event
        # that would fall after now has simply not happened yet. Clipping the delays at now instead
        # would cram the whole future of every recent assignment into the last hours.
        roll = rng.random()
        if roll < 0.75:
            started = self.stamp(assigned, assigned + START_DELAY_MAX_MS)
            if started <= now:
                done = self.stamp(started, started + COMPLETE_DELAY_MAX_MS) if roll < 0.45 else None
                if done is not None and done <= now:
                    self.progress(r, started, 100.0, done)
                else:
                    self.progress(r, started, PARTIAL_PERCENTAGES[self.rint(0, 6)], None)
        self.apply_deadlines(r, self.now_ms)

    def progress(self, r: int, started: int, pct: float, done: int | None) -> None:
        """Move course result `r` to `pct` percent (stamped `done` when completing, else `started`)."""
        rng = self.rng
        row = self.t("course_results").rows[r]
        if row[CR.StartedDate] is None:
            row[CR.StartedDate] = started
        stamp = done if done is not None else started
        stamp = max(stamp, row[CR.UpdatedDate])
        row[CR.PercentageComplete] = pct
        row[CR.LastAttemptDate] = stamp
        row[CR.UpdatedDate] = stamp
        if done is not None:
            row[CR.Completed], row[CR.CompletedDate], row[CR.Overdue] = True, stamp, False
            days = self.t("courses").rows[self._course_row(row)][CO.CompliantTillDays]
            row[CR.CompliantTillDate] = stamp + days * MS_PER_DAY if days else None
            row[CR.UpToDate] = True
            self.add_achievement(r, stamp)
        if rng.random() < self.module_results_enabled:
            self._module_results(r, row[CR.StartedDate], stamp, pct)
        if self._generating:  # the generator refreshes learning path results once per user
            return
        self.tables["course_results"].touch(r)
        for lp_res in self._lp_rows_of_user.get(self._user_row(row), ()):
            self.refresh_lp_result(lp_res, stamp)

    def _course_row(self, result_row: list) -> int:
        return self.course_row_of[result_row[CR.Id]]

    def _user_row(self, result_row: list) -> int:
        return self.user_row_of[result_row[CR.UserId]]

    def _module_results(self, r: int, started: int, stamp: int, pct: float) -> None:
        """Module results of course result `r` consistent with its percentage (assessments: retries)."""
        rng = self.rng
        result = self.t("course_results").rows[r]
        c = self._course_row(result)
        mods = self.course_modules[c]
        done = len(mods) if pct >= 100 else int(len(mods) * pct / 100)
        table = self.t("module_results")
        existing = self._mr_count
        u = self._user_row(result)
        user = self.t("users").rows[u]
        for m_row in mods[existing.get(r, 0):done]:
            module = self.t("modules").rows[m_row]
            attempts = self.rint(1, 3) if module[MOD.ModuleType] == "Assessment" else 1
            t0 = max(started, stamp - 2 * HOUR)
            for attempt in range(1, attempts + 1):
                passed = attempt == attempts
                taken = self.rint(60, 3 * 3600) if rng.random() > 0.01 else self.rint(86_400, 3 * 86_400)
                finish = min(stamp, t0 + taken * 1000)
                row = [None] * MR.width
                row[MR.Id], row[MR.UserId] = module[MOD.Id], user[U.Id]
                row[MR.OrginalModuleId], row[MR.OriginalUserId] = module[MOD.OriginalId], user[U.OriginalId]
                row[MR.ModuleResultId], row[MR.Active], row[MR.Name] = self.next_id("module_result"), True, module[MOD.Name]
                row[MR.Passmark] = module[MOD.Passmark]
                row[MR.Score] = self.rint(80, 100) if passed else self.rint(20, 79)
                row[MR.UserName], row[MR.Completed], row[MR.AttemptNumber] = user[U.UserName], passed, attempt
                row[MR.CreatedBy], row[MR.FinishedDate], row[MR.CreatedDate] = self.admin(t0), finish, t0
                row[MR.StartedDate], row[MR.TimeTaken], row[MR.UpdatedDate] = t0, taken, finish
                row[MR.Code] = None if rng.random() < 0.5 else f"M{module[MOD.OriginalId]}"
                table.add(row)
        existing[r] = max(existing.get(r, 0), done)

    def refresh_lp_result(self, lp_res: int, stamp: int | None) -> None:
        """Recompute a learning path result from the user's course results (stamped `stamp` if changed)."""
        u, lp = self._lp_of_result[lp_res]
        results = self.t("course_results").rows
        rows = [results[self.result_of[(u, c)]] for c in self.lp_course_rows[lp] if (u, c) in self.result_of]
        if not rows:
            return
        done = [r for r in rows if r[CR.Completed]]
        pct = round(100.0 * len(done) / len(self.lp_course_rows[lp]), 1)
        res = self.t("lp_results").rows[lp_res]
        if pct == res[LPR.PercentageComplete] and res[LPR.StartDate] is not None:
            return
        started = [r[CR.StartedDate] for r in rows if r[CR.StartedDate] is not None]
        res[LPR.StartDate] = min(started) if started else None
        res[LPR.PercentageComplete] = pct
        when = stamp if stamp is not None else max([r[CR.UpdatedDate] for r in rows] + [res[LPR.UpdatedDate]])
        if pct >= 100 and not res[LPR.Completed]:
            res[LPR.Completed] = True
            res[LPR.FinishDate] = max(r[CR.CompletedDate] for r in done)
            when = max(when, res[LPR.FinishDate])
        res[LPR.UpdatedDate] = max(when, res[LPR.UpdatedDate])
        self.t("lp_results").touch(lp_res)

    def add_achievement(self, r: int, at: int) -> None:
        """Achievement for completing course result `r` (both the /org and the seed-004 record)."""
        rng = self.rng
        result = self.t("course_results").rows[r]
        user = self.t("users").rows[self._user_row(result)]
        orig = self.next_id("achievement")
        cert = self.rint(100_000, 999_999) if rng.random() < 0.6 else None
        admin = self.admin(at)
        till, name = result[CR.CompliantTillDate], result[CR.Name]
        # Literal rows in documented order (hot path at 100k-user scale).
        self.tables["org_achievements"].add([
            self.ids.new(), user[U.Id], result[CR.Id], None, orig, user[U.OriginalId], result[CR.OriginalCourseId],
            None, till, name, at, "Online Course", cert, at, at, admin, admin, None])
        self.tables["achievements"].add([
            user[U.Id], name, None if rng.random() < 0.5 else f"Completed {name}", at, result[CR.Id], till,
            None if rng.random() < 0.5 else str(self.rint(70, 100)), "Completed", "Online Course",
            user[U.FirstName], user[U.LastName], orig, cert, None])

    def apply_deadlines(self, r: int, upto: int, since: int | None = None) -> None:
        """Overdue and compliance expiry events of result `r` that fall in (since, upto]."""
        row = self.t("course_results").rows[r]
        if not row[CR.Active]:
            return
        due = row[CR.DueDate]
        if due is not None and not row[CR.Completed] and not row[CR.Overdue] and due <= upto and (
                since is None or due > since):
            row[CR.Overdue] = True
            row[CR.UpdatedDate] = max(row[CR.UpdatedDate], due)
            self.t("course_results").touch(r)
        till = row[CR.CompliantTillDate]
        if till is not None and row[CR.UpToDate] and till <= upto and (since is None or till > since):
            row[CR.UpToDate] = False
            row[CR.UpdatedDate] = max(row[CR.UpdatedDate], till)
            self.t("course_results").touch(r)

    def _gen_logins(self, u: int, lo: int, hi: int, per_day: float) -> None:
        """Login events of user row `u` in [lo, hi] at `per_day` on average (user record updated once)."""
        n = int(per_day * (hi - lo) / MS_PER_DAY + self.rng.random())
        if not n:
            return
        # A set: (Id, LastLogin) is the record key, and over years of logins some stamps snap to the
        # same midnight.
        stamps = sorted({self.stamp(lo, hi) for _ in range(n)})
        logins = self.tables["logins"]
        for at in stamps:
            logins.add([u, at])
        user = self.tables["users"].rows[u]
        user[U.LastLogin] = stamps[-1]
        user[U.UpdatedDate] = max(user[U.UpdatedDate], stamps[-1])

    def login(self, u: int, at: int) -> None:
        """A login event. It also updates the user record (LastLogin, UpdatedDate) so details stay consistent."""
        users = self.t("users")
        user = users.rows[u]
        self.t("logins").add([u, at])
        if user[U.LastLogin] is None or at > user[U.LastLogin]:
            user[U.LastLogin] = at
            user[U.UpdatedDate] = max(user[U.UpdatedDate], at)
            users.touch(u)
            self.t("logins").invalidate_all()

    def deactivate_user(self, u: int, at: int) -> None:
        """Removal: same record with Active=false and a new UpdatedDate."""
        users = self.t("users")
        user = users.rows[u]
        user[U.Active] = False
        user[U.UpdatedDate] = max(user[U.UpdatedDate], at)
        user[U.UpdatedBy] = self.admin(user[U.UpdatedDate])
        users.touch(u)
        self.t("logins").invalidate_all()

    def _gen_collections(self, n: int) -> None:
        rng = self.rng
        users, teams = self.t("users"), self.t("teams")
        for i in range(n):
            cid = self.ids.new()
            self.collections.append([cid, f"Collection {i + 1}: {rng.choice(N.COURSE_TOPICS)}", None])
            rows = []
            for j in range(rng.randint(1, 3)):
                lid = self.ids.new()
                kind = rng.choice(("Unlimited", "Dynamic", "Fixed"))
                fixed = {"Unlimited": "0", "Dynamic": "n", "Fixed": "2027-01-31T00:00:00"}[kind]
                rows.append([lid, f"Listing {i + 1}.{j + 1}", rng.random() > 0.1, kind, rng.choice((None, 50, 500)),
                             rng.choice((None, 30, 365)) if kind == "Dynamic" else None, fixed, None])
                members = rng.sample(range(len(users)), k=min(len(users), rng.randint(0, 8)))
                self.listing_users[lid] = [
                    [users.rows[u][U.Id], users.rows[u][U.FirstName], users.rows[u][U.LastName],
                     users.rows[u][U.UserName],
                     None if rng.random() < 0.4 else self.now_ms + rng.randint(1, 300) * MS_PER_DAY,
                     rng.random() > 0.1, None] for u in members]
                team_rows = rng.sample(range(len(teams)), k=min(len(teams), rng.randint(0, 2)))
                self.listing_teams[lid] = [
                    [teams.rows[t][TEAM.Id], teams.rows[t][TEAM.Name], teams.rows[t][TEAM.TeamCodeForBulkImport],
                     teams.rows[t][TEAM.ParentTeamId], None] for t in team_rows]
            self.listings[cid] = rows

    def _pin_boundary_rows(self) -> None:
        """Make sure some rows sit exactly on 00:00:00 of today and of the day before (boundary tests)."""
        today = day_start_ms(self.now_ms)
        results = self.t("course_results")
        rows, pinned = results.rows, set()
        for offset in (0, MS_PER_DAY):
            stamp = today - offset
            if stamp < self.start_ms:
                continue
            # The latest result updated before the boundary moves up to it: a row may only move forward
            # in time, and the closest one changes the history least (early years stay untouched).
            below = [r for r in range(len(rows)) if rows[r][CR.UpdatedDate] <= stamp and r not in pinned]
            if below:
                r = max(below, key=lambda i: rows[i][CR.UpdatedDate])
                rows[r][CR.UpdatedDate] = stamp
                results.touch(r)
                pinned.add(r)
