"""The dashboards' figures (报表): plain aggregate queries over a period of local days and an optional team.

Every function takes a Session and a Scope (period, team, now) and returns numbers keyed by codes and ids;
app.services.analytics_charts turns them into translated charts with drill-downs, and
app.services.analytics_export into workbooks. The definitions (also in the README, "Dashboards"):

- volume: tickets created in the period, per local day and channel, per category, per product;
- backlog: open tickets now, by age — (0, 1], (1, 3], (3, 7], (7, 30] and more than 30 days since creation;
- SLA compliance: of the tickets created in the period (cancelled ones aside) that carry the deadline, the
  share that met it (responded / resolved by the deadline) among those decided: met, or breached — done late,
  or not done and the deadline passed. Not done yet with time left is pending and not counted; a ticket
  without the deadline made no promise and is not counted either;
- first-time fix: of the tickets resolved in the period, those resolved in their first round (never reopened
  and resolved again: `resolution_round` < 2; 0 is a ticket resolved before rounds were counted);
- time to resolve: created → (last) resolution in wall-clock hours for the tickets resolved in the period,
  mean and median (the median from 6-minute bins);
- CSAT: ratings given in the period (one per resolution round): average stars and the share of 4–5 stars;
  low-score cases opened in the period by the root cause the manager recorded (or still to review);
- engineer load: open tickets per engineer now; utilisation = hands-on time (stretches in 处理中, from
  app.services.worktime) inside the period ÷ the engineer's planned time in it (their weekly shifts, or the
  office calendar for engineers without shifts, less leave and absences), both counted up to now.

"The team" is the ticket's team (for engineer load, the engineer's team). Days are local days in the
configured time zone; the database holds UTC.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Integer, and_, case, cast, func, or_, select, text
from sqlalchemy.orm import Session

from app.models import (
    BusinessCalendar, Engineer, EngineerAbsence, EngineerShift, LowScoreReview, Survey, Ticket,
)
from app.services import status as st
from app.services import worktime
from app.services.sqltime import as_date, hours_between, local_day
from app.timeutil import from_local, to_local

OPEN = sorted(st.OPEN_STATUSES)
# Age buckets in days: a bucket holds ages in (low, high]; the last has no upper end.
AGE_BUCKETS = ((0, 1), (1, 3), (3, 7), (7, 30), (30, None))
MEDIAN_BIN_HOURS = 0.1
MAX_DAYS = 732  # two years: the longest period the dashboard accepts


# ---------------------------------------------------------------- the period and the team

@dataclass(frozen=True)
class Scope:
    first_day: date  # local, inclusive
    last_day: date  # local, inclusive
    tz: str
    now: datetime  # naive UTC
    team_id: int | None = None

    @property
    def start(self) -> datetime:
        return from_local(datetime.combine(self.first_day, time()), self.tz)

    @property
    def end(self) -> datetime:
        return from_local(datetime.combine(self.last_day + timedelta(days=1), time()), self.tz)

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range((self.last_day - self.first_day).days + 1)]


def default_period(now: datetime, tz: str, days: int = 30) -> tuple[date, date]:
    """The last `days` local days, today included."""
    today = to_local(now, tz).date()
    return today - timedelta(days=days - 1), today


def make_scope(first_day: date, last_day: date, *, tz: str, now: datetime, team_id: int | None = None) -> Scope:
    # Whole seconds: the drill-down links carry these instants and must select exactly what was counted.
    return Scope(first_day, last_day, tz, now.replace(microsecond=0), team_id)


def _count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def _team_is(team_id: int):
    """The team condition, as a test on the row rather than an index lookup: "+ 0" keeps SQLite's planner, which
    has no statistics, from preferring the (team_id, status) index — a quarter of all tickets — to the period's
    covering index, which holds the team column too."""
    return (Ticket.team_id + 0) == team_id


def _created_in(scope: Scope):
    conditions = [Ticket.created_at >= scope.start, Ticket.created_at < scope.end]
    if scope.team_id is not None:
        conditions.append(_team_is(scope.team_id))
    return and_(*conditions)


def _resolved_in(scope: Scope):
    conditions = [Ticket.resolved_at >= scope.start, Ticket.resolved_at < scope.end]
    if scope.team_id is not None:
        conditions.append(_team_is(scope.team_id))
    return and_(*conditions)


# ---------------------------------------------------------------- volume

VOLUME_DIMENSIONS = {"channel": Ticket.channel, "category": Ticket.category_id, "product": Ticket.product_id}


def volume_by_day(session: Session, scope: Scope, dimension: str = "channel") -> dict[tuple[date, object], int]:
    """{(local day, channel / category id / product id): tickets created}."""
    key = VOLUME_DIMENSIONS[dimension]
    day = local_day(session, Ticket.created_at, scope.tz, scope.start, scope.end).label("day")
    rows = session.execute(select(day, key, func.count()).where(_created_in(scope)).group_by(day, key))
    return {(as_date(d), k): n for d, k, n in rows}


def volume_mix(session: Session, scope: Scope) -> dict[tuple[int | None, int | None], int]:
    """{(category id, product id): tickets created in the period}: both breakdowns from one pass over the
    period (a few dozen groups)."""
    rows = session.execute(select(Ticket.category_id, Ticket.product_id, func.count()).where(_created_in(scope))
                           .group_by(Ticket.category_id, Ticket.product_id))
    return {(category, product): n for category, product, n in rows}


def _sum_by(mix: dict, position: int) -> dict:
    out: dict = {}
    for key, n in mix.items():
        out[key[position]] = out.get(key[position], 0) + n
    return out


# ---------------------------------------------------------------- backlog

def age_bounds(scope: Scope, bucket: int) -> tuple[datetime | None, datetime | None]:
    """The creation instants [from, before) of an age bucket at `now` (None: open-ended)."""
    low, high = AGE_BUCKETS[bucket]
    created_from = scope.now - timedelta(days=high) if high is not None else None
    created_before = scope.now - timedelta(days=low) if low else None
    return created_from, created_before


def backlog(session: Session, scope: Scope) -> dict[tuple[int, int | None], int]:
    """{(age bucket, priority id): open tickets now}. The period does not apply: the backlog is today's."""
    whens = []
    for bucket in range(len(AGE_BUCKETS) - 1):
        created_from, _ = age_bounds(scope, bucket)
        whens.append((Ticket.created_at >= created_from, bucket))
    bucket = case(*whens, else_=len(AGE_BUCKETS) - 1).label("bucket")
    query = select(bucket, Ticket.priority_id, func.count()).where(Ticket.status.in_(OPEN))
    if scope.team_id is not None:
        query = query.where(Ticket.team_id == scope.team_id)
    return {(b, p): n for b, p, n in session.execute(query.group_by(bucket, Ticket.priority_id))}


