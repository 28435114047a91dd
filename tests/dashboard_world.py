"""A small service operation of its own for the dashboard tests, in June 2019 (years before the demo data), so
every figure can be counted by hand. Two local days, 2019-06-11 (Tuesday) and 2019-06-12, team 报表一组 with
engineers 甲 (shifts Mon–Fri 9:00–18:00) and 乙 (no shifts: the office calendar), and team 报表二组.

    t1  phone  06-11 10:00  high    甲: responded in time, 2 h in progress, resolved 12:30 (first time); 5 stars
    t2  phone  06-11 11:00  urgent  甲: responded late, 3 h in progress on 06-12, resolved late; 2 stars → 服务态度
    t3  phone  06-11 15:00  high    乙: assigned, never answered — still open, both deadlines breached
    t6  email  06-11 16:00  high    cancelled (counts as created, not in SLA)
    t5  wechat 06-12 07:30  high    乙: (06-11 23:30 UTC) 1 h in progress, resolved 09:00 in time
    t4  wechat 06-12 09:30  high    甲: resolved 11:00, reopened, resolved again 12:15 (not first time); 4 stars
    t7  phone  06-11 12:00  —       team 报表二组, new
"""
from dataclasses import dataclass, field
from datetime import datetime, time

from sqlalchemy import select

from app.models import Category, Engineer, EngineerShift, LowScoreReview, Priority, Product, Team, Ticket
from app.services import satisfaction, tickets
from app.services import status as st
from app.timeutil import from_local
from tests.helpers import new_ticket, user

TZ = "Asia/Shanghai"
DAY1, DAY2 = "2019-06-11", "2019-06-12"


def at(day: str, clock: str) -> datetime:
    """A local (Shanghai) time as the naive UTC the database holds."""
    return from_local(datetime.fromisoformat(f"{day} {clock}"), TZ)


@dataclass
class World:
    team: int
    other_team: int
    e1: int
    e2: int
    tickets: dict = field(default_factory=dict)  # name → id
    hours: dict = field(default_factory=dict)  # name → created → resolved hours


def _ref(session, model, code):
    return session.scalar(select(model).where(model.code == code))


def build(session) -> World:
    """The world, made once per database (the browser test and the others share it)."""
    existing = _ref(session, Team, "dash_t1")
    return _found(session, existing) if existing is not None else _build(session)


def _found(session, team) -> World:
    other = _ref(session, Team, "dash_t2")
    e1, e2 = (session.scalar(select(Engineer.id).where(Engineer.name == n)) for n in ("报表甲", "报表乙"))
    world = World(team.id, other.id, e1, e2)
    for ticket in session.scalars(select(Ticket).where(Ticket.subject.like("报表测试 %"))):
        name = ticket.subject.split()[-1]
        world.tickets[name] = ticket.id
        if ticket.resolved_at is not None:
            world.hours[name] = (ticket.resolved_at - ticket.created_at).total_seconds() / 3600
    return world


def _build(session) -> World:
    clerk = user(session, "clerk")
    team = Team(code="dash_t1", name_zh="报表一组", name_en="Dashboard team 1")
    other = Team(code="dash_t2", name_zh="报表二组", name_en="Dashboard team 2")
    e1 = Engineer(name="报表甲", team=team, capacity=6)
    e2 = Engineer(name="报表乙", team=team, capacity=6)
    session.add_all([team, other, e1, e2])
    session.flush()
    for weekday in range(5):
        session.add(EngineerShift(engineer=e1, weekday=weekday, starts=time(9), ends=time(18)))
    high, urgent = _ref(session, Priority, "high"), _ref(session, Priority, "urgent")
    fault, installation = _ref(session, Category, "fault"), _ref(session, Category, "installation")
    product = session.scalar(select(Product).order_by(Product.id))
    world = World(team.id, other.id, e1.id, e2.id)

    def ticket(name, channel, day, clock, priority, category, **fields):
        t = new_ticket(session, subject=f"报表测试 {name}", now=at(day, clock), channel=channel, priority=priority,
                       category=category, **fields)
        world.tickets[name] = t.id
        return t

    def go(t, *steps):
        """(status or "assign:<engineer>", day, clock) in order."""
        for step, day, clock in steps:
            now = at(day, clock)
            if step == "assign1":
                tickets.assign(session, t, e1, now=now, actor=clerk)
            elif step == "assign2":
                tickets.assign(session, t, e2, now=now, actor=clerk)
            else:
                tickets.transition(session, t, step, now=now, actor=clerk,
                                   reason="客户反映问题依旧" if step in st.NEEDS_REASON else None)
        session.commit()

    t1 = ticket("t1", "phone", DAY1, "10:00", high, fault, product=product)
    go(t1, ("assign1", DAY1, "10:05"), (st.ACCEPTED, DAY1, "10:20"), (st.IN_PROGRESS, DAY1, "10:30"),
       (st.RESOLVED, DAY1, "12:30"))
    t2 = ticket("t2", "phone", DAY1, "11:00", urgent, fault, product=product)
    go(t2, ("assign1", DAY1, "11:10"), (st.ACCEPTED, DAY1, "11:45"), (st.IN_PROGRESS, DAY2, "14:00"),
       (st.RESOLVED, DAY2, "17:00"))
    t3 = ticket("t3", "phone", DAY1, "15:00", high, fault)
    go(t3, ("assign2", DAY1, "15:10"))
    t6 = ticket("t6", "email", DAY1, "16:00", high, fault, team=team)
    go(t6, (st.CANCELLED, DAY1, "16:30"))
    t5 = ticket("t5", "wechat", DAY2, "07:30", high, installation)
    go(t5, ("assign2", DAY2, "07:40"), (st.ACCEPTED, DAY2, "07:50"), (st.IN_PROGRESS, DAY2, "08:00"),
       (st.RESOLVED, DAY2, "09:00"))
    t4 = ticket("t4", "wechat", DAY2, "09:30", high, installation)
    go(t4, ("assign1", DAY2, "09:40"), (st.ACCEPTED, DAY2, "09:50"), (st.IN_PROGRESS, DAY2, "10:00"),
       (st.RESOLVED, DAY2, "11:00"), (st.REOPENED, DAY2, "11:30"), (st.IN_PROGRESS, DAY2, "11:45"),
       (st.RESOLVED, DAY2, "12:15"))
    ticket("t7", "phone", DAY1, "12:00", None, fault, team=other)

    satisfaction.rate(session, t1, 5, "很满意", via="portal", now=at(DAY2, "12:00"))
    satisfaction.rate(session, t2, 2, "工程师态度不好", via="portal", now=at(DAY2, "18:00"))
    satisfaction.rate(session, t4, 4, None, via="call", now=at(DAY2, "13:00"))
    review = session.scalar(select(LowScoreReview).where(LowScoreReview.ticket_id == t2.id))
    satisfaction.review(session, review, "attitude", "已约谈", now=at(DAY2, "19:00"), actor=user(session, "manager"))
    session.commit()
    for t in (t1, t2, t4, t5):
        world.hours[next(k for k, v in world.tickets.items() if v == t.id)] = \
            (t.resolved_at - t.created_at).total_seconds() / 3600
    return world
