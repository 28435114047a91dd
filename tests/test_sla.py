"""SLA clocks, reminders, the escalation ladder and the chase of unaccepted work, as the people involved
see them: deadlines on the ticket, sentences on the timeline, notification requests in the outbox."""
from datetime import timedelta

from flask_babel import force_locale
from sqlalchemy import select

from app.models import Notification, Priority, SlaSegment
from app.services import status as st
from app.services import tickets
from app.services.sla_config import parse_reminders
from app.services.errors import ServiceError
from tests.helpers import user
from tests.sla_world import SlaWorld, count, local, sla_events, steps_of, tick

import pytest

T0 = local(2026, 11, 24, 10, 0)  # a Tuesday morning in Shanghai


def move(session, ticket, *statuses, at, engineer=None):
    if engineer is not None:
        tickets.assign(session, ticket, engineer, now=at)
    for status in statuses:
        tickets.transition(session, ticket, status, now=at, reason="客户反馈仍有问题")
    session.commit()


def test_deadlines_count_working_time_in_the_policys_calendar(session):
    world = SlaWorld(session)
    policy = world.policy(calendar=world.office(), response=4 * 60, resolution=2 * 9 * 60)
    friday_five = local(2026, 11, 20, 17, 0)
    ticket = world.sla_ticket(at=friday_five)
    assert ticket.sla_policy_id == policy.id
    # One working hour on Friday, three on Monday morning.
    assert ticket.first_response_due_at == local(2026, 11, 23, 12, 0)
    assert ticket.resolution_due_at == local(2026, 11, 24, 17, 0)  # 1 h Friday, 9 h Monday, 8 h Tuesday
    assert ticket.sla_due_at == ticket.first_response_due_at
    # At risk from the first reminder point (50 % of the response time = 2 working hours: Monday 10:00).
    assert ticket.sla_warn_at == local(2026, 11, 23, 10, 0)


def test_urgent_work_on_a_24x7_calendar_runs_through_the_night(session):
    world = SlaWorld(session)
    world.policy(response=30, arrival=4 * 60, resolution=8 * 60)
    night = local(2026, 11, 21, 23, 30)  # Saturday night
    ticket = world.sla_ticket(at=night, service_type="hardware_repair")
    assert ticket.first_response_due_at == night + timedelta(minutes=30)
    assert ticket.arrival_due_at == night + timedelta(hours=4)  # on-site work: an arrival promise
    remote = world.sla_ticket(at=night, service_type="software_guidance")
    assert remote.arrival_due_at is None  # guidance by phone has nobody to arrive


def test_waiting_for_the_customer_stops_the_clock_and_the_deadline_moves_on_resume(session):
    world = SlaWorld(session)
    world.policy(resolution=8 * 60)
    engineer = world.engineer("钟表")
    ticket = world.sla_ticket(at=T0)
    assert ticket.resolution_due_at == T0 + timedelta(hours=8)
    move(session, ticket, st.ACCEPTED, st.IN_PROGRESS, at=T0 + timedelta(hours=1), engineer=engineer)
    move(session, ticket, st.WAITING_CUSTOMER, at=T0 + timedelta(hours=2))
    assert ticket.resolution_due_at is None and ticket.sla_due_at is None  # paused: no deadline runs
    move(session, ticket, st.IN_PROGRESS, at=T0 + timedelta(hours=5))
    assert ticket.resolution_due_at == T0 + timedelta(hours=11)  # three hours of waiting added
    segments = session.scalars(select(SlaSegment).where(SlaSegment.ticket_id == ticket.id)
                               .order_by(SlaSegment.started_at)).all()
    assert [(s.running, s.reason) for s in segments] == [(True, "running"), (False, st.WAITING_CUSTOMER),
                                                         (True, "running")]
    assert segments[1].ended_at - segments[1].started_at == timedelta(hours=3)
    # Resolved, then reopened by the customer seven hours later: the confirmation wait did not count.
    move(session, ticket, st.RESOLVED, at=T0 + timedelta(hours=6))
    assert ticket.resolved_at is not None and ticket.sla_due_at is None
    move(session, ticket, st.REOPENED, at=T0 + timedelta(hours=13))
    assert ticket.resolution_due_at == T0 + timedelta(hours=18)