# ---------------------------------------------------------------- SLA compliance

@dataclass
class Outcomes:
    met: int = 0
    breached: int = 0
    pending: int = 0
    unpromised: int = 0

    @property
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def rate(self) -> float | None:
        return self.met / self.decided if self.decided else None

    def add(self, other: "Outcomes") -> None:
        self.met += other.met
        self.breached += other.breached
        self.pending += other.pending
        self.unpromised += other.unpromised


SLA_TARGETS = {"response": (Ticket.first_response_due_at, Ticket.responded_at),
               "resolution": (Ticket.resolution_due_at, Ticket.resolved_at)}


def sla_met(target: str):
    due, done = SLA_TARGETS[target]
    return and_(due.isnot(None), done.isnot(None), done <= due)


def sla_breached(target: str, now: datetime):
    due, done = SLA_TARGETS[target]
    return and_(due.isnot(None), or_(done > due, and_(done.is_(None), due < now)))


MET, BREACHED, PENDING, UNPROMISED = range(4)


def sla_state(target: str, now: datetime):
    """MET / BREACHED / PENDING / UNPROMISED of one target, as SQL: the same conditions as sla_met and
    sla_breached (the drill-down filters), in one expression per row."""
    due, done = SLA_TARGETS[target]
    return case((due.is_(None), UNPROMISED),
                (done.is_(None), case((due < now, BREACHED), else_=PENDING)),
                (done <= due, MET), else_=BREACHED)


