"""SLA tests' own policies: each matches only tickets of a category made for it, so the demo's policies
and other tests' tickets never interfere."""
import uuid
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.models import (
    BusinessCalendar, CalendarHours, Category, EscalationStep, Priority, SlaPolicy, SlaStep, TicketEvent,
)
from app.services import escalate
from tests.dispatch_world import World
from tests.helpers import user

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    """Shanghai wall-clock time as stored (naive UTC)."""
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc).replace(tzinfo=None)


class SlaWorld(World):
    def __init__(self, session, lead="manager"):
        super().__init__(session)
        self.team.lead_user = user(session, lead)
        self.category = Category(code=f"sla_{self.tag}", name_zh=f"时限测试{self.tag}", name_en=f"SLA {self.tag}")
        session.add(self.category)
        session.flush()

    def calendar(self, *, always_open=False, hours=None, statutory=True):
        cal = BusinessCalendar(code=f"cal_{uuid.uuid4().hex[:8]}", name_zh="测试日历", name_en="Test calendar",
                               always_open=always_open, statutory_holidays=statutory)
        for weekday, (start, end) in (hours or {}).items():
            cal.hours.append(CalendarHours(weekday=weekday, starts=start, ends=end))
        self.session.add(cal)
        return cal

    def office(self):
        return self.calendar(hours={wd: (time(9), time(18)) for wd in range(5)})

    def policy(self, *, calendar=None, priority=None, response=30, arrival=None, resolution=480,
               reminders="50%, 80%", ladder=((1, "team_lead", None, 0, None),), position=1):
        policy = SlaPolicy(
            name_zh=f"测试承诺{uuid.uuid4().hex[:4]}", name_en="Test promise", position=position,
            category=self.category, calendar=calendar or self.calendar(always_open=True),
            priority=self.session.scalar(select(Priority).where(Priority.code == priority)) if priority else None,
            response_minutes=response, arrival_minutes=arrival, resolution_minutes=resolution, reminders=reminders)
        for level, notify, who, after, repeat in ladder:
            step = EscalationStep(level=level, notify=notify, after_minutes=after, repeat_minutes=repeat)
            if notify == "user":
                step.user = user(self.session, who)
            elif notify == "role":
                from flask_appbuilder.security.sqla.models import Role

                step.role = self.session.scalar(select(Role).where(Role.name == who))
            policy.escalation_steps.append(step)
        self.session.add(policy)
        self.session.commit()
        return policy

    def sla_ticket(self, *, at, priority="high", service_type="software_guidance", **kw):
        ticket = self.ticket(priority=priority, service_type=service_type, now=at, category=self.category, **kw)
        self.session.commit()
        return ticket


def tick(session, now) -> int:
    return escalate.run_due(session, now=now)


def steps_of(session, ticket) -> list[tuple]:
    return [tuple(r) for r in session.execute(
        select(SlaStep.kind, SlaStep.target, SlaStep.level, SlaStep.round).where(SlaStep.ticket_id == ticket.id)
        .order_by(SlaStep.id))]


def sla_events(session, ticket) -> list[TicketEvent]:
    return list(session.scalars(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id,
        TicketEvent.kind.in_(("sla_reminder", "sla_escalated", "assignment_chased"))).order_by(TicketEvent.id)))


def count(session, model, **where) -> int:
    return session.scalar(select(func.count()).select_from(model).filter_by(**where))


