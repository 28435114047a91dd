"""A clerk's first minutes in a real browser: log in, switch language, open the list and a ticket."""
import os

import pytest

from tests.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser


def logged_in_page(browser, server, username):
    """A Chinese-speaking user's browser tab, logged in, on the home page."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    sign_in(page, server, username)
    page.wait_for_selector("#open-counts")
    return page


def test_clerk_logs_in_switches_language_and_opens_a_ticket(app, browser, server):
    kind = app.config["DB_KIND"]
    page = logged_in_page(browser, server, "clerk")
    assert page.locator(".navbar").get_by_text("工单", exact=True).is_visible()

    # The language switch in the navbar.
    page.locator(".navbar-right .dropdown-toggle").first.click()
    page.click("a[href*='/lang/en']")
    page.wait_for_selector("#open-counts >> text=Waiting for parts")
    page.locator(".navbar .dropdown-toggle", has_text="Tickets").click()
    page.locator(".navbar a", has_text="All tickets").click()
    page.wait_for_selector("th:has-text('Ticket number')")
    page.screenshot(path=os.path.join(ARTIFACTS, f"ticket-list-en-{kind}.png"), full_page=False)

    first = page.locator("a[href*='/ticketview/show/']").first
    first.click()
    page.wait_for_selector("#ticket-timeline")
    ticket_url = page.url
    number = page.inner_text("#ticket-number")
    assert number.startswith("SR")
    assert page.locator("#ticket-timeline tbody tr").count() >= 1
    assert page.locator("#ticket-timeline").get_by_text("Ticket created from channel").count() == 1
    page.screenshot(path=os.path.join(ARTIFACTS, f"ticket-page-en-{kind}.png"), full_page=True)

    page.goto(f"{server}/lang/zh")
    page.goto(ticket_url)
    page.wait_for_selector("#ticket-timeline")
    assert page.inner_text("#ticket-number") == number
    assert page.locator("#ticket-timeline").get_by_text("时间线").count() == 1
    assert page.locator("#ticket-timeline").get_by_text("渠道创建工单").count() == 1
    page.screenshot(path=os.path.join(ARTIFACTS, f"ticket-page-zh-{kind}.png"), full_page=True)


def test_clerk_registers_a_call_from_the_caller_card(app, browser, server):
    """电话登记: the number typed the way callers say it brings up the customer and their device."""
    from datetime import date

    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Asset, Customer

    with app.app_context():
        customer = db.session.scalars(
            select(Customer).join(Asset, Asset.customer_id == Customer.id).where(Customer.phone.isnot(None))
            .group_by(Customer.id).having(func.count(Asset.id) == 1).order_by(Customer.id)).first()
        asset = customer.assets[0]
        asset.warranty_end = date(2099, 12, 31)
        db.session.commit()
        name, phone, serial = customer.name, customer.phone, asset.serial_number
    spoken = f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}"

    page = logged_in_page(browser, server, "clerk")
    page.locator(".navbar .dropdown-toggle", has_text="工单").click()
    page.locator(".navbar a", has_text="电话登记").click()
    page.wait_for_selector("#phone-intake-form")

    page.fill("#phone", spoken)
    page.wait_for_selector("#caller-found", state="visible")
    assert page.inner_text("#caller-name") == name
    assert serial in page.inner_text("#caller-assets") and "在保" in page.inner_text("#caller-assets")
    assert page.input_value("#name") == name
    assert page.input_value("#asset_id") == str(asset.id)

    # Saving without a description keeps what was typed and says what is missing.
    page.click("#phone-intake-save")
    page.wait_for_selector(".alert-danger")
    assert "描述" in page.inner_text(".alert-danger")
    assert page.input_value("#phone") == spoken

    page.fill("#description", "热水器打开后有很浓的煤气味，家里有老人，请尽快派人。")
    page.screenshot(path=os.path.join(ARTIFACTS, f"phone-intake-{app.config['DB_KIND']}.png"), full_page=True)
    page.click("#phone-intake-save")
    page.wait_for_selector("#ticket-number")
    assert "已登记" in page.inner_text(".alert-success")
    assert page.locator("#ticket-why").get_by_text("紧急").count() >= 1
    body = page.inner_text("#Home")
    assert name in body and serial in body and "form-" not in body  # the double-click guard is not a reference
    assert page.locator("tr", has_text="待复核").inner_text().split() == ["待复核", "否"]
    page.screenshot(path=os.path.join(ARTIFACTS, f"phone-intake-ticket-{app.config['DB_KIND']}.png"), full_page=True)


def test_an_engineer_claims_a_ticket_from_the_pool(app, browser, server):
    """工单池 → the ticket → 领取: the FAB action button posts with its CSRF token and the ticket is theirs."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Engineer, User
    from tests.dispatch_world import World

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "engineer"))
        mine = db.session.scalar(select(Engineer).where(Engineer.user_id == user_id))
        world = World(db.session)
        ticket = world.ticket(team=mine.team)
        world.dispatch(ticket)
        number = ticket.number
        assert ticket.assignee_id is None

    page = logged_in_page(browser, server, "engineer")
    page.locator(".navbar .dropdown-toggle", has_text="工单").click()
    page.locator(".navbar a", has_text="工单池").click()
    page.wait_for_selector(f"text={number}")
    page.locator("tr", has_text=number).locator("a[href*='/poolview/show/']").first.click()
    page.wait_for_selector("#ticket-number")
    page.locator("a, button", has_text="领取").first.click()
    page.wait_for_selector(".alert-success")
    assert f"工单 {number} 已归你处理" in page.inner_text(".alert-success")
    assert page.inner_text("#ticket-number") == number
    page.screenshot(path=os.path.join(ARTIFACTS, f"pool-claimed-{app.config['DB_KIND']}.png"), full_page=True)