def sla_outcomes(session: Session, scope: Scope) -> dict[tuple[int | None, int | None], dict[str, Outcomes]]:
    """{(team id, priority id): {"response": Outcomes, "resolution": Outcomes}} for tickets created in the
    period, cancelled ones aside."""
    response = sla_state("response", scope.now).label("response")
    resolution = sla_state("resolution", scope.now).label("resolution")
    rows = session.execute(
        select(Ticket.team_id, Ticket.priority_id, response, resolution, func.count())
        .where(_created_in(scope), Ticket.status != st.CANCELLED)
        .group_by(Ticket.team_id, Ticket.priority_id, response, resolution))
    out: dict = {}
    for team_id, priority_id, response_state, resolution_state, n in rows:
        slot = out.setdefault((team_id, priority_id), {"response": Outcomes(), "resolution": Outcomes()})
        for target, state in (("response", response_state), ("resolution", resolution_state)):
            counts = slot[target]
            name = ("met", "breached", "pending", "unpromised")[state]
            setattr(counts, name, getattr(counts, name) + n)
    return out


# ---------------------------------------------------------------- first-time fix and time to resolve

FIRST_ROUND_BELOW = 2  # resolution_round < 2: resolved once (0 = before rounds were counted)


@dataclass
class Resolutions:
    resolved: int = 0
    first_time: int = 0
    hours: float = 0.0  # the sum, for the mean

    @property
    def repeated(self) -> int:
        return self.resolved - self.first_time

    @property
    def ftf_rate(self) -> float | None:
        return self.first_time / self.resolved if self.resolved else None

    @property
    def mean_hours(self) -> float | None:
        return self.hours / self.resolved if self.resolved else None

    def add(self, other: "Resolutions") -> None:
        self.resolved += other.resolved
        self.first_time += other.first_time
        self.hours += other.hours


@dataclass
class ResolvedFigures:
    """The period's resolutions: {(team id, priority id): Resolutions}, and {priority id: {bin: tickets}} of
    created → resolved hours in MEDIAN_BIN_HOURS bins for the medians."""
    by_team_priority: dict
    bins: dict


def resolutions(session: Session, scope: Scope) -> ResolvedFigures:
    """Tickets whose (last) resolution falls in the period, in one pass: the hours are worked out once per row
    for both the sums (means) and the bins (medians) — on SQLite that date arithmetic is most of the cost."""
    per_ticket = select(Ticket.team_id, Ticket.priority_id,
                        case((Ticket.resolution_round < FIRST_ROUND_BELOW, 1), else_=0).label("first_time"),
                        hours_between(session, Ticket.created_at, Ticket.resolved_at).label("hours")) \
        .where(_resolved_in(scope)).subquery()
    # CAST truncates: the hours are never negative, and SQLite has floor() only when built with its math functions.
    bin_ = cast(per_ticket.c.hours / MEDIAN_BIN_HOURS, Integer).label("bin")
    rows = session.execute(
        select(per_ticket.c.team_id, per_ticket.c.priority_id, per_ticket.c.first_time, bin_, func.count(),
               func.sum(per_ticket.c.hours))
        .group_by(per_ticket.c.team_id, per_ticket.c.priority_id, per_ticket.c.first_time, bin_))
    by_team_priority: dict = {}
    bins: dict[int | None, dict[int, int]] = {}
    for team_id, priority_id, first, bin_value, n, total in rows:
        slot = by_team_priority.setdefault((team_id, priority_id), Resolutions())
        slot.add(Resolutions(n, n if first else 0, float(total or 0.0)))
        priority_bins = bins.setdefault(priority_id, {})
        priority_bins[int(bin_value or 0)] = priority_bins.get(int(bin_value or 0), 0) + n
    return ResolvedFigures(by_team_priority, bins)


def median_from_bins(bins: dict[int, int]) -> float | None:
    """The median, interpolated inside its bin."""
    total = sum(bins.values())
    if not total:
        return None
    half, seen = total / 2, 0
    for bin_value in sorted(bins):
        count = bins[bin_value]
        if seen + count >= half:
            return (bin_value + (half - seen) / count) * MEDIAN_BIN_HOURS
        seen += count
    return None


# ---------------------------------------------------------------- satisfaction

def ratings(session: Session, scope: Scope) -> dict[int, int]:
    """{stars: ratings given in the period}."""
    query = select(Survey.score, func.count()).where(
        Survey.rated_at >= scope.start, Survey.rated_at < scope.end, Survey.score.isnot(None))
    if scope.team_id is not None:  # the period's ratings first, then each one's ticket by its key
        query = query.join(Ticket, Ticket.id == Survey.ticket_id).where(_team_is(scope.team_id))
    return {int(s): n for s, n in session.execute(query.group_by(Survey.score))}


