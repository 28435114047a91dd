"""Dispatch as people use it in the console: the explanation on the ticket, the pool and its claim button,
rejecting, transferring and reassigning with reasons, and the managers' forms.

No `session` fixture in the HTTP tests: its app context would be shared by every request (see
tests/test_intake_api.py); each test opens short contexts of its own.
"""
import re
from contextlib import contextmanager

from sqlalchemy import select

from app.extensions import db
from app.models import DispatchSettings, Engineer, EngineerAbsence, EngineerShift, Ticket, TicketPart, User
from app.services import assign
from tests.conftest import flashes, login
from tests.dispatch_world import World
from tests.helpers import NOW


@contextmanager
def database(app):
    with app.app_context():
        yield db.session
        db.session.rollback()


def the_engineer_login(session) -> Engineer:
    """The demo's `engineer` login is 张建国."""
    user = session.scalar(select(User).where(User.username == "engineer"))
    return session.scalar(select(Engineer).where(Engineer.user_id == user.id))


def test_the_ticket_page_explains_the_choice_with_each_candidates_scores(app):
    with database(app) as s:
        world = World(s)
        near = world.engineer("近", at=(39.91, 116.41))
        world.engineer("远", at=(40.2, 116.9))
        ticket = world.ticket()
        world.dispatch(ticket)
        pk, near_name = ticket.id, near.name
    page = login(app.test_client(), "clerk").get(f"/ticketview/show/{pk}").get_data(as_text=True)
    panel = page[page.index('id="ticket-dispatch"'):]
    assert "为何派给这位工程师" in panel and f"自动派单给 {near_name}" in panel
    rows = re.findall(r"<tr( class=\"success\")?>\s*<td>([^<]+)</td><td>([0-9.]+)</td>", panel)
    assert [name for _, name, _ in rows][0] == near_name and rows[0][0]  # the chosen one, highlighted
    assert float(rows[0][2]) >= float(rows[1][2])
    for header in ("负荷", "距离", "备件", "曾服务"):
        assert f"<th>{header}</th>" in panel


def test_an_engineer_claims_from_the_pool_and_a_colleague_cannot_take_it_twice(app):
    with database(app) as s:
        mine = the_engineer_login(s)
        world = World(s)
        world.session.add(world.team)
        ticket = world.ticket(team=mine.team)
        world.dispatch(ticket)  # nobody in our small world has that team: the pool
        pk, number = ticket.id, ticket.number
        assert ticket.assignee_id is None
    engineer = login(app.test_client(), "engineer")
    pool = engineer.get("/poolview/list/?psize_PoolView=100").get_data(as_text=True)
    assert number in pool
    claimed = engineer.post(f"/poolview/action/claim/{pk}", data={"action": "claim"}, follow_redirects=True)
    assert f"工单 {number} 已归你处理" in flashes(claimed.get_data(as_text=True))
    again = engineer.post(f"/poolview/action/claim/{pk}", data={"action": "claim"}, follow_redirects=True)
    assert "刚刚已被其他人领取" in flashes(again.get_data(as_text=True))
    assert number not in engineer.get("/poolview/list/?psize_PoolView=100").get_data(as_text=True)
    with database(app) as s:
        assert s.get(Ticket, pk).assignee_id == the_engineer_login(s).id
    # Clerks see the pool but have no claim button; a warehouse keeper has no pool at all.
    clerk_pool = login(app.test_client(), "clerk").get("/poolview/list/")
    assert clerk_pool.status_code == 200
    assert login(app.test_client(), "warehouse").get("/poolview/list/").status_code in (302, 403)


