"""In a real browser: a customer describing a problem is offered the article that answers it (and what they
typed stays), and a clerk writes a resolved ticket's fix up as an article that a manager publishes."""
import os

import pytest
from sqlalchemy import select

from app.models import KbArticle
from tests.conftest import ARTIFACTS, sign_in
from tests.test_knowledge import resolved, tag

pytestmark = pytest.mark.browser


def test_a_customer_typing_a_problem_is_offered_the_article(app, browser, server):
    app.extensions["portal_limits"].reset()
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    page = context.new_page()
    page.goto(f"{server}/portal/submit")
    assert page.is_hidden("#help-suggestions")
    page.fill("textarea[name=description]", "燃气热水器打不着火，一直显示E1")
    page.wait_for_selector("#help-suggestions:not([hidden])")
    assert page.locator("#help-list a").count() == 1
    link = page.locator("#help-list a").first
    assert link.inner_text() == "燃气热水器无法点火（E1）怎么办"
    assert link.get_attribute("target") == "_blank"
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, f"kb-portal-suggestion-{app.config['DB_KIND']}.png"),
                    full_page=True)
    with context.expect_page() as opened:
        link.click()
    article = opened.value
    article.wait_for_load_state()
    assert "更换热水器电池" in article.inner_text("#article-body")
    # The request being written is still there.
    assert page.input_value("textarea[name=description]") == "燃气热水器打不着火，一直显示E1"
    context.close()


def login(browser, server, username):
    page = browser.new_context(locale="zh-CN").new_page()
    sign_in(page, server, username)
    return page


def test_a_clerk_writes_a_fix_up_and_a_manager_publishes_it(app, session, browser, server):
    code = tag()
    ticket = resolved(session, "消毒柜不加热", f"消毒柜{code} 不加热 指示灯不亮", note="更换温控器后恢复正常。")
    clerk = login(browser, server, "clerk")
    clerk.goto(f"{server}/ticketview/show/{ticket.id}")
    clerk.click("#ticket-write-up")
    clerk.wait_for_selector("textarea[name=body]")
    assert "更换温控器后恢复正常。" in clerk.input_value("textarea[name=body]")
    clerk.fill("input[name=title]", f"消毒柜{code}不加热的处理")
    clerk.click("form [type=submit]")
    clerk.wait_for_selector(".alert")
    article = session.scalar(select(KbArticle).where(KbArticle.source_ticket_id == ticket.id))
    session.refresh(article)
    assert article.title == f"消毒柜{code}不加热的处理" and article.state == "draft"

    manager = login(browser, server, "manager")
    manager.goto(f"{server}/kbarticleview/show/{article.id}")
    manager.click("#kb-publish")
    manager.wait_for_selector("#kb-unpublish")
    assert manager.inner_text("#kb-state") == "已发布"
    os.makedirs(ARTIFACTS, exist_ok=True)
    manager.screenshot(path=os.path.join(ARTIFACTS, f"kb-article-{app.config['DB_KIND']}.png"), full_page=True)

    new = resolved(session, "消毒柜不热", f"消毒柜{code} 不加热")
    clerk.goto(f"{server}/ticketview/show/{new.id}")
    panel = clerk.inner_text("#ticket-suggestions")
    assert ticket.number in panel and f"消毒柜{code}不加热的处理" in panel
