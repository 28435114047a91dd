from datetime import datetime

from sqlalchemy import func, select

from app.models import Asset, Ticket, TicketEvent
from app.services import demo
from app.services import status as st


def test_demo_has_tickets_in_every_status_with_timelines(session):
    statuses = set(session.scalars(select(Ticket.status).distinct()))
    assert set(st.STATUSES) <= statuses
    # The demo operation is seeded first, before any test adds tickets.
    closed = session.scalar(select(Ticket).where(Ticket.status == st.CLOSED).order_by(Ticket.id).limit(1))
    assert [e.kind for e in closed.events][:2] == ["created", "assigned"]
    assert [e for e in closed.events if e.kind == "status"][-1].data["to"] == st.CLOSED
    assert [e.kind for e in closed.events][-1] == "rated"  # and the customer said how it went


def test_demo_has_assets_in_and_out_of_warranty(session):
    today = datetime(2026, 11, 22).date()
    states = {asset.under_warranty(today) for asset in session.scalars(select(Asset))}
    assert states == {True, False}


def test_seed_again_changes_nothing(app, session):
    before = session.scalar(select(func.count()).select_from(Ticket))
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0 and "already present" in result.output
    assert "clerk / demo-clk-2026" in result.output
    assert session.scalar(select(func.count()).select_from(Ticket)) == before


def test_bulk_generation_makes_numbered_tickets_with_events(session):
    before = session.scalar(select(func.count()).select_from(Ticket))
    last_id = session.scalar(select(func.max(Ticket.id)))
    events_before = session.scalar(select(func.count()).select_from(TicketEvent))
    demo.bulk_tickets(session, 1200, random_seed=7, now=datetime(2027, 5, 1), days=30)
    assert session.scalar(select(func.count()).select_from(Ticket)) == before + 1200
    numbers = session.scalars(select(Ticket.number)).all()
    assert len(numbers) == len(set(numbers))
    created = session.scalar(select(func.count()).select_from(TicketEvent).where(
        TicketEvent.kind == "created", TicketEvent.ticket_id > last_id))
    assert created == 1200
    assert session.scalar(select(func.count()).select_from(TicketEvent)) - events_before > 1200
    new = select(Ticket).where(Ticket.id > last_id)
    open_old = session.scalar(select(func.count()).select_from(new.where(
        Ticket.status.in_(st.OPEN_STATUSES), Ticket.created_at < datetime(2027, 4, 23)).subquery()))
    assert open_old == 0  # only last week's tickets are still being worked
    assert set(session.scalars(select(Ticket.status).where(Ticket.id > last_id).distinct())) == set(st.STATUSES)
