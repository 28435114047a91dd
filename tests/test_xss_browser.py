"""What customers and e-mails type is shown as text, never run: markup in a ticket's subject and
description, a customer's name, an e-mail's subject and an attachment's file name, opened in a real browser
on every page that shows them — the clerk's list and ticket page, the customer list, the engineer's phone,
the bell and the customer's own portal page. The browser fixture also fails the test if the
Content-Security-Policy had to refuse anything (a payload that got into the page as markup would be that)."""
import pytest
from sqlalchemy import select

from app.models import Customer, Notification, Ticket
from app.services import intake, tickets
from app.services.intake import Attachment, IntakeRequest
from app.timeutil import utcnow
from tests.helpers import engineer_of, user
from tests.portal_world import link, png
from tests.test_browser import logged_in_page

pytestmark = pytest.mark.browser

IMG = '<img src=x onerror="document.title=\'XSS\'">'
SCRIPT = '<script>document.title="XSS"</script>'
SVG = '"><svg onload="document.title=\'XSS\'">'


@pytest.fixture
def hostile(session):
    customer = Customer(name=f"王{SVG}", phone="13800007777")
    ticket, _ = tickets.create_ticket(session, channel="phone", subject=f"漏水{IMG}", description=f"描述{SCRIPT}",
                                      now=utcnow(), actor=user(session, "clerk"), customer=customer,
                                      contact_name=f"王{SVG}", contact_phone="13800007777")
    tickets.assign(session, ticket, engineer_of(session), now=utcnow(), actor=user(session, "clerk"))
    intake.add_reply(session, ticket, channel="web", message_key=None, text=f"补充{SCRIPT}", sender=None, now=utcnow(),
                     attachments=[Attachment(filename=f"{SVG}.png", content=png(), content_type="image/png")])
    mailed = intake.intake(session, IntakeRequest(channel="email", subject=f"邮件主题{IMG}", description=f"正文{SCRIPT}",
                                                  email="xss@example.com", customer_name=f"李{SVG}"),
                           now=utcnow()).ticket
    session.commit()
    return ticket, mailed


def inert(page, *shown):
    """Nothing ran, no element was made from the payloads, and their text is on the page as typed."""
    assert page.title() != "XSS"
    assert page.locator("img[src='x'], svg[onload]").count() == 0
    assert page.evaluate("() => [...document.scripts].some(s => s.textContent.includes('document.title=\"XSS\"'))") \
        is False
    text = page.inner_text("body")
    for words in shown:
        assert words in text, words


def test_markup_from_customers_and_mail_is_shown_as_text_on_every_page(app, session, browser, server, hostile):
    ticket, mailed = hostile
    clerk = logged_in_page(browser, server, "clerk")
    clerk.goto(f"{server}/ticketview/list/?_flt_0_contact_phone=13800007777")
    inert(clerk, f"漏水{IMG}")
    clerk.goto(f"{server}/ticketview/show/{ticket.id}")
    clerk.wait_for_selector("#ticket-timeline")
    inert(clerk, f"漏水{IMG}", f"描述{SCRIPT}", f"补充{SCRIPT}", f"{SVG}.png")
    clerk.goto(f"{server}/ticketview/show/{mailed.id}")
    clerk.wait_for_selector("#ticket-timeline")
    inert(clerk, f"邮件主题{IMG}", f"正文{SCRIPT}")
    clerk.goto(f"{server}/customerview/list/?_flt_0_phone=13800007777")
    inert(clerk, f"王{SVG}")

    engineer = logged_in_page(browser, server, "engineer")
    engineer.goto(f"{server}/workspace/")
    inert(engineer, f"漏水{IMG}")
    engineer.goto(f"{server}/workspace/ticket/{ticket.id}")
    inert(engineer, f"漏水{IMG}")
    if session.scalar(select(Notification.id).where(Notification.ticket_id == ticket.id,
                                                    Notification.channel == "inapp")):
        engineer.goto(f"{server}/inboxview/list/")
        inert(engineer, ticket.number)

    customer = browser.new_page()
    customer.goto(server + link(app, session.get(Ticket, ticket.id)))
    customer.wait_for_selector("#ticket-number")
    inert(customer, f"漏水{IMG}", f"补充{SCRIPT}")


def test_an_attachment_is_always_downloaded_never_shown(app, session, login_as, hostile):
    ticket, _ = hostile
    from app.models import TicketAttachment

    attachment = session.scalar(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id))
    answer = login_as("clerk").get(f"/ticketview/attachment/{ticket.id}/{attachment.id}")
    assert answer.status_code == 200 and answer.data == png()
    assert answer.mimetype == "application/octet-stream" and answer.headers["X-Content-Type-Options"] == "nosniff"
    disposition = answer.headers["Content-Disposition"]
    # The name's own quotes cannot close the header's: the plain name is one quoted string, the rest encoded.
    assert disposition.startswith('attachment; filename="') and disposition.count('"') == 2