def test_changing_the_priority_recomputes_from_the_segments(session):
    world = SlaWorld(session)
    world.policy(priority="high", resolution=8 * 60, position=1)
    urgent_policy = world.policy(priority="urgent", resolution=2 * 60, position=2)
    engineer = world.engineer("改级")
    ticket = world.sla_ticket(at=T0, priority="high")
    move(session, ticket, st.ACCEPTED, st.IN_PROGRESS, at=T0 + timedelta(minutes=10), engineer=engineer)
    move(session, ticket, st.WAITING_PARTS, at=T0 + timedelta(minutes=30))
    move(session, ticket, st.IN_PROGRESS, at=T0 + timedelta(minutes=90))
    urgent = session.scalar(select(Priority).where(Priority.code == "urgent"))
    tickets.edit_ticket(session, ticket, {"priority": urgent}, now=T0 + timedelta(minutes=100))
    session.commit()
    assert ticket.sla_policy_id == urgent_policy.id
    assert ticket.resolution_due_at == T0 + timedelta(hours=3)  # two hours plus the hour waiting for parts


def test_reminders_and_the_ladder_happen_once_each_and_in_order_after_downtime(session):
    world = SlaWorld(session)
    world.policy(response=30, resolution=None, reminders="50%, 80%", ladder=(
        (1, "team_lead", None, 0, None), (2, "user", "clerk", 60, 20), (3, "role", "Admin", 150, None)))
    ticket = world.sla_ticket(at=T0)
    assert tick(session, T0 + timedelta(minutes=10)) >= 0 and steps_of(session, ticket) == []
    tick(session, T0 + timedelta(minutes=16))
    assert steps_of(session, ticket) == [("remind", "response", 1, 0)]
    tick(session, T0 + timedelta(minutes=16))  # the same minute again, or a second scheduler: nothing new
    assert len(sla_events(session, ticket)) == 1
    # Nobody is on the ticket yet: the reminder goes to the team lead.
    assert session.scalar(select(Notification.user_id).where(Notification.ticket_id == ticket.id,
                                                          Notification.channel == "inapp")) == \
        user(session, "manager").id

    # The scheduler was down from 10:16 to 13:30: everything missed happens now, once, oldest first; the
    # 20-minute repeats of level 2 collapse into the last one before level 3.
    tick(session, T0 + timedelta(hours=3, minutes=30))
    assert steps_of(session, ticket)[1:] == [
        ("remind", "response", 2, 0), ("escalate", "response", 1, 0), ("escalate", "response", 2, 0),
        ("escalate", "response", 2, 4), ("escalate", "response", 3, 0)]
    events = sla_events(session, ticket)
    assert [e.data["due_at"] for e in events] == sorted(e.data["due_at"] for e in events)
    session.refresh(ticket)
    assert ticket.escalation_level == 3
    with force_locale("zh"):
        assert events[-1].description.startswith("升级至第 3 级：首次响应应于 11-24 10:30 完成，已超时 3小时")
    assert events[3].data["recipients"] == ["林小美"]
    tick(session, T0 + timedelta(hours=4))
    assert len(steps_of(session, ticket)) == 6 and len(sla_events(session, ticket)) == 6
    assert count(session, Notification, ticket_id=ticket.id, channel="inapp") == sum(
        len(e.data["recipients"]) for e in sla_events(session, ticket))


