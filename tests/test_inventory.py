"""Spare parts on tickets: reserved where the engineer draws parts, transferred from the nearest warehouse
or purchased, the ticket waiting meanwhile, used on resolution at the warranty's price, given back when not
needed — every change a stock movement, never below zero."""
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Customer, Notification, PartRequest, ServiceRegion, SparePart, Stock, StockMove, Ticket, TicketPart, Warehouse,
)
from app.services import inventory, sla
from app.services import status as st
from app.services import tickets
from tests.conftest import flashes
from tests.helpers import NOW, engineer_of, run_together, user
from tests.portal_world import customer_ticket

def warehouse(session, code) -> Warehouse:
    return session.scalar(select(Warehouse).where(Warehouse.code == code))


def new_part(session, price="120.00", **stock_by_warehouse) -> SparePart:
    """A part of its own for one test, with `WH_BJ=3`-style stock (on hand, nothing reserved)."""
    part = SparePart(sku=f"T-{uuid.uuid4().hex[:12]}", name_zh="测试加热管", name_en="Test heating tube",
                     price=Decimal(price))
    session.add(part)
    session.flush()
    for code, quantity in stock_by_warehouse.items():
        session.add(Stock(warehouse=warehouse(session, code.replace("_", "-")), part=part, on_hand=quantity,
                          reserved=0))
    session.commit()
    return part


def stock(session, code, part) -> tuple[int, int]:
    session.expire_all()
    row = session.scalar(select(Stock).where(Stock.warehouse_id == warehouse(session, code).id,
                                             Stock.part_id == part.id))
    return (row.on_hand, row.reserved) if row is not None else (0, 0)


def working_ticket(session, phone, **fields) -> Ticket:
    """Assigned to the demo engineer (who draws parts from WH-BJ), accepted and in progress."""
    ticket = customer_ticket(session, phone=phone, **fields)
    engineer = user(session, "engineer")
    tickets.transition(session, ticket, st.ACCEPTED, now=NOW, actor=engineer)
    tickets.transition(session, ticket, st.IN_PROGRESS, now=NOW, actor=engineer)
    session.commit()
    return ticket


def moves(session, ticket, part) -> list[tuple[str, str, int]]:
    rows = session.execute(select(Warehouse.code, StockMove.kind, StockMove.quantity)
                           .join(Warehouse, Warehouse.id == StockMove.warehouse_id)
                           .where(StockMove.ticket_id == ticket.id, StockMove.part_id == part.id)
                           .order_by(StockMove.id)).all()
    return [tuple(r) for r in rows]


def need(session, ticket, part, quantity=1):
    outcome = inventory.need_and_reserve(session, ticket, part, quantity, now=NOW, actor=user(session, "engineer"))
    session.commit()
    return outcome


def test_the_part_is_reserved_where_the_engineer_draws_parts(session):
    assert engineer_of(session).warehouse.code == "WH-BJ"
    part = new_part(session, WH_BJ=3, WH_SH=5)
    ticket = working_ticket(session, "13933330001")
    outcome = need(session, ticket, part, 2)
    assert outcome.state == "reserved" and stock(session, "WH-BJ", part) == (3, 2)
    assert stock(session, "WH-SH", part) == (5, 0)
    assert moves(session, ticket, part) == [("WH-BJ", "reserve", 2)]
    assert ticket.status == st.IN_PROGRESS


def test_from_the_nearest_warehouse_by_transfer_and_the_ticket_waits_for_it(app, session):
    guangzhou = session.scalar(select(ServiceRegion).where(ServiceRegion.code == "440106"))
    customer = Customer(name="广州客户", phone="13933330002", region=guangzhou)
    session.add(customer)
    part = new_part(session, WH_SH=4, WH_SZ=4)  # not at the engineer's WH-BJ; Shenzhen is in the same province
    ticket = working_ticket(session, "13933330002", customer=customer)
    outcome = need(session, ticket, part, 1)
    assert outcome.state == "transfer"
    request = session.scalar(select(PartRequest).where(PartRequest.ticket_id == ticket.id))
    assert (request.kind, request.source.code, request.warehouse.code, request.state) == (
        "transfer", "WH-SZ", "WH-BJ", "open")
    assert stock(session, "WH-SZ", part) == (4, 1)  # held at the source while it travels
    session.expire_all()
    assert ticket.status == st.WAITING_PARTS
    view = sla.clock_view(session, ticket, now=NOW)
    assert "waiting_parts" in {s.reason for s in view.segments}

    inventory.receive(session, request, now=NOW, actor=user(session, "warehouse"))
    session.commit()
    session.expire_all()
    assert ticket.status == st.IN_PROGRESS
    assert stock(session, "WH-SZ", part) == (3, 0) and stock(session, "WH-BJ", part) == (1, 1)
    assert moves(session, ticket, part) == [("WH-SZ", "reserve", 1), ("WH-SZ", "transfer_out", -1),
                                            ("WH-BJ", "transfer_in", 1)]
    item = session.scalar(select(TicketPart).where(TicketPart.ticket_id == ticket.id))
    assert (item.state, item.warehouse.code) == ("reserved", "WH-BJ")
    with app.test_request_context("/?_l_=zh"):
        texts = [e.description for e in ticket.events if e.kind.startswith("part_")]
    assert any("从 深圳仓 调拨到 北京中心仓" in t for t in texts) and any("已到 北京中心仓" in t for t in texts)


