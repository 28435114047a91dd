"""The calendars and service promises every installation starts with; `init` adds calendars whose code is
missing, and the policies only into an empty table, so a manager's edits are never overwritten."""
from datetime import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import BusinessCalendar, CalendarHours, EscalationStep, Priority, SlaPolicy
from app.services.roles import ADMIN, MANAGER

# (code, zh, en, always open, weekly hours)
CALENDARS = [
    ("office", "工作日 9:00–18:00（含法定节假日与调休）", "Working days 9:00–18:00 (China's public holidays)",
     False, {wd: [(time(9), time(18))] for wd in range(5)}),
    ("service_7x12", "服务时间 每天 8:00–20:00", "Service hours, daily 8:00–20:00",
     False, {wd: [(time(8), time(20))] for wd in range(7)}),
    ("24x7", "全天候 7×24", "Around the clock 24×7", True, {}),
]

WORKING_DAY = 9 * 60  # minutes in an office day
# (priority, zh, en, calendar, response, arrival, resolution, reminders) — minutes of working time
POLICIES = [
    ("urgent", "紧急：30分钟响应，4小时到场，8小时解决", "Urgent: respond 30 min, on site 4 h, resolve 8 h",
     "24x7", 30, 4 * 60, 8 * 60, "50%, 80%"),
    ("high", "高：2小时响应，1个工作日到场，2个工作日解决", "High: respond 2 h, on site 1 working day, resolve 2",
     "service_7x12", 120, 12 * 60, 24 * 60, "80%"),
    ("medium", "中：4个工作小时响应，2个工作日解决", "Medium: respond 4 working hours, resolve 2 working days",
     "office", 4 * 60, 2 * WORKING_DAY, 2 * WORKING_DAY, "80%"),
    ("low", "低：1个工作日响应，5个工作日解决", "Low: respond 1 working day, resolve 5 working days",
     "office", WORKING_DAY, None, 5 * WORKING_DAY, "80%"),
]
# (level, notify, role, minutes after the breach, repeat every)
LADDER = [(1, "team_lead", None, 0, None), (2, "role", MANAGER, 60, 120), (3, "role", ADMIN, 240, None)]


def ensure_default_sla(session: Session, sm) -> int:
    added = 0
    existing = set(session.scalars(select(BusinessCalendar.code)))
    for code, zh, en, always_open, hours in CALENDARS:
        if code in existing:
            continue
        calendar = BusinessCalendar(code=code, name_zh=zh, name_en=en, always_open=always_open,
                                    statutory_holidays=code == "office")
        calendar.hours = [CalendarHours(weekday=wd, starts=s, ends=e) for wd, spans in hours.items() for s, e in spans]
        session.add(calendar)
        added += 1
    session.flush()
    if session.scalar(select(func.count(SlaPolicy.id))):
        session.commit()
        return added
    calendars = {c.code: c for c in session.scalars(select(BusinessCalendar))}
    priorities = {p.code: p for p in session.scalars(select(Priority))}
    for position, (priority, zh, en, calendar, response, arrival, resolution, reminders) in enumerate(POLICIES, 1):
        policy = SlaPolicy(name_zh=zh, name_en=en, position=position * 10, priority=priorities.get(priority),
                           calendar=calendars[calendar], response_minutes=response, arrival_minutes=arrival,
                           resolution_minutes=resolution, reminders=reminders)
        for level, notify, role, after, repeat in LADDER:
            role_row = sm.find_role(role) if role else None
            if role and role_row is None:
                continue
            policy.escalation_steps.append(EscalationStep(level=level, notify=notify, role=role_row,
                                                          after_minutes=after, repeat_minutes=repeat))
        session.add(policy)
        added += 1
    session.commit()
    return added
