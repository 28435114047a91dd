"""A customer on a phone, in a real browser: submit a request with a photo, find it again, say the fix did
not hold, then confirm and rate — in Chinese and in English. Screenshots go to test-artifacts/."""
import os

import pytest
from sqlalchemy import select

from app.models import Ticket
from app.services import status as st
from app.services import tickets
from tests.helpers import engineer_of, user
from tests.portal_world import png, survey_of, work_and_resolve
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}  # a common phone, portrait
WORDS = {
    "zh": {"locale": "zh-CN", "name_required": "请填写您的姓名。", "received": "已受理，正在安排",
           "reopened": "已重新打开，正在重新处理", "thanks": "感谢您的确认，服务单已完成。", "done": "已完成"},
    "en": {"locale": "en-US", "name_required": "Please enter your name.", "received": "Received, arranging service",
           "reopened": "Reopened, being handled again", "thanks": "Thank you for confirming. Your request is completed.",
           "done": "Completed"},
}


def phone_page(browser, lang):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
                                  locale=WORDS[lang]["locale"])
    return context.new_page()


def shot(page, name, lang, app):
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, f"portal-{name}-{lang}-{app.config['DB_KIND']}.png"), full_page=True)


def resolve(session, number):
    """The engineer's side, done by the services the console calls."""
    session.expire_all()
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    if ticket.assignee is None:
        tickets.assign(session, ticket, engineer_of(session), now=ticket.created_at, actor=user(session, "clerk"))
    return work_and_resolve(session, ticket, now=ticket.created_at)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_customer_on_a_phone_submits_tracks_reopens_and_rates(app, session, browser, server, lang, tmp_path):
    app.extensions["portal_limits"].reset()
    words = WORDS[lang]
    photo = tmp_path / "leak.png"
    photo.write_bytes(png(64, 48))
    phone = "1376666000" + str(len(lang))

    page = phone_page(browser, lang)
    page.goto(f"{server}/portal/")
    page.click("#go-submit")
    page.wait_for_selector("#submit-form")
    # Sent empty: the browser says what is missing, in the customer's language, and nothing is sent.
    page.click("#submit-button")
    assert page.inner_text("#name-error") == words["name_required"]
    assert page.url.endswith("/portal/submit")
    shot(page, "submit-errors", lang, app)

    page.fill("#name", "Li Lei" if lang == "en" else "李雷")
    page.fill("#phone", phone)
    page.fill("#description", "The water heater leaks at the bottom" if lang == "en" else "热水器底部漏水，地上都是水")
    page.set_input_files("#photos", str(photo))
    page.click("#submit-button")
    page.wait_for_selector("#ticket-number")
    number = page.inner_text("#ticket-number")
    assert number.startswith("SR") and page.inner_text("#ticket-status") == words["received"]
    assert number in page.inner_text(".notice-success")
    shot(page, "submitted", lang, app)

    # Later, on another phone: number and phone number find it.
    page = phone_page(browser, lang)
    page.goto(f"{server}/portal/track")
    page.fill("#number", number.lower())
    page.fill("#contact", phone)
    page.click("#track-button")
    page.wait_for_selector("#ticket-number")
    assert page.inner_text("#ticket-number") == number
    ticket_url = page.url

    # Fixed — but not really: the customer reopens with a reason.
    resolve(session, number)
    page.goto(ticket_url)
    page.wait_for_selector("#confirm-card")
    shot(page, "resolved", lang, app)
    page.click("#reopen-card summary")
    page.fill("#reason", "Still leaking" if lang == "en" else "还是漏水")
    page.click("#reopen-button")
    page.wait_for_selector(".notice-success")
    assert page.inner_text("#ticket-status") == words["reopened"]
    shot(page, "reopened", lang, app)

    # Fixed again: four stars and a word of thanks.
    resolve(session, number)
    page.goto(ticket_url)
    page.wait_for_selector("#confirm-card")
    page.click("label[for=score-4]")
    page.fill("#comment", "Quick and tidy" if lang == "en" else "师傅很专业")
    page.click("#confirm-button")
    page.wait_for_selector("#rated-card")
    assert page.inner_text(".notice-success") == words["thanks"]
    assert page.inner_text("#ticket-status") == words["done"]
    assert "★★★★☆" in page.inner_text("#rated-card")
    shot(page, "rated", lang, app)

    session.expire_all()
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    assert ticket.status == st.CLOSED and ticket.resolution_round == 2
    assert survey_of(session, ticket).score == 4


def test_the_phone_refuses_a_photo_over_the_limit_before_uploading_it(app, session, browser, server, tmp_path):
    """The manager's attachment limit is below the portal's: the browser applies it (no long upload ending
    in a refusal), naming the photo in the customer's language."""
    from app.models import IntakeSettings

    app.extensions["portal_limits"].reset()
    big = tmp_path / "整机.png"
    big.write_bytes(png(8, 8) + b"\0" * 3000)
    session.get(IntakeSettings, 1).max_attachment_kb = 2
    session.commit()
    try:
        page = phone_page(browser, "zh")
        requests = []
        page.on("request", lambda r: requests.append(r.method) if r.method == "POST" else None)
        page.goto(f"{server}/portal/submit")
        page.fill("#name", "李雷")
        page.fill("#phone", "13766660099")
        page.fill("#description", "洗衣机脱水时响声很大")
        page.set_input_files("#photos", str(big))
        page.click("#submit-button")
        assert page.inner_text("#photos-error") == "整机.png 超过 2 KB。"
        assert page.url.endswith("/portal/submit") and requests == []
    finally:
        session.get(IntakeSettings, 1).max_attachment_kb = 10240
        session.commit()
