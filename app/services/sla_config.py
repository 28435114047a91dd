"""The SLA configuration as the clock and the scheduler read it: policies with their calendars, reminder
points and escalation ladders, compiled once with the rest of the rules (app.services.rules)."""
import re
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import BusinessCalendar, ServiceType, SlaPolicy
from app.models.mixins import localized
from app.services.errors import ServiceError
from app.services.workcalendar import CalendarSpec, WorkCalendar

TARGETS = ("response", "arrival", "resolution")
TARGET_LABELS = {
    "response": _l("First response"),
    "arrival": _l("On-site arrival"),
    "resolution": _l("Resolution"),
    "assignment": _l("Acceptance"),
}

_POINT = re.compile(r"^(\d+(?:\.\d+)?)\s*(%|m|min|h)$", re.I)


@dataclass(frozen=True)
class Reminder:
    label: str  # as the manager wrote it: "80%" or "30m"
    percent: float | None = None  # of the promised time
    before: timedelta | None = None  # working time before the deadline


def parse_reminders(text: str | None) -> tuple[Reminder, ...]:
    """"50%, 80%, 30m, 2h" → reminder points; a ServiceError names the first one that makes no sense."""
    points = []
    for raw in re.split(r"[,，、;；\s]+", (text or "").strip()):
        if not raw:
            continue
        match = _POINT.match(raw)
        if not match:
            raise ServiceError(_l("「%(point)s」 is not a reminder point: write 80%% or 30m or 2h.", point=raw),
                               field="reminders")
        value, unit = float(match.group(1)), match.group(2).lower()
        if unit == "%":
            if not 0 < value < 100:
                raise ServiceError(_l("A reminder percentage must be between 0 and 100: %(point)s", point=raw),
                                   field="reminders")
            points.append(Reminder(raw, percent=value))
        else:
            minutes = value * 60 if unit == "h" else value
            if minutes <= 0:
                raise ServiceError(_l("A reminder must come before the deadline: %(point)s", point=raw),
                                   field="reminders")
            points.append(Reminder(raw, before=timedelta(minutes=minutes)))
    return tuple(points)


@dataclass(frozen=True)
class Rung:
    level: int
    notify: str  # assignee | team_lead | role | user
    role_id: int | None
    role_name: str | None
    user_id: int | None
    after: timedelta
    repeat: timedelta | None


@dataclass(frozen=True)
class Policy:
    id: int
    name_zh: str
    name_en: str
    priority_id: int | None
    category_id: int | None
    service_type_id: int | None
    customer_tier: str | None
    channel: str | None
    calendar: WorkCalendar
    targets: dict  # target -> timedelta of working time
    reminders: tuple[Reminder, ...]
    ladder: tuple[Rung, ...]

    @property
    def name(self) -> str:
        return localized(self.name_zh, self.name_en)

    def applies_to(self, facts) -> bool:
        return all(want is None or want == have for want, have in (
            (self.priority_id, facts.priority_id), (self.category_id, facts.category_id),
            (self.service_type_id, facts.service_type_id), (self.customer_tier, facts.customer_tier),
            (self.channel, facts.channel)))


@dataclass(frozen=True)
class SlaConfig:
    policies: tuple[Policy, ...] = ()
    calendars: tuple[WorkCalendar, ...] = ()
    on_site_service_types: frozenset = frozenset()  # arrival promises apply to these only

    def match(self, facts) -> Policy | None:
        return next((p for p in self.policies if p.applies_to(facts)), None)

    def policy(self, policy_id) -> Policy | None:
        return next((p for p in self.policies if p.id == policy_id), None)


def calendar_spec(row: BusinessCalendar) -> CalendarSpec:
    hours: dict = {}
    for window in row.hours:
        hours.setdefault(window.weekday, []).append((window.starts, window.ends))
    return CalendarSpec(
        id=row.id, code=row.code, name_zh=row.name_zh, name_en=row.name_en, timezone=row.timezone,
        always_open=row.always_open, statutory=row.statutory_holidays, hours=hours,
        days={d.day: (d.kind, d.name) for d in row.days})


def compile_sla(session: Session) -> SlaConfig:
    calendars = {row.id: WorkCalendar(calendar_spec(row)) for row in session.scalars(
        select(BusinessCalendar).options(selectinload(BusinessCalendar.hours), selectinload(BusinessCalendar.days)))}
    policies = []
    rows = session.scalars(select(SlaPolicy).where(SlaPolicy.active.is_(True))
                           .options(selectinload(SlaPolicy.escalation_steps))
                           .order_by(SlaPolicy.position, SlaPolicy.id))
    for row in rows:
        try:
            reminders = parse_reminders(row.reminders)
        except ServiceError:
            reminders = ()  # the form refuses bad points; an old row must not stop the clock
        targets = {t: timedelta(minutes=m) for t in TARGETS
                   if (m := getattr(row, f"{t}_minutes")) is not None and m > 0}
        ladder = tuple(Rung(
            level=step.level, notify=step.notify, role_id=step.role_id,
            role_name=step.role.name if step.role is not None else None, user_id=step.user_id,
            after=timedelta(minutes=step.after_minutes or 0),
            repeat=timedelta(minutes=step.repeat_minutes) if step.repeat_minutes else None,
        ) for step in sorted(row.escalation_steps, key=lambda st: st.level))
        policies.append(Policy(
            id=row.id, name_zh=row.name_zh, name_en=row.name_en, priority_id=row.priority_id,
            category_id=row.category_id, service_type_id=row.service_type_id,
            customer_tier=row.customer_tier or None, channel=row.channel or None,
            calendar=calendars[row.calendar_id], targets=targets, reminders=reminders, ladder=ladder))
    on_site = frozenset(session.scalars(select(ServiceType.id).where(ServiceType.on_site.is_(True))))
    return SlaConfig(tuple(policies), tuple(calendars.values()), on_site)