def test_out_of_stock_everywhere_a_purchase_is_requested_and_booked_in(session):
    part = new_part(session)
    ticket = working_ticket(session, "13933330003")
    assert need(session, ticket, part, 2).state == "purchase"
    request = session.scalar(select(PartRequest).where(PartRequest.ticket_id == ticket.id))
    assert (request.kind, request.source, request.warehouse.code) == ("purchase", None, "WH-BJ")
    inventory.receive(session, request, now=NOW, actor=user(session, "warehouse"))
    session.commit()
    assert stock(session, "WH-BJ", part) == (2, 2)
    assert moves(session, ticket, part) == [("WH-BJ", "receipt", 2), ("WH-BJ", "reserve", 2)]
    session.expire_all()
    assert ticket.status == st.IN_PROGRESS
    with pytest.raises(Exception):
        inventory.receive(session, request, now=NOW, actor=user(session, "warehouse"))  # only once
    session.rollback()
    assert stock(session, "WH-BJ", part) == (2, 2)


@pytest.mark.parametrize("warranty, billable, charge", [("in", False, "0.00"), ("out", True, "240.00"),
                                                         ("unknown", True, "240.00")])
def test_resolving_uses_the_parts_free_in_warranty_and_billed_outside(session, warranty, billable, charge):
    part = new_part(session, price="120.00", WH_BJ=5)
    ticket = working_ticket(session, f"1393333{ {'in': 1, 'out': 2, 'unknown': 3}[warranty]:04d}")
    ticket.warranty_status = warranty
    need(session, ticket, part, 2)
    tickets.transition(session, ticket, st.RESOLVED, now=NOW, actor=user(session, "engineer"))
    session.commit()
    session.expire_all()
    item = session.scalar(select(TicketPart).where(TicketPart.ticket_id == ticket.id))
    assert (item.state, item.used, item.billable, str(item.charge)) == ("consumed", 2, billable, charge)
    assert str(ticket.parts_charge) == charge
    assert stock(session, "WH-BJ", part) == (3, 0)
    assert moves(session, ticket, part) == [("WH-BJ", "reserve", 2), ("WH-BJ", "consume", -2)]


def test_unused_parts_go_back_to_stock(session):
    part = new_part(session, WH_BJ=5)
    ticket = working_ticket(session, "13933330011")
    item = need(session, ticket, part, 3).item
    inventory.consume(session, ticket, now=NOW, used={item.id: 1})
    session.commit()
    assert stock(session, "WH-BJ", part) == (4, 0)
    assert moves(session, ticket, part) == [("WH-BJ", "reserve", 3), ("WH-BJ", "consume", -1),
                                            ("WH-BJ", "return", -2)]


def test_dropping_a_part_or_cancelling_the_ticket_gives_the_stock_back(session):
    part = new_part(session, WH_BJ=2)
    dropped = working_ticket(session, "13933330012")
    item = need(session, dropped, part, 2).item
    inventory.drop(session, dropped, item.id, now=NOW, actor=user(session, "clerk"))
    session.commit()
    assert stock(session, "WH-BJ", part) == (2, 0)

    cancelled = working_ticket(session, "13933330013")
    need(session, cancelled, part, 1)
    missing = new_part(session)
    need(session, cancelled, missing, 1)  # a purchase, still open
    tickets.transition(session, cancelled, st.CANCELLED, now=NOW, actor=user(session, "clerk"), reason="客户取消")
    session.commit()
    assert stock(session, "WH-BJ", part) == (2, 0)
    states = set(session.scalars(select(PartRequest.state).where(PartRequest.ticket_id == cancelled.id)))
    assert states == {"cancelled"}


