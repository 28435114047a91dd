"""报表: every figure of a small world counted by hand (tests/dashboard_world.py), the period and team filters, the
drill-downs listing exactly the tickets a figure counts, the Excel exports and who may open them."""
import io
import json
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import Category, Priority, Product, Ticket
from app.services import analytics
from app.services import analytics_charts as charts
from app.timeutil import utcnow
from tests import dashboard_world
from tests.conftest import flashes, login

DAY1, DAY2 = date(2019, 6, 11), date(2019, 6, 12)
PERIOD = "from=2019-06-11&to=2019-06-12"


@pytest.fixture(scope="module")
def world(app):
    with app.app_context():
        built = dashboard_world.build(db.session)
        db.session.remove()
    return built


def scope(world, first=DAY1, last=DAY2, team="mine"):
    team_id = world.team if team == "mine" else team
    return analytics.make_scope(first, last, tz=dashboard_world.TZ, now=utcnow(), team_id=team_id)


def ids(session, world, *names):
    return {world.tickets[n] for n in names}


def numbers(session, world, *names) -> set[str]:
    return set(session.scalars(select(Ticket.number).where(Ticket.id.in_(ids(session, world, *names)))))


def listed_numbers(client, url) -> set[str]:
    """The ticket numbers a ticket list shows (all of them: one page of 100)."""
    response = client.get(url + ("&" if "?" in url else "?") + "psize_TicketView=100&psize_OpenTicketView=100")
    assert response.status_code == 200, url
    return set(re.findall(r"SR\d{8}-\d{6}", response.get_data(as_text=True)))


def page_payload(client, query) -> dict:
    """What the page's script gathers: the page names one request per query, each answers its charts and the
    headline figures read from them."""
    response = client.get(f"/dashboard/?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    shell = json.loads(re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)
                       .group(1))
    gathered = {"charts": [], "kpis": []}
    for group in shell["groups"]:
        answer = client.get(group["url"])
        assert answer.status_code == 200 and answer.is_json, group["url"]
        assert [c["key"] for c in answer.get_json()["charts"]] == group["charts"]
        for part in ("charts", "kpis"):
            gathered[part] += answer.get_json()[part]
    order = list(charts.BUILDERS)
    gathered["charts"].sort(key=lambda c: order.index(c["key"]))
    return gathered


def by_key(payload) -> dict:
    return {c["key"]: c for c in payload["charts"]}


# ---------------------------------------------------------------- the figures

def test_volume_counts_tickets_per_local_day_channel_category_and_product(app, session, world):
    figures = analytics.figures(session, scope(world))
    assert figures.volume_day == {(DAY1, "phone"): 3, (DAY1, "email"): 1, (DAY2, "wechat"): 2}
    # t5 came in at 07:30 in Shanghai, still 06-11 in UTC: it is counted on the Shanghai day.
    t5 = session.get(Ticket, world.tickets["t5"])
    assert t5.created_at.date() == DAY1
    fault, installation = (session.scalar(select(Category.id).where(Category.code == c)) for c in ("fault", "installation"))
    assert figures.volume_category == {fault: 4, installation: 2}
    product = session.scalar(select(Product.id).order_by(Product.id))
    assert figures.volume_product == {product: 2, None: 4}


def test_period_and_team_filters_change_every_figure(app, session, world):
    everyone = analytics.figures(session, scope(world, team=None))
    assert everyone.volume_day[(DAY1, "phone")] == 4  # t7 of the other team too
    other = analytics.figures(session, scope(world, team=world.other_team))
    assert other.volume_day == {(DAY1, "phone"): 1}
    assert other.sla and not other.resolutions and not other.ratings
    first_day = analytics.figures(session, scope(world, last=DAY1))
    assert sum(first_day.volume_day.values()) == 4
    assert sum(r.resolved for r in first_day.resolutions.values()) == 1  # t1; the others were resolved on 06-12
    assert first_day.ratings == {} and first_day.low_scores == {}
    assert analytics.figures(session, scope(world, first=date(2019, 6, 13), last=date(2019, 6, 30))).volume_day == {}


