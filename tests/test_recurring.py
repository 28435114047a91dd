"""Recurring problems: a model's tickets that describe the same fault are grouped by the words they share,
ranked, compared with the period before, and put under a problem record."""
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.models import Product, ProductLine, Ticket
from app.models.problem import Problem, ProblemTicket
from app.services import problems, recurring, tickets
from app.services import status as st
from app.timeutil import to_local, utcnow
from tests.conftest import flashes
from tests.helpers import user
from tests.portal_world import text_of

# A period of this test module's own, far from the demo's and other tests' tickets.
START = datetime(2031, 3, 1)
END = datetime(2031, 3, 31)
LEAKS = ["热水器底部漏水，地上一滩水", "底部一直漏水，滴水不停", "机器底部漏水，接口处滴水", "早上发现底部漏水",
         "底部漏水很严重，下面全是水"]
IGNITION = ["打不着火，显示E1故障", "点火时咔咔响，打不着火", "热水器打不着火了，E1", "冬天打不着火"]
OTHERS = ["遥控器找不到了，想买一个", "想咨询一下保修期多久"]


def world(session, *, before_leaks=2):
    line = session.scalar(select(ProductLine).limit(1))
    product = Product(model=f"RQ-{uuid.uuid4().hex[:6]}", name_zh="燃气热水器", name_en="Gas water heater",
                      product_line=line)
    session.add(product)
    session.commit()
    made = {"leak": [], "ignition": [], "other": [], "before": []}
    clerk = user(session, "clerk")

    def report(kind, text, at):
        ticket, _ = tickets.create_ticket(session, channel="phone", subject=f"燃气热水器 {text[:10]}",
                                          description=f"燃气热水器 {text}", now=at, actor=clerk, product=product)
        made[kind].append(ticket)

    for i, text in enumerate(LEAKS):
        report("leak", text, START + timedelta(days=2 * i, hours=3))
    for i, text in enumerate(IGNITION):
        report("ignition", text, START + timedelta(days=3 * i + 1, hours=5))
    for i, text in enumerate(OTHERS):
        report("other", text, START + timedelta(days=5 + i))
    for i in range(before_leaks):
        report("before", LEAKS[i], START - timedelta(days=10 + i))
    report("before", LEAKS[0], END + timedelta(days=2))  # after the period: not counted
    session.commit()
    return product, made


def groups_of(session, product):
    return recurring.find(session, start=START, end=END, product_id=product.id).clusters


def test_a_models_tickets_group_by_the_fault_they_describe(session):
    product, made = world(session)
    leak, ignition = groups_of(session, product)
    assert sorted(leak.ticket_ids) == sorted(t.id for t in made["leak"])
    assert sorted(ignition.ticket_ids) == sorted(t.id for t in made["ignition"])
    assert {"底部", "漏水"} <= set(leak.words) and "打不着" in ignition.words
    # A word on every one of the model's tickets tells the groups nothing.
    assert not {"燃气", "热水器"} & set(leak.words + ignition.words)
    assert leak.size == 5 and round(leak.share, 3) == round(5 / 11, 3)
    # Compared with the 30 days before: two leaks then, no ignition failures.
    assert leak.previous == 2 and leak.growth == 2.5
    assert ignition.previous == 0 and ignition.growth is None
    assert leak.first_at == START + timedelta(hours=3) and leak.last_at == START + timedelta(days=8, hours=3)


def test_groups_need_enough_tickets_and_stay_inside_the_period(session):
    product, made = world(session)
    assert [c.size for c in recurring.find(session, start=START, end=END, product_id=product.id,
                                           min_size=5).clusters] == [5]
    only_first_week = recurring.find(session, start=START, end=START + timedelta(days=7), product_id=product.id)
    assert [c.size for c in only_first_week.clusters] == [4]  # leaks of days 0, 2, 4, 6
    # Cancelled tickets are no evidence.
    for ticket in made["leak"][:3]:
        tickets.transition(session, ticket, st.CANCELLED, now=END, actor=user(session, "clerk"), reason="误报")
    session.commit()
    assert [c.size for c in groups_of(session, product)] == [4]


