"""The first scheduler job: resolved tickets the customer never confirmed are closed after N days."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import TicketEvent
from app.scheduler import tick
from app.services import status as st
from app.services import tickets
from app.services.autoclose import close_unconfirmed
from tests.helpers import NOW, new_ticket


def resolved_ticket(session, when):
    ticket = new_ticket(session, now=when)
    tickets.transition(session, ticket, st.RESOLVED, now=when)
    session.commit()
    return ticket


def closing_events(session, ticket):
    return session.scalar(select(func.count()).select_from(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "status"))


def test_tick_closes_old_resolutions_once_and_explains_why(app, session):
    days = app.config["AUTO_CLOSE_DAYS"]
    old = resolved_ticket(session, NOW - timedelta(days=days + 1))
    fresh = resolved_ticket(session, NOW - timedelta(days=days - 1))

    first = tick(app, NOW)["auto_close_unconfirmed"]
    again = tick(app, NOW)["auto_close_unconfirmed"]
    session.expire_all()
    assert first >= 1 and again == 0
    assert old.status == st.CLOSED and old.closed_at == NOW
    assert fresh.status == st.RESOLVED
    event = next(e for e in reversed(old.events) if e.kind == "status")  # the survey job may have written since
    assert event.actor_user_id is None and event.data["rule"] == "auto_close"
    with app.test_request_context("/?_l_=zh"):
        assert event.description == f"系统自动关闭：客户在 {days} 天内未确认解决结果"


def test_a_backlog_larger_than_a_batch_is_closed_in_one_run(session):
    backlog = [resolved_ticket(session, NOW - timedelta(days=30)) for _ in range(7)]
    assert close_unconfirmed(session, now=NOW, after_days=7, batch=3) >= 7
    session.expire_all()
    assert {t.status for t in backlog} == {st.CLOSED}


def test_scheduler_tick_command_takes_a_time(app, session):
    ticket = resolved_ticket(session, NOW - timedelta(days=30))
    result = app.test_cli_runner().invoke(args=["scheduler", "tick", "--now", "2026-11-22T10:30:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "auto_close_unconfirmed:" in result.output
    session.expire_all()
    assert ticket.status == st.CLOSED and ticket.closed_at == NOW

    bad = app.test_cli_runner().invoke(args=["scheduler", "tick", "--now", "yesterday"])
    assert bad.exit_code == 2 and "--now" in bad.output


@pytest.mark.postgres_only
def test_two_schedulers_close_each_ticket_exactly_once(app, session):
    batch = [resolved_ticket(session, NOW - timedelta(days=40)) for _ in range(60)]

    def scheduler(_):
        with app.app_context(), Session(db.engine) as s:
            return close_unconfirmed(s, now=NOW, after_days=7, batch=20)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(scheduler, range(6)))
    session.expire_all()
    assert {t.status for t in batch} == {st.CLOSED}
    assert {closing_events(session, t) for t in batch} == {2}  # resolved, then closed once