def test_manager_finds_a_breached_ticket_on_the_board_and_sees_why(app, browser, server):
    from datetime import timedelta

    from app.extensions import db
    from app.services import escalate
    from app.timeutil import utcnow
    from tests.sla_world import SlaWorld

    kind = app.config["DB_KIND"]
    with app.app_context():
        world = SlaWorld(db.session)
        world.policy(response=30, resolution=4 * 60)
        ticket = world.sla_ticket(at=utcnow() - timedelta(hours=1))
        escalate.run_due(db.session, now=utcnow())
        number, team_id = ticket.number, world.team.id
    page = logged_in_page(browser, server, "manager")
    page.locator(".navbar .dropdown-toggle", has_text="工单").click()
    page.locator(".navbar a", has_text="时限预警").click()
    page.wait_for_selector("#risk-counts")
    page.goto(f"{page.url.split('?')[0]}?_flt_0_team={team_id}")
    row = page.locator(f"#risk-counts tr[data-team='{team_id}']")
    assert row.locator("[data-count=breached]").inner_text() == "1"
    page.screenshot(path=os.path.join(ARTIFACTS, f"sla-board-zh-{kind}.png"), full_page=True)
    page.get_by_role("link", name=number).click()
    page.wait_for_selector("#ticket-sla")
    assert page.locator("#ticket-sla tr[data-target=response] .label").inner_text() == "已超时"
    assert "已超时 30分钟" in page.locator("#ticket-sla tr[data-target=response] .sla-note").inner_text()
    assert page.inner_text("#ticket-escalation") == "升级第 1 级"
    assert page.locator("#ticket-timeline").get_by_text("升级至第 1 级").count() == 1
    page.screenshot(path=os.path.join(ARTIFACTS, f"sla-ticket-zh-{kind}.png"), full_page=True)


def test_manager_previews_a_template_and_the_engineer_follows_the_bell(app, browser, server):
    """配置 → 通知模板: the preview renders what the customer would read, or says what is wrong; a new
    assignment rings the engineer's bell, and opening the message opens the ticket and quiets the bell."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import NotificationTemplate
    from app.services import tickets
    from app.timeutil import utcnow
    from tests.helpers import engineer_of, new_ticket, user

    kind = app.config["DB_KIND"]
    with app.app_context():
        template_id = db.session.scalar(select(NotificationTemplate.id).filter_by(
            event="ticket_assigned", channel="sms", language="zh"))
    page = logged_in_page(browser, server, "manager")
    page.locator(".navbar .dropdown-toggle", has_text="配置").click()
    page.locator(".navbar a", has_text="通知模板").click()
    page.goto(f"{server}/notificationtemplateview/edit/{template_id}")
    page.fill("textarea[name=body]", "{{ engineer }}师傅将于 {{ deadline }} 前上门，工单 {{ number }}")
    page.click("#preview-button")
    page.wait_for_function("() => document.getElementById('preview-text').textContent.length > 0")
    assert page.inner_text("#preview-text") == "李师傅师傅将于 2026-11-25 18:00 前上门，工单 SR20261125-000123"
    page.fill("textarea[name=body]", "{{ enginer }} 工单 {{ number }}")
    page.click("#preview-button")
    page.wait_for_function("() => document.getElementById('preview-problems').textContent.length > 0")
    assert "未知的占位符：enginer" in page.inner_text("#preview-problems")
    page.screenshot(path=os.path.join(ARTIFACTS, f"notify-template-preview-{kind}.png"), full_page=True)

    with app.app_context():
        ticket = new_ticket(db.session, now=utcnow())
        tickets.assign(db.session, ticket, engineer_of(db.session), now=utcnow(), actor=user(db.session, "clerk"))
        db.session.commit()
        number = ticket.number
    page = logged_in_page(browser, server, "engineer")
    before = int(page.inner_text("#notification-count"))
    assert before >= 1
    page.click("#notification-bell a")
    page.locator("a", has_text=f"新工单 {number}").first.click()
    page.wait_for_selector("#ticket-number")
    assert page.inner_text("#ticket-number") == number
    badge = page.locator("#notification-count")
    assert (int(badge.inner_text()) if badge.count() else 0) == before - 1
    page.screenshot(path=os.path.join(ARTIFACTS, f"notify-bell-{kind}.png"), full_page=True)