def test_sla_compliance_by_team_and_priority(app, session, world):
    """Response: t1, t4, t5 met; t2 answered late, t3 never (its deadline passed). Resolution: t2 late, t3 open
    and overdue. The cancelled t6 made no promise that counts."""
    t = {n: session.get(Ticket, i) for n, i in world.tickets.items()}
    assert t["t1"].responded_at <= t["t1"].first_response_due_at and t["t2"].responded_at > t["t2"].first_response_due_at
    assert t["t2"].resolved_at > t["t2"].resolution_due_at and t["t4"].resolved_at <= t["t4"].resolution_due_at
    sla = charts._sla_rollup(analytics.figures(session, scope(world)), 0)[world.team]
    assert (sla["response"].met, sla["response"].breached, sla["response"].pending) == (3, 2, 0)
    assert (sla["resolution"].met, sla["resolution"].breached) == (3, 2)
    assert sla["response"].rate == pytest.approx(0.6)
    high, urgent = (session.scalar(select(Priority.id).where(Priority.code == c)) for c in ("high", "urgent"))
    by_priority = charts._sla_rollup(analytics.figures(session, scope(world)), 1)
    assert (by_priority[high]["response"].met, by_priority[high]["response"].breached) == (3, 1)
    assert (by_priority[urgent]["response"].met, by_priority[urgent]["response"].breached) == (0, 1)


def test_first_time_fix_and_time_to_resolve(app, session, world):
    figures = analytics.figures(session, scope(world))
    team = charts._resolutions_by(figures, 0)[world.team]
    assert (team.resolved, team.first_time, team.repeated) == (4, 3, 1)  # t4 was reopened and resolved again
    assert team.ftf_rate == pytest.approx(0.75)
    high, urgent = (session.scalar(select(Priority.id).where(Priority.code == c)) for c in ("high", "urgent"))
    by_priority = charts._resolutions_by(figures, 1)
    assert world.hours == pytest.approx({"t1": 2.5, "t2": 30.0, "t4": 2.75, "t5": 1.5})
    assert by_priority[high].mean_hours == pytest.approx((2.5 + 2.75 + 1.5) / 3)
    assert by_priority[urgent].mean_hours == pytest.approx(30.0)
    assert analytics.median_from_bins(figures.resolve_bins[high]) == pytest.approx(2.5, abs=0.1)


def test_ratings_and_low_score_causes(app, session, world):
    figures = analytics.figures(session, scope(world))
    assert figures.ratings == {5: 1, 2: 1, 4: 1}
    assert charts.csat_summary(figures) == {"ratings": 3, "average": 3.67, "satisfied": 66.7}
    assert figures.low_scores == {"attitude": 1}


def test_backlog_engineer_load_and_utilisation(app, session, world):
    figures = analytics.figures(session, scope(world))
    high = session.scalar(select(Priority.id).where(Priority.code == "high"))
    assert figures.backlog == {(4, high): 1}  # t3, open since 2019: over 30 days
    people = {e.engineer_id: e for e in figures.engineers}
    e1, e2 = people[world.e1], people[world.e2]
    assert (e1.open_tickets, e2.open_tickets) == (0, 1)
    # 甲: t1 2 h + t2 3 h + t4 1 h and 0.5 h after the reopening, against two 9-hour shifts.
    assert e1.worked_seconds / 3600 == pytest.approx(6.5) and e1.tickets_worked == 3
    assert (e1.planned_seconds / 3600, e1.planned_from) == (pytest.approx(18), "shifts")
    assert e1.utilisation == pytest.approx(6.5 / 18)
    # 乙 has no shifts: two office days of 9 hours; 1 h on t5.
    assert (e2.worked_seconds / 3600, e2.planned_seconds / 3600, e2.planned_from) == \
        (pytest.approx(1), pytest.approx(18), "calendar")


# ---------------------------------------------------------------- the page, the drill-downs, the exports