def test_a_met_target_stops_its_reminders_and_escalations(session):
    world = SlaWorld(session)
    world.policy(response=30, resolution=8 * 60, reminders="80%")
    engineer = world.engineer("及时")
    ticket = world.sla_ticket(at=T0)
    move(session, ticket, st.ACCEPTED, at=T0 + timedelta(minutes=20), engineer=engineer)
    assert ticket.responded_at == T0 + timedelta(minutes=20)
    tick(session, T0 + timedelta(hours=2))
    assert not any(step[1] == "response" for step in steps_of(session, ticket))
    assert ticket.first_response_due_at == T0 + timedelta(minutes=30)  # kept, to show it was met in time


def test_an_unaccepted_assignment_is_chased_then_given_to_someone_else(session):
    world = SlaWorld(session)
    world.policy(response=24 * 60, resolution=None, reminders="")
    slow = world.engineer("慢")
    quick = world.engineer("快")
    ticket = world.sla_ticket(at=T0, service_type="hardware_repair")
    move(session, ticket, at=T0, engineer=slow)
    assert ticket.status == st.ASSIGNED
    tick(session, T0 + timedelta(minutes=16))
    assert steps_of(session, ticket) == [("chase", "assignment", 1, 1)]
    chased = sla_events(session, ticket)[-1]
    assert "15" in chased.description
    tick(session, T0 + timedelta(minutes=31))
    session.refresh(ticket)
    assert ticket.assignee_id == quick.id and ticket.status == st.ASSIGNED
    kinds = [e.kind for e in ticket.events]
    assert "accept_timeout" in kinds
    # The new engineer's wait starts over.
    assert ticket.assignment_round == 2 and ticket.assigned_at == T0 + timedelta(minutes=31)


def test_reminder_points_are_checked_when_a_manager_types_them():
    points = parse_reminders("50%, 80%，30m 2h")
    assert [p.label for p in points] == ["50%", "80%", "30m", "2h"]
    assert points[3].before == timedelta(hours=2)
    for bad in ("120%", "soon", "0m"):
        with pytest.raises(ServiceError) as error:
            parse_reminders(bad)
        assert error.value.field == "reminders"


def test_a_company_holiday_moves_deadlines(session):
    from app.models import CalendarDay

    world = SlaWorld(session)
    calendar = world.office()
    world.policy(calendar=calendar, response=9 * 60, resolution=None)
    calendar.days.append(CalendarDay(day=local(2026, 11, 26, 12).date(), kind="holiday", name="年会"))
    session.commit()
    ticket = world.sla_ticket(at=local(2026, 11, 25, 9, 0))
    assert ticket.first_response_due_at == local(2026, 11, 25, 18, 0)
    late = world.sla_ticket(at=local(2026, 11, 25, 14, 0))
    assert late.first_response_due_at == local(2026, 11, 27, 14, 0)  # Thursday is the company's day off


def test_without_row_locks_a_ticket_moved_on_by_another_scheduler_is_left_alone(session):
    """SQLite's claim: the new columns are stored only if the next check is still the one read."""
    from sqlalchemy import update

    from app.models import SlaCheck, Ticket
    from app.services import escalate, sla

    world = SlaWorld(session)
    world.policy(response=30, resolution=None)
    ticket = world.sla_ticket(at=T0)
    facts = sla.facts_from_row(session.execute(sla.facts_query().where(Ticket.id == ticket.id)).one())
    assert facts.sla_next_check_at == T0 + timedelta(minutes=15)  # the 50 % reminder
    later, mine = T0 + timedelta(hours=5), T0 + timedelta(hours=9)
    session.execute(update(SlaCheck).where(SlaCheck.ticket_id == ticket.id).values(next_at=later))  # the other one
    assert escalate._claim(session, facts, mine) is False
    assert session.get(SlaCheck, ticket.id).next_at == later
    facts.sla_next_check_at = later
    assert escalate._claim(session, facts, mine) is True
    session.expire_all()
    assert session.get(SlaCheck, ticket.id).next_at == mine
    session.rollback()
