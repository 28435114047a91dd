"""A service manager's dashboards in a real browser: the charts draw (from app/static, no console errors), a
shorter period changes them, and clicking a bar opens the ticket list of exactly those tickets. Screenshots go
to test-artifacts/."""
import os

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Ticket
from tests import dashboard_world
from tests.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser

CHARTS = ("volume_day", "volume_category", "volume_product", "backlog", "sla_team", "sla_priority", "ftf", "mttr",
          "csat", "low_scores", "engineers")


@pytest.fixture
def world(app):
    with app.app_context():
        built = dashboard_world.build(db.session)
        db.session.remove()
    return built


def test_a_manager_reads_the_dashboards_and_clicks_through_to_the_tickets(app, session, browser, server, world):
    kind = app.config["DB_KIND"]
    os.makedirs(ARTIFACTS, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    problems, requests = [], []
    # Script errors, and anything the page asked for that failed (the browser's own favicon request aside: its
    # console line "Failed to load resource" names no address, the response does).
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
    page.on("request", lambda request: requests.append(request.url))

    sign_in(page, server, "manager")
    page.goto(f"{server}/dashboard/?from=2019-06-11&to=2019-06-12&team={world.team}")
    for chart in CHARTS:
        page.wait_for_selector(f"#chart-{chart}[data-rendered='1'] canvas")
    page.wait_for_selector(".dash-kpi-value[aria-busy]", state="detached")  # every headline figure filled in
    assert page.inner_text("[data-kpi='created'] .dash-kpi-value").strip() == "6"
    assert page.inner_text("[data-kpi='created'] .dash-kpi-value a") == "6"  # and it opens its tickets
    page.screenshot(path=os.path.join(ARTIFACTS, f"dashboard-{kind}.png"), full_page=True)
    assert not problems, problems
    assert all(url.startswith(server) for url in requests), [u for u in requests if not u.startswith(server)]

    # Only 06-12: t4 and t5 came in that day, both by WeChat.
    page.fill("#dash-from", "2019-06-12")
    page.click("#dash-apply")
    page.wait_for_url("**from=2019-06-12**")
    page.wait_for_selector("#chart-volume_day[data-rendered='1'] canvas")
    page.wait_for_function("() => document.querySelector(\"[data-kpi='created'] .dash-kpi-value\").textContent.trim() === '2'")
    assert page.inner_text("#dash-period").startswith("2019-06-12")
    page.screenshot(path=os.path.join(ARTIFACTS, f"dashboard-one-day-{kind}.png"), full_page=True)

    # The WeChat bar of 06-12, where ECharts drew it.
    series = page.evaluate("() => window.dashboardCharts.volume_day.series.map(s => s.name)")
    wechat = series.index("微信")
    x, y = page.evaluate(f"""() => echarts.getInstanceByDom(document.getElementById('chart-volume_day'))
        .convertToPixel({{seriesIndex: {wechat}}}, [0, 1])""")
    box = page.locator("#chart-volume_day canvas").first.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url("**/ticketview/list/**")
    listed = page.inner_text("body")
    numbers = session.scalars(select(Ticket.number).where(Ticket.id.in_(
        [world.tickets[n] for n in ("t1", "t2", "t3", "t4", "t5", "t6")]))).all()
    shown = {n for n in numbers if n in listed}
    expected = set(session.scalars(select(Ticket.number).where(Ticket.id.in_([world.tickets["t4"], world.tickets["t5"]]))))
    assert shown == expected
    page.screenshot(path=os.path.join(ARTIFACTS, f"dashboard-drill-down-{kind}.png"), full_page=True)
    assert not problems, problems
    context.close()


def test_a_chart_whose_figures_fail_to_come_offers_to_try_again(app, browser, server, world):
    """The other charts are drawn; the one whose request failed says so, and its button asks again."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, server, "manager")
    broken = {"on": True}

    def ratings(route):
        if broken["on"]:
            route.fulfill(status=503, body="busy")
        else:
            route.continue_()

    page.route("**/dashboard/data/ratings?**", ratings)
    page.goto(f"{server}/dashboard/?from=2019-06-11&to=2019-06-12&team={world.team}")
    page.wait_for_selector("#chart-csat .dash-failed button")
    for chart in CHARTS:
        if chart != "csat":
            page.wait_for_selector(f"#chart-{chart}[data-rendered='1'] canvas")
    assert "数据加载失败" in page.inner_text("#chart-csat") and page.inner_text("#chart-csat button") == "重试"
    assert page.inner_text("[data-kpi='csat'] .dash-kpi-value").strip() == "…"
    broken["on"] = False
    page.click("#chart-csat .dash-failed button")
    page.wait_for_selector("#chart-csat[data-rendered='1'] canvas")
    assert page.inner_text("[data-kpi='csat'] .dash-kpi-value").startswith("3.67")
    assert not errors, errors
    context.close()


def test_names_in_a_charts_tooltip_are_shown_as_text(app, session, browser, server, world):
    """ECharts writes its tooltip as HTML, and the names in it are the company's own text (a team, a product,
    an engineer): markup in one is shown, not made into elements."""
    from app.models import Team

    team = session.get(Team, world.team)
    plain = team.name_zh
    team.name_zh = '<b id="xss-team">报表一组</b>'
    session.commit()
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page = context.new_page()
        sign_in(page, server, "manager")
        page.goto(f"{server}/dashboard/?from=2019-06-11&to=2019-06-12&team={world.team}")
        page.wait_for_selector("#chart-sla_team[data-rendered='1'] canvas")
        page.locator("#chart-sla_team").scroll_into_view_if_needed()
        x, y = page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('chart-sla_team'))
            .convertToPixel({seriesIndex: 0}, [0, 30])""")
        box = page.locator("#chart-sla_team canvas").first.bounding_box()
        page.mouse.move(box["x"] + x, box["y"] + y, steps=5)
        page.wait_for_function("() => document.getElementById('chart-sla_team').innerText.includes('报表一组')")
        assert '<b id="xss-team">报表一组</b>' in page.inner_text("#chart-sla_team")
        assert page.locator("#xss-team").count() == 0
        context.close()
    finally:
        team = session.get(Team, world.team)
        team.name_zh = plain
        session.commit()