UNREVIEWED = "open"  # a low-score case nobody has reviewed yet


def low_score_causes(session: Session, scope: Scope) -> dict[str, int]:
    """{root cause code, or "open" while unreviewed: low-score cases opened in the period}."""
    cause = case((LowScoreReview.state == "open", UNREVIEWED),
                 else_=func.coalesce(LowScoreReview.root_cause, "other")).label("cause")
    query = select(cause, func.count()).where(
        LowScoreReview.created_at >= scope.start, LowScoreReview.created_at < scope.end)
    if scope.team_id is not None:
        query = query.join(Ticket, Ticket.id == LowScoreReview.ticket_id).where(_team_is(scope.team_id))
    return dict(session.execute(query.group_by(cause)).all())


def low_score_condition(cause: str, start: datetime, end: datetime):
    """The cases a drill-down lists, as the chart counted them."""
    condition = [LowScoreReview.created_at >= start, LowScoreReview.created_at < end]
    if cause == UNREVIEWED:
        condition.append(LowScoreReview.state == "open")
    elif cause == "other":
        condition += [LowScoreReview.state != "open",
                      or_(LowScoreReview.root_cause == "other", LowScoreReview.root_cause.is_(None))]
    else:
        condition += [LowScoreReview.state != "open", LowScoreReview.root_cause == cause]
    return and_(*condition)


# ---------------------------------------------------------------- engineers

@dataclass
class EngineerLoad:
    engineer_id: int
    name: str
    team_id: int | None
    open_tickets: int = 0
    worked_seconds: float = 0.0
    tickets_worked: int = 0
    planned_seconds: float = 0.0
    planned_from: str = "shifts"  # shifts | calendar

    @property
    def utilisation(self) -> float | None:
        return self.worked_seconds / self.planned_seconds if self.planned_seconds > 0 else None


def engineer_load(session: Session, scope: Scope) -> list[EngineerLoad]:
    """Every active engineer (of the team): open tickets now, hands-on and planned time in the period."""
    # Open tickets: the count app.services.load keeps on the engineer's row in the same flush as every change
    # to a ticket's engineer or status (what dispatch reads), so no ticket is counted here.
    query = select(Engineer.id, Engineer.name, Engineer.team_id, Engineer.open_count).where(Engineer.active.is_(True))
    if scope.team_id is not None:
        query = query.where(Engineer.team_id == scope.team_id)
    people = {i: EngineerLoad(i, name, team, open_count)
              for i, name, team, open_count in session.execute(query.order_by(Engineer.id))}
    if not people:
        return []
    only_these = scope.team_id is not None  # otherwise every engineer: no IN list
    until = min(scope.end, scope.now)
    if until > scope.start:
        worked = worktime.hands_on(session, scope.start, until, sorted(people) if only_these else None)
        for engineer_id, (seconds, tickets) in worked.items():
            if engineer_id in people:
                people[engineer_id].worked_seconds, people[engineer_id].tickets_worked = seconds, tickets
        _planned(session, scope, people, until)
    return sorted(people.values(), key=lambda e: (-e.open_tickets, e.name, e.engineer_id))