def test_taking_stock_down_to_its_line_tells_the_warehouse_keepers_once(session):
    part = new_part(session, WH_BJ=4)
    row = session.scalar(select(Stock).where(Stock.part_id == part.id))
    row.low_stock_threshold = 2
    session.commit()
    keeper = user(session, "warehouse")

    def alerts():
        return session.scalars(select(Notification).where(Notification.event == "low_stock",
                                                          Notification.user_id == keeper.id,
                                                          Notification.data["sku"].as_string() == part.sku)).all()

    need(session, working_ticket(session, "13933330014"), part, 1)  # 3 left: above the line
    assert alerts() == []
    need(session, working_ticket(session, "13933330015"), part, 1)  # 2 left: at the line
    need(session, working_ticket(session, "13933330016"), part, 1)  # 1 left: already told
    [alert] = alerts()
    assert alert.channel == "inapp" and alert.data["available"] == 2


@pytest.mark.postgres_only
def test_two_tickets_racing_for_the_last_part_one_gets_it(app, session):
    part = new_part(session, WH_BJ=1)
    ids = [working_ticket(session, f"139333301{i}").id for i in range(2)]

    def reserve_for(ticket_id):
        def job(s):
            outcome = inventory.need_and_reserve(s, s.get(Ticket, ticket_id), s.get(SparePart, part.id), 1, now=NOW)
            s.commit()
            return outcome.state
        return job

    outcomes, errors = run_together(app, *[reserve_for(i) for i in ids])
    assert errors == []
    assert sorted(outcomes) == ["purchase", "reserved"]
    assert stock(session, "WH-BJ", part) == (1, 1)


def test_the_warehouse_keeper_books_in_a_request_from_the_list(app, session, login_as):
    part = new_part(session)
    ticket = working_ticket(session, "13933330020")
    need(session, ticket, part, 1)
    request = session.scalar(select(PartRequest).where(PartRequest.ticket_id == ticket.id))
    keeper = login_as("warehouse")
    listing = keeper.get("/partrequestview/list/?psize_PartRequestView=100")
    assert listing.status_code == 200 and ticket.number in listing.get_data(as_text=True)
    done = keeper.post(f"/partrequestview/receive/{request.id}", follow_redirects=True)
    assert f"为 {ticket.number} 入库" in flashes(done.get_data(as_text=True))
    session.expire_all()
    assert ticket.status == st.IN_PROGRESS and stock(session, "WH-BJ", part) == (1, 1)
    # Clerks may look, not book in; engineers see neither.
    clerk = login_as("clerk")
    assert clerk.get("/partrequestview/list/").status_code == 200
    assert clerk.post(f"/partrequestview/receive/{request.id}").status_code in (302, 403)
    assert login_as("engineer").get("/partrequestview/list/").status_code in (302, 403)
    low = keeper.get("/lowstockview/list/")
    assert low.status_code == 200


def test_the_ticket_page_shows_where_each_part_stands(session, login_as):
    part = new_part(session, price="88.00", WH_BJ=1)
    ticket = working_ticket(session, "13933330021")
    clerk = login_as("clerk")
    response = clerk.post(f"/ticketview/parts/{ticket.id}", data={"part_id": part.id, "quantity": "1"},
                          follow_redirects=True)
    html = response.get_data(as_text=True)
    assert 'data-part-state="reserved"' in html and "已预留 · 北京中心仓" in html
    tickets.transition(session, session.get(Ticket, ticket.id), st.RESOLVED, now=NOW, actor=user(session, "engineer"))
    session.commit()
    html = clerk.get(f"/ticketview/show/{ticket.id}").get_data(as_text=True)
    assert 'data-part-state="consumed"' in html and "备件费用" in html


def test_cancelling_a_reopened_ticket_keeps_what_was_used_before(session):
    part = new_part(session, WH_BJ=2)
    ticket = working_ticket(session, "13933330030")
    need(session, ticket, part, 1)
    tickets.transition(session, ticket, st.RESOLVED, now=NOW, actor=user(session, "engineer"))
    tickets.transition(session, ticket, st.REOPENED, now=NOW, actor=user(session, "clerk"), reason="又漏水")
    tickets.transition(session, ticket, st.CANCELLED, now=NOW, actor=user(session, "clerk"), reason="客户换新机")
    session.commit()
    item = session.scalar(select(TicketPart).where(TicketPart.ticket_id == ticket.id))
    assert (item.state, item.used) == ("consumed", 1) and stock(session, "WH-BJ", part) == (1, 0)


def test_dropping_the_part_a_ticket_waits_for_sends_it_back_to_work(session):
    missing = new_part(session)
    ticket = working_ticket(session, "13933330031")
    item = need(session, ticket, missing, 1).item
    session.expire_all()
    assert ticket.status == st.WAITING_PARTS
    inventory.drop(session, ticket, item.id, now=NOW, actor=user(session, "engineer"))
    session.commit()
    session.expire_all()
    assert ticket.status == st.IN_PROGRESS
    assert session.scalar(select(PartRequest.state).where(PartRequest.ticket_id == ticket.id)) == "cancelled"


