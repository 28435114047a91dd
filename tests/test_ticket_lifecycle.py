"""The status machine and the timeline, through app.services.tickets."""
from datetime import timedelta

import pytest

from app.models import TicketEvent
from app.services import status as st
from app.services import tickets
from app.services.errors import ConcurrentEdit, IllegalTransition, ServiceError
from tests.helpers import NOW, engineer_of, new_ticket, other_engineer, user


def kinds(ticket):
    return [(e.kind, (e.data or {}).get("to")) for e in ticket.events]


def test_full_life_of_a_ticket_is_on_the_timeline(session):
    clerk, eng_user = user(session, "clerk"), user(session, "engineer")
    engineer = engineer_of(session)
    ticket = new_ticket(session)
    assert ticket.status == st.NEW and ticket.number.startswith("SR20261122-")

    tickets.assign(session, ticket, engineer, now=NOW + timedelta(minutes=5), actor=clerk)
    for i, status in enumerate([st.ACCEPTED, st.IN_PROGRESS, st.WAITING_PARTS, st.IN_PROGRESS, st.RESOLVED,
                                st.CLOSED]):
        tickets.transition(session, ticket, status, now=NOW + timedelta(hours=i + 1), actor=eng_user)
    session.commit()

    assert ticket.status == st.CLOSED
    assert ticket.team == engineer.team
    assert ticket.responded_at == NOW + timedelta(hours=1)  # accepting is the first response
    assert ticket.resolved_at == NOW + timedelta(hours=5)
    assert ticket.closed_at == NOW + timedelta(hours=6)
    assert kinds(ticket) == [
        ("created", None), ("assigned", None), ("status", "assigned"), ("status", "accepted"),
        ("status", "in_progress"), ("status", "waiting_parts"), ("status", "in_progress"),
        ("status", "resolved"), ("status", "closed"),
    ]
    assigned = ticket.events[1]
    assert assigned.actor_user_id == clerk.id and assigned.data["engineer"] == engineer.name


@pytest.mark.parametrize("start_path,target", [
    ([], st.CLOSED),
    ([], st.ACCEPTED),
    ([st.CANCELLED], st.IN_PROGRESS),
    (["assign", st.ACCEPTED, st.IN_PROGRESS, st.RESOLVED, st.CLOSED], st.IN_PROGRESS),
    (["assign", st.ACCEPTED, st.IN_PROGRESS, st.WAITING_PARTS], st.RESOLVED),
])
def test_illegal_transitions_are_refused_and_leave_no_trace(session, start_path, target):
    ticket = new_ticket(session)
    for step in start_path:
        if step == "assign":
            tickets.assign(session, ticket, engineer_of(session), now=NOW)
        else:
            tickets.transition(session, ticket, step, now=NOW, reason="客户要求")
    session.commit()
    before_status, before_events = ticket.status, len(ticket.events)

    with pytest.raises(IllegalTransition) as err:
        tickets.transition(session, ticket, target, now=NOW)
    assert st.label(before_status) in str(err.value) and st.label(target) in str(err.value)
    session.rollback()
    assert ticket.status == before_status
    assert len(ticket.events) == before_events


def test_cancel_and_reopen_need_a_reason(session):
    ticket = new_ticket(session)
    with pytest.raises(ServiceError) as err:
        tickets.transition(session, ticket, st.CANCELLED, now=NOW, reason="   ")
    assert err.value.field == "reason"
    tickets.transition(session, ticket, st.CANCELLED, now=NOW, reason="客户已自行修好")
    session.commit()
    assert ticket.events[-1].reason == "客户已自行修好"


def test_reopen_clears_resolution_and_keeps_history(session):
    ticket = new_ticket(session)
    tickets.transition(session, ticket, st.RESOLVED, now=NOW)  # answered on the phone
    tickets.transition(session, ticket, st.REOPENED, now=NOW + timedelta(days=1), reason="问题再次出现")
    session.commit()
    assert ticket.resolved_at is None and ticket.status == st.REOPENED
    assert [k for k, _ in kinds(ticket)].count("status") == 2


def test_statuses_that_need_an_engineer(session):
    ticket = new_ticket(session)
    with pytest.raises(IllegalTransition):
        tickets.transition(session, ticket, st.ASSIGNED, now=NOW)


def test_reassigning_an_accepted_ticket_makes_the_new_engineer_accept_again(session):
    ticket = new_ticket(session)
    tickets.assign(session, ticket, engineer_of(session), now=NOW)
    tickets.transition(session, ticket, st.ACCEPTED, now=NOW)
    tickets.assign(session, ticket, other_engineer(session), now=NOW, reason="原工程师请假")
    session.commit()
    assert ticket.status == st.ASSIGNED
    assert ticket.events[-2].reason == "原工程师请假"
    tickets.assign(session, ticket, None, now=NOW, reason="退回工单池")
    session.commit()
    assert ticket.status == st.NEW and ticket.assignee is None


def test_closed_or_cancelled_tickets_cannot_be_assigned(session):
    ticket = new_ticket(session)
    tickets.transition(session, ticket, st.CANCELLED, now=NOW, reason="重复报修")
    with pytest.raises(IllegalTransition):
        tickets.assign(session, ticket, engineer_of(session), now=NOW)