def _overlap(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> float:
    return max(0.0, (min(a_end, b_end) - max(a_start, b_start)).total_seconds())


def shift_windows(pattern, start: datetime, end: datetime, tz: str):
    """The UTC windows [from, to) of weekly local shifts (weekday, starts, ends) that touch [start, end); a shift
    ending at or before its start runs past midnight."""
    first = to_local(start, tz).date() - timedelta(days=1)
    last = to_local(end, tz).date()
    day = first
    while day <= last:
        for weekday, starts, ends in pattern:
            if weekday != day.weekday():
                continue
            begin = from_local(datetime.combine(day, starts), tz)
            finish_day = day + timedelta(days=1) if ends <= starts else day
            finish = from_local(datetime.combine(finish_day, ends), tz)
            if finish > start and begin < end:
                yield max(begin, start), min(finish, end)
        day += timedelta(days=1)


def _planned(session: Session, scope: Scope, people: dict, until: datetime) -> None:
    patterns: dict[int, list] = {}
    for engineer_id, weekday, starts, ends in session.execute(
            select(EngineerShift.engineer_id, EngineerShift.weekday, EngineerShift.starts, EngineerShift.ends)
            .where(EngineerShift.engineer_id.in_(sorted(people)))):
        patterns.setdefault(engineer_id, []).append((weekday, starts, ends))
    absences: dict[int, list] = {}
    for engineer_id, a_start, a_end in session.execute(
            select(EngineerAbsence.engineer_id, EngineerAbsence.starts_at, EngineerAbsence.ends_at)
            .where(EngineerAbsence.engineer_id.in_(sorted(people)), EngineerAbsence.starts_at < until,
                   EngineerAbsence.ends_at > scope.start)):
        absences.setdefault(engineer_id, []).append((max(a_start, scope.start), min(a_end, until)))

    by_pattern: dict[tuple, list] = {}  # engineers sharing a rota are worked out once
    calendar = None
    for engineer_id, person in people.items():
        pattern = tuple(sorted(patterns.get(engineer_id, ())))
        if pattern:
            windows = by_pattern.setdefault(pattern, list(shift_windows(pattern, scope.start, until, scope.tz)))
            person.planned_seconds = sum((b - a).total_seconds() for a, b in windows)
            for a_start, a_end in absences.get(engineer_id, ()):
                person.planned_seconds -= sum(_overlap(a, b, a_start, a_end) for a, b in windows)
        else:
            calendar = calendar or _office_calendar(session)
            person.planned_from = "calendar"
            person.planned_seconds = calendar.between(scope.start, until).total_seconds()
            for a_start, a_end in absences.get(engineer_id, ()):
                if a_end > a_start:
                    person.planned_seconds -= calendar.between(a_start, a_end).total_seconds()
        person.planned_seconds = max(0.0, person.planned_seconds)


OFFICE_CALENDAR = "office"


def _office_calendar(session: Session):
    """The company's office calendar (工作日 9:00–18:00 with public holidays and 调休), which `init` creates;
    the planned time of engineers who have no shifts."""
    from app.services.sla_config import calendar_spec
    from app.services.workcalendar import CalendarSpec, WorkCalendar

    row = session.scalar(select(BusinessCalendar).where(BusinessCalendar.code == OFFICE_CALENDAR))
    if row is not None:
        return WorkCalendar(calendar_spec(row))
    return WorkCalendar(CalendarSpec(id=None, code=OFFICE_CALENDAR, name_zh="", name_en="",
                                     hours={wd: [(time(9), time(18))] for wd in range(5)}))


# ---------------------------------------------------------------- everything at once

@dataclass
class Figures:
    """All the dashboard's numbers for one scope (what the page and the workbook show)."""
    scope: Scope
    volume_day: dict = field(default_factory=dict)
    volume_mix: dict = field(default_factory=dict)
    backlog: dict = field(default_factory=dict)
    sla: dict = field(default_factory=dict)
    resolved: ResolvedFigures = field(default_factory=lambda: ResolvedFigures({}, {}))
    ratings: dict = field(default_factory=dict)
    low_scores: dict = field(default_factory=dict)
    engineers: list = field(default_factory=list)

    @property
    def resolutions(self) -> dict:
        return self.resolved.by_team_priority

    @property
    def resolve_bins(self) -> dict:
        return self.resolved.bins

    @property
    def volume_category(self) -> dict:
        return _sum_by(self.volume_mix, 0)

    @property
    def volume_product(self) -> dict:
        return _sum_by(self.volume_mix, 1)


QUERIES = {
    "volume_day": lambda s, sc: volume_by_day(s, sc, "channel"),
    "volume_mix": volume_mix,
    "backlog": backlog,
    "sla": sla_outcomes,
    "resolved": resolutions,
    "ratings": ratings,
    "low_scores": low_score_causes,
    "engineers": engineer_load,
}


# PostgreSQL's default 4 MB of memory per sort or hash made the resolutions and the engineers' hands-on time
# sort on disk, about 70,000 rows a month at a million tickets a year (resolutions 122 -> 33 ms). The setting
# lasts until the transaction ends.
WORK_MEM = "32MB"


def figures(session: Session, scope: Scope, only=None) -> Figures:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    result = Figures(scope)
    for name, query in QUERIES.items():
        if only is None or name in only:
            setattr(result, name, query(session, scope))
    return result
