"""The SLA pages as managers, clerks and admins use them: policy and calendar forms, the clock on the ticket
page, the at-risk board, the scheduler's status and the warning when it stops."""
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import BusinessCalendar, Priority, SlaPolicy
from app.scheduler import tick as scheduler_tick
from app.timeutil import utcnow
from app.views import formatting
from tests.conftest import login
from tests.sla_world import SlaWorld, tick


def _page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_a_manager_sets_up_a_policy_and_bad_input_is_named(app):
    client = login(app.test_client(), "manager")
    with app.app_context():
        calendar_id = db.session.scalar(select(BusinessCalendar.id).where(BusinessCalendar.code == "24x7"))
        urgent_id = db.session.scalar(select(Priority.id).where(Priority.code == "urgent"))
    form = {"name_zh": "大客户紧急", "name_en": "Key account urgent", "position": "5", "active": "y",
            "priority": str(urgent_id), "customer_tier": "vip", "channel": "", "calendar": str(calendar_id),
            "response_minutes": "15", "arrival_minutes": "120", "resolution_minutes": "240",
            "reminders": "50%, 很快"}
    page = client.post("/slapolicyview/add", data=form).get_data(as_text=True)
    assert "「很快」 不是提醒点" in page  # the form comes back with the field's error and the input kept
    assert 'value="大客户紧急"' in page
    form["reminders"] = "50%, 10m"
    assert client.post("/slapolicyview/add", data=form).status_code == 302
    with app.app_context():
        saved = db.session.scalar(select(SlaPolicy).where(SlaPolicy.name_zh == "大客户紧急"))
        assert (saved.customer_tier, saved.channel, saved.reminders) == ("vip", None, "50%, 10m")
        db.session.delete(saved)  # other tests' urgent tickets keep the default promise
        db.session.commit()


def test_a_working_window_must_end_after_it_starts(app):
    client = login(app.test_client(), "manager")
    with app.app_context():
        calendar_id = db.session.scalar(select(BusinessCalendar.id).where(BusinessCalendar.code == "office"))
    page = client.post("/calendarhoursview/add", data={
        "calendar": str(calendar_id), "weekday": "5", "starts": "14:00", "ends": "09:00"}).get_data(as_text=True)
    assert "结束时间必须晚于开始时间" in page
    assert "公司休息日" in _page(client, f"/businesscalendarview/show/{calendar_id}")  # its related lists


def test_the_ticket_page_shows_the_clock_and_why_it_breached(app):
    with app.app_context():
        world = SlaWorld(db.session)
        world.policy(response=30, resolution=8 * 60)
        start = utcnow() - timedelta(hours=2)
        ticket = world.sla_ticket(at=start)
        tick(db.session, utcnow())
        ticket_id, number = ticket.id, ticket.number
    page = _page(login(app.test_client(), "clerk"), f"/ticketview/show/{ticket_id}")
    assert number in page
    start = page.index('id="ticket-sla"')
    sla_panel = page[start:page.index("</table>", start)]
    assert 'data-target="response" data-state="breached"' in sla_panel
    assert "已超时 1小时 30分钟" in sla_panel
    assert 'data-target="resolution" data-state="running"' in sla_panel  # 2 h of 8: before the 50 % point
    assert "剩余 5小时 59分钟（自然时间）" in sla_panel
    assert "升级第 1 级" in sla_panel


def test_the_at_risk_board_puts_breached_tickets_first_and_counts_per_team(app):
    with app.app_context():
        world = SlaWorld(db.session)
        world.policy(response=60, resolution=None, reminders="50%")
        now = utcnow()
        late = world.sla_ticket(at=now - timedelta(minutes=90))
        risky = world.sla_ticket(at=now - timedelta(minutes=40))
        calm = world.sla_ticket(at=now - timedelta(minutes=5))
        team_id = world.team.id
        numbers = [late.number, risky.number, calm.number]
    page = _page(login(app.test_client(), "manager"), f"/atriskview/list/?_flt_0_team={team_id}")
    assert [page.index(n) for n in numbers] == sorted(page.index(n) for n in numbers)
    row = page[page.index(f'data-team="{team_id}"'):]
    row = row[:row.index("</tr>")]
    assert 'data-count="breached">1<' in row and 'data-count="at_risk">1<' in row and 'data-count="running">3<' in row
    assert "已超时" in page and "有风险" in page
    assert f'<a href="/ticketview/number/{numbers[0]}">{numbers[0]}</a>' in page  # rows open the ticket page


def test_admins_see_when_the_scheduler_stops(app):
    formatting._warning_cache.clear()
    scheduler_tick(app, utcnow() - timedelta(hours=1))  # its last sign of life an hour ago
    admin = login(app.test_client(), "admin")
    assert 'id="scheduler-down"' in _page(admin, "/")
    assert 'id="scheduler-down"' not in _page(login(app.test_client(), "clerk"), "/")
    scheduler_tick(app, utcnow())
    formatting._warning_cache.clear()
    assert 'id="scheduler-down"' not in _page(admin, "/")
    status = _page(admin, "/schedulerview/list/")
    assert "调度器运行中" in status and "sla_steps" in status
    assert login(app.test_client(), "manager").get("/schedulerview/list/").status_code in (302, 403)


def test_a_changed_promise_applies_to_open_tickets_at_the_next_tick(app):
    with app.app_context():
        world = SlaWorld(db.session)
        policy = world.policy(response=60, resolution=8 * 60)
        start = utcnow().replace(microsecond=0)
        ticket = world.sla_ticket(at=start)
        assert ticket.resolution_due_at == start + timedelta(hours=8)
        ticket_id, policy_id = ticket.id, policy.id
        form = {c: getattr(policy, c) for c in ("name_zh", "name_en", "position", "reminders", "response_minutes")}
        form.update(active="y", calendar=str(policy.calendar_id), category=str(policy.category_id),
                    resolution_minutes="120", customer_tier="", channel="")
    manager = login(app.test_client(), "manager")
    assert manager.post(f"/slapolicyview/edit/{policy_id}", data=form).status_code == 302
    scheduler_tick(app, utcnow(), only=("sla_steps",))
    with app.app_context():
        from app.models import Ticket

        assert db.session.get(Ticket, ticket_id).resolution_due_at == start + timedelta(hours=2)


def test_the_scheduler_process_is_set_up_as_the_operations_guide_says(app):
    from apscheduler.schedulers.background import BackgroundScheduler

    from app.scheduler import build_scheduler

    scheduler = build_scheduler(app, BackgroundScheduler)  # the same set-up, started paused: nothing runs
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    assert set(jobs) == {"heartbeat", "sla_steps", "auto_close_unconfirmed", "poll_mailboxes", "deliver_notifications",
                         "send_surveys", "maintenance_plans"}
    assert str(scheduler.timezone) == "UTC"
    for job in jobs.values():
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 300)
    assert jobs["heartbeat"].trigger.interval.total_seconds() == 30
    assert jobs["sla_steps"].trigger.interval.total_seconds() == 60


def test_scheduler_tick_runs_the_named_job_and_refuses_an_unknown_one(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["scheduler", "tick", "--job", "heartbeat", "--now", "2026-11-25T10:00:00+08:00"])
    assert result.exit_code == 0 and result.output.strip() == "heartbeat: 1"
    result = runner.invoke(args=["scheduler", "tick", "--job", "nonsense"])
    assert result.exit_code == 2 and "unknown job 'nonsense'" in result.output