def test_every_figure_on_the_page_opens_exactly_its_tickets(app, session, world):
    client = login(app.test_client(), "manager")
    payload = page_payload(client, f"{PERIOD}&team={world.team}")
    found = by_key(payload)
    # 电话 on 06-11: t1, t2, t3 — the example a manager would click.
    phone = next(s for s in found["volume_day"]["series"] if s["name"] == "电话")
    assert phone["data"][0] == 3
    assert listed_numbers(client, phone["links"][0]) == numbers(session, world, "t1", "t2", "t3")

    checked = 0
    for chart in payload["charts"]:
        table = chart["table"]["rows"]
        for s_index, series in enumerate(chart["series"]):
            for i, link in enumerate(series["links"]):
                if chart["key"] in ("sla_team", "sla_priority"):
                    expected = chart["breached"][["response", "resolution"][s_index]][i]  # the bar opens the breaches
                elif chart["key"] == "mttr":
                    expected = table[i][1]  # resolved tickets behind the mean and the median
                elif chart["key"] == "engineers" and s_index == 1:
                    expected = next(r[3] for r in table if r[0] == chart["categories"][i])  # tickets worked on
                else:
                    expected = series["data"][i]
                if not expected:
                    continue
                assert len(listed_numbers(client, link)) == expected, (chart["key"], series["name"], i, link)
                checked += 1
    assert checked >= 20

    # The tickets themselves, for the figures a manager acts on.
    sla = found["sla_team"]
    assert sla["breached"]["response"] == [2]
    assert listed_numbers(client, sla["series"][0]["links"][0]) == numbers(session, world, "t2", "t3")
    ftf = found["ftf"]
    assert listed_numbers(client, ftf["series"][1]["links"][0]) == numbers(session, world, "t4")
    csat = found["csat"]
    assert listed_numbers(client, csat["series"][0]["links"][1]) == numbers(session, world, "t2")  # 2 stars
    low = found["low_scores"]
    assert low["table"]["rows"][0][1] == 1
    assert listed_numbers(client, low["series"][0]["links"][0]) == numbers(session, world, "t2")
    backlog = found["backlog"]
    assert listed_numbers(client, backlog["series"][0]["links"][4]) == numbers(session, world, "t3")
    engineers = found["engineers"]
    e1 = engineers["categories"].index("报表甲")
    assert listed_numbers(client, engineers["series"][1]["links"][e1]) == numbers(session, world, "t1", "t2", "t4")


def test_the_kpis_and_all_teams(app, session, world):
    client = login(app.test_client(), "manager")
    mine = {k["key"]: k for k in _kpis(client, f"{PERIOD}&team={world.team}")}
    assert (mine["created"]["value"], mine["response"]["value"], mine["ftf"]["value"]) == (6, 60.0, 75.0)
    assert mine["csat"]["value"] == 3.67
    assert listed_numbers(client, mine["created"]["link"]) == numbers(
        session, world, "t1", "t2", "t3", "t4", "t5", "t6")
    everyone = page_payload(client, PERIOD)
    phone = next(s for s in by_key(everyone)["volume_day"]["series"] if s["name"] == "电话")
    assert phone["data"][0] == 4
    assert listed_numbers(client, phone["links"][0]) == numbers(session, world, "t1", "t2", "t3", "t7")


def _kpis(client, query):
    """The headline figures as the page fills them in: in the places the page keeps for them, in that order."""
    html = client.get(f"/dashboard/?{query}").get_data(as_text=True)
    places = re.findall(r'data-kpi="(\w+)"', html)
    figures = {k["key"]: k for k in page_payload(client, query)["kpis"]}
    assert set(figures) == set(places), (places, figures)
    return [figures[key] for key in places]


def test_a_wrong_period_falls_back_and_a_long_one_is_capped(app, world):
    client = login(app.test_client(), "manager")
    response = client.get("/dashboard/?from=11/03/2026&to=yesterday")
    assert response.status_code == 200 and "2026-11-03" in response.get_data(as_text=True)  # how to write a date
    response = client.get("/dashboard/?from=2010-01-01&to=2019-06-12")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "2017-06-11 – 2019-06-12" in html  # 732 days up to the end
    assert "732" in flashes(html)
    # The page's requests for its figures correct the period the same way, silently: the page said it once.
    answer = client.get("/dashboard/data/volume_day?from=2010-01-01&to=2019-06-12")
    rows = answer.get_json()["charts"][0]["table"]["rows"]
    assert answer.status_code == 200 and (rows[0][0], rows[-1][0], len(rows)) == ("2017-06-11", "2019-06-12", 732)
    assert not flashes(client.get("/dashboard/?from=2019-06-11&to=2019-06-12").get_data(as_text=True))
    answer = client.get("/dashboard/data/nothing?from=2019-06-11&to=2019-06-12")
    assert answer.status_code == 404 and answer.get_json()["message"]


def test_the_page_loads_nothing_from_the_internet(app, world):
    client = login(app.test_client(), "manager")
    html = client.get(f"/dashboard/?{PERIOD}").get_data(as_text=True)
    assert not re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', html, re.I)
    assert "/static/vendor/echarts/echarts.min.js" in html
    assert client.get("/static/vendor/echarts/echarts.min.js").status_code == 200
    assert client.get("/static/dashboard/dashboard.js").status_code == 200
    for chart in ("volume_day", "backlog", "sla_team", "sla_priority", "ftf", "mttr", "csat", "low_scores",
                  "engineers"):
        assert f'id="chart-{chart}"' in html