def test_a_reopened_ticket_needing_the_same_part_again_is_charged_for_both(session):
    part = new_part(session, price="100.00", WH_BJ=5)
    ticket = working_ticket(session, "13933330032")
    ticket.warranty_status = "out"
    engineer = user(session, "engineer")
    need(session, ticket, part, 1)
    tickets.transition(session, ticket, st.RESOLVED, now=NOW, actor=engineer)
    tickets.transition(session, ticket, st.REOPENED, now=NOW, actor=user(session, "clerk"), reason="又坏了")
    tickets.transition(session, ticket, st.IN_PROGRESS, now=NOW, actor=engineer)
    need(session, ticket, part, 1)
    tickets.transition(session, ticket, st.RESOLVED, now=NOW, actor=engineer)
    session.commit()
    session.expire_all()
    rows = session.scalars(select(TicketPart).where(TicketPart.ticket_id == ticket.id).order_by(TicketPart.id)).all()
    assert [(r.state, r.used) for r in rows] == [("consumed", 1), ("consumed", 1)]
    assert ticket.parts_charge == Decimal("200.00") and stock(session, "WH-BJ", part) == (3, 0)


def test_a_removal_racing_the_resolution_is_refused_and_books_nothing(app, session):
    from sqlalchemy.orm import Session as OrmSession
    from sqlalchemy.orm.exc import StaleDataError

    from app.services.errors import ConcurrentEdit

    part = new_part(session, WH_BJ=3)
    ticket = working_ticket(session, "13933330033")
    item = need(session, ticket, part, 2).item
    with OrmSession(db.engine) as other:  # the clerk's page, loaded before the engineer resolved
        stale_ticket, stale_item = other.get(Ticket, ticket.id), other.get(TicketPart, item.id)
        assert stale_item.state == "reserved"
        tickets.transition(session, ticket, st.RESOLVED, now=NOW, actor=user(session, "engineer"))
        session.commit()
        with pytest.raises((StaleDataError, ConcurrentEdit)):
            inventory.drop(other, stale_ticket, stale_item.id, now=NOW)
            other.commit()
        other.rollback()
    assert stock(session, "WH-BJ", part) == (1, 0)  # two used, nothing given back twice


def test_a_part_ordered_before_the_visit_holds_the_ticket_until_it_is_in(session):
    """The clerk knows from the phone call which part is broken and orders it while the ticket is only
    assigned: the engineer's acceptance does not start the SLA clock running down while nobody can act, the
    ticket goes back to 'accepted' (the visit still to come) when the part is in, and the visit goes on."""
    from app.services import field

    me, engineer = engineer_of(session), user(session, "engineer")
    part = new_part(session)  # nowhere in stock: a purchase
    ticket = customer_ticket(session, phone="13933330041")
    assert need(session, ticket, part, 1).state == "purchase"
    assert ticket.status == st.ASSIGNED  # nobody has taken it on yet; nothing to hold
    field.accept(session, ticket, me, now=NOW, actor=engineer)
    session.commit()
    assert ticket.status == st.WAITING_PARTS
    assert "waiting_parts" in {s.reason for s in sla.clock_view(session, ticket, now=NOW).segments}

    request = session.scalar(select(PartRequest).where(PartRequest.ticket_id == ticket.id))
    inventory.receive(session, request, now=NOW, actor=user(session, "warehouse"))
    session.commit()
    assert ticket.status == st.ACCEPTED and ticket.arrived_at is None
    field.check_in(session, ticket, me, now=NOW, actor=engineer)
    session.commit()
    assert ticket.status == st.IN_PROGRESS


def test_checking_in_while_the_part_travels_keeps_waiting_then_goes_on_with_the_work(session):
    from app.services import field

    me, engineer = engineer_of(session), user(session, "engineer")
    part = new_part(session)
    ticket = customer_ticket(session, phone="13933330042")
    field.accept(session, ticket, me, now=NOW, actor=engineer)
    need(session, ticket, part, 1)
    assert ticket.status == st.WAITING_PARTS  # ordered by the accepted engineer before setting off
    field.check_in(session, ticket, me, now=NOW, actor=engineer)  # went anyway, to look at the machine
    session.commit()
    assert ticket.status == st.WAITING_PARTS and ticket.arrived_at is not None
    request = session.scalar(select(PartRequest).where(PartRequest.ticket_id == ticket.id))
    inventory.receive(session, request, now=NOW, actor=user(session, "warehouse"))
    session.commit()
    assert ticket.status == st.IN_PROGRESS  # on site already: back to the work, not to 'accepted'