def test_a_manager_opens_a_problem_from_a_group_and_links_another(session, login_as):
    product, made = world(session)
    manager = login_as("manager")
    page = manager.get("/recurring/", query_string={"start": "2031-03-01", "end": "2031-03-30",
                                                   "product": product.id}).get_data(as_text=True)
    table = page[page.index('id="recurring-groups"'):]
    rows = table.split("data-group=")[1:]
    assert len(rows) == 2 and ">5</a>" in rows[0] and ">4</a>" in rows[1]
    assert "新出现" in text_of(rows[1]) and "新出现" not in text_of(rows[0])

    leak = groups_of(session, product)[0]
    detail = manager.get("/recurring/group", query_string={
        "start": "2031-03-01", "end": "2031-03-30", "product": product.id, "words": leak.key}).get_data(as_text=True)
    listed = detail[detail.index('id="group-tickets"'):].count("data-ticket=")
    assert listed == leak.size == 5
    assert all(t.number in detail for t in made["leak"])

    response = manager.post("/recurring/problem", data={
        "start": "2031-03-01", "end": "2031-03-30", "product": product.id, "words": leak.key})
    assert response.status_code == 302
    problem = session.scalar(select(Problem).where(Problem.product_id == product.id))
    assert problem.keywords == leak.key and problem.state == problems.OPEN
    assert problem.title.startswith(product.model)
    linked = set(session.scalars(select(ProblemTicket.ticket_id).where(ProblemTicket.problem_id == problem.id)))
    assert linked == {t.id for t in made["leak"]}
    page = manager.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert page.count("data-ticket=") == 5

    # The ticket page says which problem it is part of.
    ticket_page = login_as("clerk").get(f"/ticketview/show/{made['leak'][0].id}").get_data(as_text=True)
    assert f"问题单 {problem.reference}" in text_of(ticket_page)

    # The list now shows the group under its problem; opening a second problem for it takes no ticket away.
    page = manager.get("/recurring/", query_string={"start": "2031-03-01", "end": "2031-03-30",
                                                   "product": product.id}).get_data(as_text=True)
    assert f"{problem.reference}</a> (5)" in page
    ignition = groups_of(session, product)[1]
    page = manager.post("/recurring/link", data={"start": "2031-03-01", "end": "2031-03-30", "product": product.id,
                                                 "words": ignition.key, "problem": problem.id},
                        follow_redirects=True).get_data(as_text=True)
    assert "4 张工单已关联到" in flashes(page)
    assert problems.linked_count(session, problem.id) == 9
    # Opening a problem for the group again (a double click, a second manager) finds the one there is.
    again = manager.post("/recurring/problem", data={
        "start": "2031-03-01", "end": "2031-03-30", "product": product.id, "words": leak.key})
    assert again.headers["Location"] == response.headers["Location"]
    assert session.scalar(select(func.count()).select_from(Problem).where(Problem.product_id == product.id)) == 1


def test_a_problem_record_is_kept_by_hand_too(session, login_as):
    product, made = world(session)
    manager = login_as("manager")
    response = manager.post("/problemview/add", data={"title": "E1 点火失败批次问题", "product": product.id,
                                                       "state": "known_error", "root_cause": "点火针批次不良",
                                                       "workaround": "更换点火针"}, follow_redirects=True)
    assert response.status_code == 200
    problem = session.scalar(select(Problem).where(Problem.title == "E1 点火失败批次问题"))
    assert problem.state == problems.KNOWN_ERROR and problem.created_by_id == user(session, "manager").id
    problems.link(session, problem, [t.id for t in made["ignition"]], now=END)
    session.commit()
    ticket = made["ignition"][0]
    page = manager.post(f"/problemview/unlink/{problem.id}/{ticket.id}", follow_redirects=True).get_data(as_text=True)
    assert "不再关联" in flashes(page)
    assert problems.linked_count(session, problem.id) == 3
    manager.post(f"/problemview/edit/{problem.id}", data={"title": problem.title, "product": product.id,
                                                          "state": "resolved"})
    session.expire_all()
    assert session.get(Problem, problem.id).resolved_at is not None


def test_who_sees_recurring_problems(login_as):
    assert login_as("clerk").get("/recurring/").status_code in (302, 403)
    assert login_as("clerk").get("/problemview/list/").status_code == 200
    assert login_as("clerk").post("/recurring/problem", data={"product": 1, "words": "a b"}).status_code in (302, 403)
    assert login_as("engineer").get("/problemview/list/").status_code in (302, 403)
    assert "重复问题" in login_as("manager").get("/").get_data(as_text=True)


def test_a_group_that_changed_since_the_list_says_so(session, login_as):
    product, _ = world(session)
    page = login_as("manager").get("/recurring/group", query_string={
        "start": "2031-03-01", "end": "2031-03-30", "product": product.id, "words": "不存在 的组"},
        follow_redirects=True).get_data(as_text=True)
    assert "这一组在列表显示后已经变化" in flashes(page)
    assert session.scalar(select(func.count()).select_from(Ticket).where(Ticket.product_id == product.id)) == 14


def test_the_default_period_is_the_last_thirty_days_in_local_days(app, login_as):
    page = login_as("manager").get("/recurring/").get_data(as_text=True)
    today = to_local(utcnow(), app.config["TIMEZONE"]).date()
    assert f'name="start" value="{today - timedelta(days=29)}"' in page
    assert f'name="end" value="{today}"' in page
