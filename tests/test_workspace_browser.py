"""An engineer's visit on a phone, in a real browser with the phone's location: accept, set off, check in at
the customer's, request and use a part, resolve. Screenshots go to test-artifacts/."""
import os

import pytest
from sqlalchemy import select

from app.models import ResolutionCode, Ticket
from app.services import status as st
from tests.conftest import ARTIFACTS, sign_in
from tests.helpers import engineer_of
from tests.test_field import NEAR, located_customer
from tests.portal_world import customer_ticket
from tests.test_inventory import new_part, stock

pytestmark = pytest.mark.browser


def test_an_engineer_works_a_ticket_from_a_phone(app, session, browser, server):
    part = new_part(session, price="45.00", WH_BJ=3)
    ticket = customer_ticket(session, "13966660001", customer=located_customer(session, "13966660001"))
    ticket.warranty_status = "out"
    session.commit()
    kind = app.config["DB_KIND"]
    os.makedirs(ARTIFACTS, exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="zh-CN", geolocation={"latitude": NEAR[0] + 0.0005, "longitude": NEAR[1]},
                                  permissions=["geolocation"])
    page = context.new_page()
    sign_in(page, server, "engineer")
    page.goto(f"{server}/workspace/")
    page.wait_for_selector(f"[data-number='{ticket.number}']")
    page.screenshot(path=os.path.join(ARTIFACTS, f"workspace-list-{kind}.png"), full_page=True)

    page.click(f"[data-number='{ticket.number}']")
    page.click("#ws-accept")
    page.click("#ws-depart")
    page.wait_for_selector(".alert-success")
    assert "已告知客户" in page.inner_text(".alert-success")
    page.click("#ws-checkin")
    page.wait_for_selector("#ws-checkin-info")
    assert "距地址" in page.inner_text("#ws-checkin-info")
    page.select_option("#ws-part", str(part.id))
    page.fill("#ws-part-qty", "2")
    page.click("#ws-add-part")
    page.wait_for_selector("#ws-parts [data-part-state='reserved']")
    page.fill("#ws-log-text", "加热管烧坏，更换")
    page.click("#ws-log")
    page.wait_for_selector("#ws-history")
    page.screenshot(path=os.path.join(ARTIFACTS, f"workspace-ticket-{kind}.png"), full_page=True)

    code = session.scalar(select(ResolutionCode.id).where(ResolutionCode.code == "part_replaced"))
    page.select_option("#ws-code", str(code))
    item_input = page.locator("#ws-resolve-card input[type=number]")
    item_input.fill("1")
    page.fill("#ws-note", "更换加热管一根，试机正常")
    page.click("#ws-resolve")
    page.wait_for_selector(".alert-success")
    page.screenshot(path=os.path.join(ARTIFACTS, f"workspace-resolved-{kind}.png"), full_page=True)
    context.close()

    session.expire_all()
    ticket = session.get(Ticket, ticket.id)
    assert ticket.status == st.RESOLVED and ticket.resolution_code.code == "part_replaced"
    assert ticket.checkin_distance_m is not None and ticket.checkin_distance_m < 100 and not ticket.checkin_far
    assert str(ticket.parts_charge) == "45.00"
    assert stock(session, "WH-BJ", part) == (2, 0)  # one used, one back on the shelf
    assert engineer_of(session).last_located_at is not None