def test_the_assigned_engineer_rejects_with_a_reason_on_the_page(app):
    with database(app) as s:
        mine = the_engineer_login(s)
        world = World(s)
        other = world.engineer("接手", team=mine.team)
        ticket = world.ticket(team=mine.team)
        assign.reassign(s, ticket, mine, reason=None, now=NOW)
        s.commit()
        pk, other_name = ticket.id, other.name
    engineer = login(app.test_client(), "engineer")
    page = engineer.get(f"/ticketview/show/{pk}").get_data(as_text=True)
    assert 'id="ticket-reject"' in page
    refused = engineer.post(f"/ticketview/reject/{pk}", data={"reason": " "}, follow_redirects=True)
    assert "请说明拒单原因" in flashes(refused.get_data(as_text=True))
    engineer.post(f"/ticketview/reject/{pk}", data={"reason": "这个型号我没有培训过"})
    with database(app) as s:
        ticket = s.get(Ticket, pk)
        assert ticket.assignee.name == other_name
        assert [e for e in ticket.events if e.kind == "rejected"][-1].reason == "这个型号我没有培训过"
    # Gone from their list now: the ticket is someone else's.
    assert engineer.get(f"/ticketview/show/{pk}").status_code in (302, 404)


def test_clerks_transfer_and_reassign_only_with_a_reason(app):
    with database(app) as s:
        world = World(s)
        first = world.engineer("本站")
        theirs = world.engineer("二站", team=world.other_team)
        ticket = world.ticket()
        world.dispatch(ticket)
        pk, other_team_id, first_id, theirs_id = ticket.id, world.other_team.id, first.id, theirs.id
        version = ticket.version
    clerk = login(app.test_client(), "clerk")
    page = clerk.get(f"/ticketview/show/{pk}").get_data(as_text=True)
    assert 'id="ticket-transfer"' in page and 'id="ticket-reject"' not in page

    taken = clerk.post(f"/ticketview/assign/{pk}", data={"engineer_id": "", "reason": "",
                                                         "expected_version": version}, follow_redirects=True)
    assert "请说明为何从" in flashes(taken.get_data(as_text=True))
    refused = clerk.post(f"/ticketview/transfer/{pk}", data={"team_id": other_team_id, "reason": ""},
                         follow_redirects=True)
    assert "请说明转到其他团队的原因" in flashes(refused.get_data(as_text=True))
    clerk.post(f"/ticketview/transfer/{pk}", data={"team_id": other_team_id, "reason": "客户搬到了二站片区"})
    with database(app) as s:
        ticket = s.get(Ticket, pk)
        assert ticket.team_id == other_team_id and ticket.assignee_id == theirs_id
        version = ticket.version
    clerk.post(f"/ticketview/assign/{pk}", data={"engineer_id": str(first_id), "reason": "客户点名要原师傅",
                                                 "expected_version": version})
    with database(app) as s:
        assert s.get(Ticket, pk).assignee_id == first_id


