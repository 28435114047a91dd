"""The pages staff open all day cost the same number of queries for a page of one row as for a page of
five, and a ticket page the same for a ticket with one note as with many: nothing is loaded row by row
(the "N+1" that makes a page slow at a million tickets although each query is fast)."""
import io

import pytest
from sqlalchemy import select

from app.models import Asset, Customer, Product, TicketAttachment
from app.services import field, intake, inventory, tickets
from app.services.intake import Attachment
from app.timeutil import utcnow
from tests.helpers import engineer_of, new_ticket, other_engineer, user
from tests.portal_world import png
from tests.querycount import Statements, extra
from tests.test_inventory import new_part

# (login, list URL without its page size, the view's page-size argument): every list a role works from.
LISTS = [
    ("clerk", "/ticketview/list/", "psize_TicketView"),
    ("clerk", "/openticketview/list/", "psize_OpenTicketView"),
    ("clerk", "/reviewqueueview/list/", "psize_ReviewQueueView"),
    ("clerk", "/customerview/list/", "psize_CustomerView"),
    ("clerk", "/assetview/list/", "psize_AssetView"),
    ("clerk", "/ticketeventview/list/", "psize_TicketEventView"),
    ("manager", "/poolview/list/", "psize_PoolView"),
    ("manager", "/problemview/list/", "psize_ProblemView"),
    ("manager", "/kbarticleview/list/", "psize_KbArticleView"),
    ("engineer", "/ticketview/list/", "psize_TicketView"),
    ("warehouse", "/stockview/list/", "psize_StockView"),
    ("warehouse", "/stockmoveview/list/", "psize_StockMoveView"),
    ("warehouse", "/partrequestview/list/", "psize_PartRequestView"),
]


@pytest.fixture
def busy(session):
    """Five fresh tickets, newest of all, each with its own customer, device, engineer and parts."""
    product = session.scalar(select(Product).order_by(Product.id))
    engineers = [engineer_of(session), other_engineer(session)]
    made = []
    for i in range(5):
        customer = Customer(name=f"查询计数客户{i}", phone=f"1370000{i:04d}")
        asset = Asset(serial_number=f"QC-{utcnow():%H%M%S%f}-{i}", product=product, customer=customer)
        ticket = new_ticket(session, now=utcnow(), customer=customer, asset=asset)
        tickets.assign(session, ticket, engineers[i % 2], now=utcnow(), actor=user(session, "clerk"))
        inventory.need_and_reserve(session, ticket, new_part(session), 1, now=utcnow(), actor=user(session, "clerk"))
        session.commit()
        made.append(ticket)
    return made


@pytest.mark.parametrize("username, url, size", LISTS)
def test_a_list_page_of_five_rows_costs_what_a_page_of_one_does(app, session, login_as, busy, username, url, size):
    counter, client = Statements(app, session), login_as(username)
    one = counter.of(client, f"{url}?{size}=1")
    five = counter.of(client, f"{url}?{size}=5")
    assert len(one) == len(five), (url, len(one), len(five), extra(one, five))


def test_the_rest_api_lists_five_tickets_with_the_queries_of_one(app, session, client, api_token, busy):
    counter, headers = Statements(app, session), api_token("clerk")

    class WithToken:  # the counter sends plain GETs; the API wants its token on each
        def get(self, url):
            return client.get(url, headers=headers)

    one = counter.of(WithToken(), "/api/v1/ticket/?q=(page_size:1)")
    five = counter.of(WithToken(), "/api/v1/ticket/?q=(page_size:5)")
    assert len(one) == len(five), (len(one), len(five), extra(one, five))


def test_a_ticket_page_costs_the_same_with_a_long_history(app, session, login_as, busy):
    """Notes, replies with photos, parts and status changes: the timeline grows, the queries do not."""
    ticket, clerk = busy[0], login_as("clerk")
    counter = Statements(app, session)
    before = counter.of(clerk, f"/ticketview/show/{ticket.id}")
    ticket = session.merge(ticket)
    me, actor = engineer_of(session), user(session, "engineer")
    field.accept(session, ticket, me, now=utcnow(), actor=actor)
    for n in range(4):
        tickets.add_note(session, ticket, f"第{n}次备注", now=utcnow(), actor=user(session, "clerk"))
        intake.add_reply(session, ticket, channel="web", message_key=None, text=f"补充{n}", sender=None, now=utcnow(),
                         attachments=[Attachment(filename=f"照片{n}.png", content=png(), content_type="image/png")])
        inventory.need_and_reserve(session, ticket, new_part(session), 1, now=utcnow(), actor=actor)
    session.commit()
    assert session.query(TicketAttachment).filter_by(ticket_id=ticket.id).count() == 4
    after = counter.of(clerk, f"/ticketview/show/{ticket.id}")
    assert len(before) == len(after), (len(before), len(after), extra(before, after))


def test_the_engineers_workspace_costs_the_same_with_more_work(app, session, login_as, busy):
    phone = login_as("engineer")
    counter = Statements(app, session)
    before = counter.of(phone, "/workspace/")
    for _ in range(3):
        more = new_ticket(session, now=utcnow(), customer=Customer(name="更多客户", phone="13711112222"))
        tickets.assign(session, more, engineer_of(session), now=utcnow(), actor=user(session, "clerk"))
        session.commit()
    after = counter.of(phone, "/workspace/")
    assert len(before) == len(after), (len(before), len(after), extra(before, after))