def test_each_chart_exports_its_figures_to_excel_in_the_readers_language(app, session, world):
    client = login(app.test_client(), "manager")
    response = client.get(f"/dashboard/export/volume_day?{PERIOD}&team={world.team}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('dashboard-volume_day-20190611-20190612.xlsx"')
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = next(r for r in rows if r and "电话" in r)
    day1 = next(r for r in rows if r and r[0] == "2019-06-11")
    assert day1[header.index("电话")] == 3 and day1[-1] == 4
    assert any(r and r[1] == "报表一组" for r in rows)  # the team the figures are for

    client.get("/lang/en")
    sheet = load_workbook(io.BytesIO(client.get(f"/dashboard/export/sla_team?{PERIOD}&team={world.team}").data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert ["Team", "Dashboard team 1"] in [r[:2] for r in rows]  # the team the figures are for, in English
    header = next(r for r in rows if r and "First response: compliance (%)" in r)
    assert header[0] == "Team"
    mine = next(r for r in rows if r and r[0] == "Dashboard team 1")
    assert mine[header.index("First response: breached")] == 2
    assert mine[header.index("First response: compliance (%)")] == 60.0

    page = client.get(f"/dashboard/?{PERIOD}&team={world.team}").get_data(as_text=True)
    assert "Tickets created per day, by channel" in page and "SLA compliance by team" in page

    book = load_workbook(io.BytesIO(client.get(f"/dashboard/export/all?{PERIOD}").data))
    assert len(book.sheetnames) == len(charts.BUILDERS)
    assert client.get(f"/dashboard/export/nothing?{PERIOD}").status_code == 404


@pytest.mark.parametrize("username, allowed", [("admin", True), ("manager", True), ("clerk", False),
                                               ("engineer", False), ("warehouse", False)])
def test_managers_and_admins_see_the_dashboards(app, username, allowed):
    client = login(app.test_client(), username)
    for url in ("/dashboard/", f"/dashboard/data/volume_day?{PERIOD}", f"/dashboard/export/volume_day?{PERIOD}"):
        assert client.get(url).status_code == (200 if allowed else 403), (username, url)
    home = client.get("/").get_data(as_text=True)
    assert ("/dashboard/" in home) == allowed  # the 分析 menu


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_upgrade_derives_the_same_work_stretches_from_the_timeline(app, session, world):
    """Migration 0012 rebuilds the history of hands-on work from the status events; on the demo operation and
    this world it finds exactly the stretches the application wrote as the statuses changed."""
    import importlib.util
    import os

    from app.models.analytics import WorkStretch

    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations", "versions", "0012_dashboards.py")
    spec = importlib.util.spec_from_file_location("migration_0012", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    columns = (WorkStretch.ticket_id, WorkStretch.started_at, WorkStretch.ended_at, WorkStretch.seconds)
    kept = sorted(session.execute(select(*columns)).all())
    assert len(kept) >= 6
    session.execute(WorkStretch.__table__.delete())
    migration._stretches_from_timeline(session.connection())
    try:
        assert sorted(session.execute(select(*columns)).all()) == kept
    finally:
        session.rollback()


@pytest.mark.parametrize("utc, local_day", [
    ("2019-03-30 22:59:00", "2019-03-30"),  # 23:59 in Berlin, winter time (UTC+1)
    ("2019-03-30 23:00:00", "2019-03-31"),  # midnight
    ("2019-03-31 21:59:00", "2019-03-31"),  # 23:59, summer time since 02:00 (UTC+2)
    ("2019-03-31 22:00:00", "2019-04-01"),
])
def test_local_days_follow_a_daylight_saving_change(app, session, utc, local_day):
    """Shanghai has one offset; a company in a zone with summer time gets each row's own offset."""
    from datetime import datetime

    from sqlalchemy import DateTime, literal

    from app.services import sqltime

    start, end = datetime(2019, 3, 24, 23), datetime(2019, 4, 5, 22)
    assert len(sqltime.offsets("Europe/Berlin", start, end)) == 2
    assert len(sqltime.offsets("Asia/Shanghai", start, end)) == 1
    day = sqltime.local_day(session, literal(datetime.fromisoformat(utc), DateTime), "Europe/Berlin", start, end)
    assert sqltime.as_date(session.scalar(select(day))) == date.fromisoformat(local_day)