def test_managers_tune_weights_shifts_and_leave_in_forms(app):
    manager = login(app.test_client(), "manager")
    bad = manager.post("/dispatchsettingsview/edit/1", data={
        "auto_dispatch": "y", "weight_load": "-1", "weight_distance": "0.3", "weight_parts": "0.2",
        "weight_previous": "0.15", "distance_half_km": "10", "location_fresh_hours": "4", "candidates_shown": "3"})
    assert re.search(r'id="weight_load".{0,400}数值大小必须介于 0 到 100 之间', bad.get_data(as_text=True), re.S)
    with database(app) as s:
        assert s.get(DispatchSettings, 1).weight_load >= 0
    manager.post("/dispatchsettingsview/edit/1", data={
        "auto_dispatch": "y", "weight_load": "0.5", "weight_distance": "0.3", "weight_parts": "0.2",
        "weight_previous": "0.15", "distance_half_km": "10", "location_fresh_hours": "4", "candidates_shown": "5",
        "accept_remind_minutes": "20", "accept_redispatch_minutes": "0"})
    with database(app) as s:
        settings = s.get(DispatchSettings, 1)
        assert (settings.weight_load, settings.candidates_shown) == (0.5, 5)
        assert (settings.accept_remind_minutes, settings.accept_redispatch_minutes) == (20, 0)
        settings.weight_load, settings.candidates_shown = 0.35, 3
        settings.accept_remind_minutes, settings.accept_redispatch_minutes = 15, 30
        s.commit()
        engineer_id = s.scalar(select(Engineer.id).where(Engineer.name == "李志强"))

    manager.post("/engineershiftview/add", data={"engineer": engineer_id, "weekday": "0", "starts": "09:00",
                                                 "ends": "18:00"})
    backwards = manager.post("/engineerabsenceview/add", data={
        "engineer": engineer_id, "starts_at": "2026-12-01 09:00:00", "ends_at": "2026-11-30 09:00:00",
        "reason": "年假"})
    assert "结束时间必须晚于开始时间" in backwards.get_data(as_text=True)
    manager.post("/engineerabsenceview/add", data={
        "engineer": engineer_id, "starts_at": "2026-12-01 09:00:00", "ends_at": "2026-12-03 18:00:00",
        "reason": "年假"})
    with database(app) as s:
        shift = s.scalar(select(EngineerShift).where(EngineerShift.engineer_id == engineer_id))
        absence = s.scalar(select(EngineerAbsence).where(EngineerAbsence.engineer_id == engineer_id))
        assert (shift.weekday, shift.starts.strftime("%H:%M"), shift.ends.strftime("%H:%M")) == (0, "09:00", "18:00")
        # Typed in Shanghai time, stored in UTC.
        assert absence.starts_at.strftime("%Y-%m-%d %H:%M") == "2026-12-01 01:00"
        page = manager.get(f"/engineerabsenceview/edit/{absence.id}").get_data(as_text=True)
        assert "2026-12-01 09:00" in page
        listing = manager.get("/engineershiftview/list/").get_data(as_text=True)
        assert "星期一" in listing and "09:00" in listing
        s.delete(shift)
        s.delete(absence)
        s.commit()
    assert login(app.test_client(), "clerk").get("/dispatchsettingsview/edit/1").status_code in (302, 403)


def test_a_clerk_notes_the_parts_a_ticket_needs_and_the_engineer_sees_them(app):
    with database(app) as s:
        mine = the_engineer_login(s)
        world = World(s)
        ticket = world.ticket(team=mine.team)
        assign.reassign(s, ticket, mine, reason=None, now=NOW)
        world.part.products = [ticket.product]
        s.commit()
        pk, part_id, sku = ticket.id, world.part.id, world.part.sku
    clerk = login(app.test_client(), "clerk")
    assert f'<option value="{part_id}">{sku}' in clerk.get(f"/ticketview/show/{pk}").get_data(as_text=True)
    bad = clerk.post(f"/ticketview/parts/{pk}", data={"part_id": part_id, "quantity": "0"}, follow_redirects=True)
    assert "数量必须在 1 到 999 之间" in flashes(bad.get_data(as_text=True))
    clerk.post(f"/ticketview/parts/{pk}", data={"part_id": part_id, "quantity": "2"})
    with database(app) as s:
        [item] = s.scalars(select(TicketPart).where(TicketPart.ticket_id == pk)).all()
        assert item.quantity == 2
    page = login(app.test_client(), "engineer").get(f"/ticketview/show/{pk}").get_data(as_text=True)
    panel = page[page.index('id="ticket-parts"'):]
    assert sku in panel and "× 2" in panel and "ticketview/parts" not in panel  # they read, the desk edits
    assert f"需要备件 {sku}" in page  # and the timeline says so


def test_claiming_a_ticket_that_does_not_exist_says_so(app):
    engineer = login(app.test_client(), "engineer")
    answer = engineer.post("/poolview/action/claim/999999999", data={"action": "claim"}, follow_redirects=True)
    assert answer.status_code == 200 and "已不再处于开放状态" in flashes(answer.get_data(as_text=True))