def test_edit_records_what_changed_and_skips_no_op_edits(session):
    ticket = new_ticket(session)
    diff = tickets.edit_ticket(session, ticket, {"subject": "热水器漏水严重", "contact_phone": "13900001111"},
                               now=NOW, actor=user(session, "clerk"), expected_version=ticket.version)
    session.commit()
    assert diff["subject"] == ["热水器漏水", "热水器漏水严重"]
    assert ticket.events[-1].kind == "edited"
    assert set(ticket.events[-1].data["changes"]) == {"subject", "contact_phone"}

    count = len(ticket.events)
    assert tickets.edit_ticket(session, ticket, {"subject": "热水器漏水严重"}, now=NOW) == {}
    session.commit()
    assert len(ticket.events) == count


def test_status_cannot_be_changed_by_an_edit(session):
    ticket = new_ticket(session)
    with pytest.raises(ServiceError) as err:
        tickets.edit_ticket(session, ticket, {"status": st.CLOSED}, now=NOW)
    assert err.value.field == "status"


def test_stale_version_is_refused_with_a_reload_message(session):
    ticket = new_ticket(session)
    seen = ticket.version
    tickets.edit_ticket(session, ticket, {"subject": "第一个人的修改"}, now=NOW, expected_version=seen)
    session.commit()
    with pytest.raises(ConcurrentEdit) as err:
        tickets.edit_ticket(session, ticket, {"subject": "第二个人的修改"}, now=NOW, expected_version=seen)
    assert ticket.number in str(err.value)
    session.rollback()
    assert ticket.subject == "第一个人的修改"


def test_a_racing_update_is_stopped_by_the_version_column(app, session):
    """Two sessions read the same version; the second UPDATE matches no row and fails."""
    from sqlalchemy.orm import Session
    from sqlalchemy.orm.exc import StaleDataError

    from app.extensions import db
    from app.models import Ticket

    ticket = new_ticket(session)
    with Session(db.engine) as first, Session(db.engine) as second:
        a, b = first.get(Ticket, ticket.id), second.get(Ticket, ticket.id)
        a.subject = "A"
        first.commit()
        b.subject = "B"
        with pytest.raises(StaleDataError):
            second.commit()
    session.refresh(ticket)
    assert ticket.subject == "A"


def test_retried_create_with_the_same_external_ref_returns_the_same_ticket(session):
    first = new_ticket(session, channel="app", external_ref="app-8812")
    again, created = tickets.create_ticket(session, channel="app", subject="热水器漏水", now=NOW,
                                           external_ref="app-8812")
    assert not created and again.id == first.id
    assert session.query(TicketEvent).filter_by(ticket_id=first.id, kind="created").count() == 1


def test_unknown_channel_and_empty_subject_name_the_field(session):
    with pytest.raises(ServiceError) as err:
        tickets.create_ticket(session, channel="fax", subject="x", now=NOW)
    assert err.value.field == "channel"
    with pytest.raises(ServiceError) as err:
        tickets.create_ticket(session, channel="phone", subject="  ", now=NOW)
    assert err.value.field == "subject"


def test_assigning_the_same_engineer_again_changes_nothing(session):
    ticket = new_ticket(session)
    engineer = engineer_of(session)
    tickets.assign(session, ticket, engineer, now=NOW)
    tickets.transition(session, ticket, st.ACCEPTED, now=NOW)
    count = len(ticket.events)
    tickets.assign(session, ticket, engineer, now=NOW)
    session.commit()
    assert ticket.status == st.ACCEPTED and len(ticket.events) == count


def test_engineer_handing_a_ticket_back_is_explained(session):
    ticket = new_ticket(session)
    engineer = engineer_of(session)
    tickets.assign(session, ticket, engineer, now=NOW)
    tickets.transition(session, ticket, st.NEW, now=NOW, actor=user(session, "engineer"), reason="不在服务区域")
    session.commit()
    event = ticket.events[-1]
    assert ticket.assignee is None
    assert event.data["previous_assignee"] == engineer.name and event.reason == "不在服务区域"


def _device(session, serial, warranty_end):
    from app.models import Asset, Product

    from sqlalchemy import select

    asset = Asset(serial_number=serial, product=session.scalars(select(Product).order_by(Product.id)).first(),
                  warranty_end=warranty_end)
    session.add(asset)
    session.commit()
    return asset


def test_every_ticket_knows_its_devices_warranty_and_a_changed_device_changes_it(session):
    """Not only the intake: a ticket typed in by a clerk, raised by a maintenance plan or posted to the REST
    API bills parts by the device's warranty, judged on the day it was reported."""
    from datetime import date

    covered = _device(session, "WTY-IN-0001", date(2027, 6, 30))
    expired = _device(session, "WTY-OUT-0001", date(2026, 10, 31))
    ticket = new_ticket(session, asset=covered)
    assert ticket.warranty_status == "in" and ticket.product_id == covered.product_id
    assert new_ticket(session).warranty_status == "unknown"

    tickets.edit_ticket(session, ticket, {"asset": expired}, now=NOW + timedelta(days=300))
    session.commit()
    assert ticket.warranty_status == "out"
    edited = [e for e in ticket.events if e.kind == "edited"][-1]
    assert edited.data["changes"]["warranty_status"] == ["in", "out"]
    tickets.edit_ticket(session, ticket, {"asset": covered}, now=NOW + timedelta(days=400))
    session.commit()
    assert ticket.warranty_status == "in"  # judged on the day it was reported, not the day of the edit
