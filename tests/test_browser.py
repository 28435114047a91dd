"""A clerk's first minutes in a real browser: log in, switch language, open the list and a ticket."""
import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import IN_CI, PASSWORDS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "test-artifacts")

pytestmark = pytest.mark.browser


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail("chromium is missing in CI (scripts/ensure-chromium.sh installs it)")
        pytest.skip("Debian's chromium is not installed (run scripts/ensure-chromium.sh as root)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def server(app):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_clerk_logs_in_switches_language_and_opens_a_ticket(app, browser, server):
    os.makedirs(ARTIFACTS, exist_ok=True)
    kind = app.config["DB_KIND"]
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page.goto(f"{server}/login/")
    page.fill("#username", "clerk")
    page.fill("#password", PASSWORDS["clerk"])
    page.click("[type=submit]")
    page.wait_for_selector("#open-counts")
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
