"""Exactly once, with real scheduler processes on PostgreSQL: two at the same time, one killed in the middle
of a tick, one that was down for hours."""
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text

from app.models import Notification, SlaStep, TicketEvent
from app.services import escalate
from tests.conftest import PG_URL
from tests.sla_world import SlaWorld

pytestmark = pytest.mark.postgres_only

# Far from every other test's tickets: a catch-up tick at the start leaves only this test's tickets due.
T = datetime(2031, 1, 6, 2, 0)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(tmp_path, batch: int) -> dict:
    return {**os.environ, "DATABASE_URL": PG_URL, "INSTANCE_DIR": str(tmp_path), "SLA_BATCH_SIZE": str(batch),
            "SECRET_KEY": "test-secret-key-of-at-least-32-bytes!", "FLASK_APP": "app"}


def _tick_process(tmp_path, now: datetime, batch: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "scheduler", "tick", "--job", "sla_steps",
         "--now", now.isoformat() + "+00:00"],
        cwd=ROOT, env=_env(tmp_path, batch), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _handled(output: str) -> int:
    return int(next(line for line in output.splitlines() if line.startswith("sla_steps:")).split(":")[1])


def _only_ours_due(session, now):
    escalate.run_due(session, now=now)  # everybody else's steps up to `now` happen first


def _per_ticket(session, model, ids, *where) -> dict[int, int]:
    rows = session.execute(select(model.ticket_id, func.count()).where(model.ticket_id.in_(ids), *where)
                           .group_by(model.ticket_id)).all()
    return {tid: n for tid, n in rows}


SLA_EVENTS = TicketEvent.kind.in_(("sla_reminder", "sla_escalated"))


@pytest.fixture
def pg_session(app, session):
    if app.config["DB_KIND"] != "postgresql":
        pytest.skip("PostgreSQL only")
    return session


def test_two_scheduler_processes_take_each_step_once(pg_session, tmp_path):
    session = pg_session
    world = SlaWorld(session)
    world.policy(response=30, resolution=60, reminders="50%",
                 ladder=((1, "team_lead", None, 0, None), (2, "user", "clerk", 10, None)))
    now = T + timedelta(hours=3)
    _only_ours_due(session, now)
    ours = [world.sla_ticket(at=T + timedelta(seconds=i)).id for i in range(150)]
    before = session.scalar(select(func.count(SlaStep.id)))
    session.commit()

    first, second = _tick_process(tmp_path, now, 20), _tick_process(tmp_path, now, 20)
    outputs = [p.communicate(timeout=180) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs

    session.expire_all()
    # Each process reports what it did; together exactly what was due, nothing twice.
    taken = [_handled(out) for out, _ in outputs]
    assert sum(taken) == session.scalar(select(func.count(SlaStep.id))) - before == 6 * len(ours)
    assert _per_ticket(session, SlaStep, ours) == {tid: 6 for tid in ours}
    assert _per_ticket(session, TicketEvent, ours, SLA_EVENTS) == {tid: 6 for tid in ours}
    assert _per_ticket(session, Notification, ours, Notification.channel == "inapp") == {tid: 6 for tid in ours}
    print("steps taken by each process:", taken)


def test_a_process_killed_mid_tick_leaves_nothing_skipped_or_repeated(pg_session, tmp_path):
    session = pg_session
    world = SlaWorld(session)
    world.policy(response=30, resolution=None, reminders="")
    now = T + timedelta(hours=3)
    _only_ours_due(session, now)
    ours = [world.sla_ticket(at=T + timedelta(minutes=i)).id for i in range(40)]
    session.commit()

    # Another transaction holds the key of the 36th ticket's step: the process takes three batches of ten,
    # then waits in its fourth — where we kill it.
    blocker = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)).connect()
    held = blocker.begin()
    blocker.execute(text("INSERT INTO sla_step (ticket_id, kind, target, level, round, due_at, done_at) "
                         "VALUES (:t, 'escalate', 'response', 1, 0, :d, :d)"), {"t": ours[35], "d": now})
    process = _tick_process(tmp_path, now, 10)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            waiting = session.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%sla_step%'"
            )).scalar()
            session.commit()
            if waiting:
                break
            assert process.poll() is None, process.communicate()
            time.sleep(0.2)
        else:
            pytest.fail("the scheduler never reached the held step")
        session.expire_all()
        done_before_kill = _per_ticket(session, SlaStep, ours)
        assert done_before_kill == {tid: 1 for tid in ours[:30]}  # three batches committed, the fourth not
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        held.rollback()
        blocker.close()

    restarted = _tick_process(tmp_path, now, 10)
    out, err = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, err
    assert _handled(out) == 10
    session.expire_all()
    assert _per_ticket(session, SlaStep, ours) == {tid: 1 for tid in ours}
    assert _per_ticket(session, TicketEvent, ours, SLA_EVENTS) == {tid: 1 for tid in ours}


def test_after_two_hours_down_the_missed_steps_happen_once_in_order(pg_session, tmp_path):
    session = pg_session
    world = SlaWorld(session)
    world.policy(response=30, resolution=90, reminders="50%, 80%", ladder=(
        (1, "team_lead", None, 0, None), (2, "role", "Manager", 30, None), (3, "user", "clerk", 60, None)))
    _only_ours_due(session, T)
    ticket = world.sla_ticket(at=T)
    session.commit()
    first = _tick_process(tmp_path, T + timedelta(minutes=5), 50)
    first.communicate(timeout=120)
    # Down from T+5 min to T+2 h 40 min: one tick on restart.
    restart = _tick_process(tmp_path, T + timedelta(hours=2, minutes=40), 50)
    out, err = restart.communicate(timeout=120)
    assert restart.returncode == 0, err
    session.expire_all()
    rows = session.execute(select(SlaStep.kind, SlaStep.target, SlaStep.level, SlaStep.due_at)
                           .where(SlaStep.ticket_id == ticket.id).order_by(SlaStep.id)).all()
    assert [r.due_at for r in rows] == sorted(r.due_at for r in rows)
    assert [(r.kind, r.target, r.level) for r in rows] == [
        ("remind", "response", 1), ("remind", "response", 2), ("escalate", "response", 1),
        ("remind", "resolution", 1), ("escalate", "response", 2), ("remind", "resolution", 2),
        ("escalate", "resolution", 1), ("escalate", "response", 3), ("escalate", "resolution", 2),
        ("escalate", "resolution", 3)]
    events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, SLA_EVENTS)
                             .order_by(TicketEvent.id)).all()
    assert [e.data["due_at"] for e in events] == [r.due_at.isoformat() for r in rows]
    again = _tick_process(tmp_path, T + timedelta(hours=2, minutes=40), 50)
    assert _handled(again.communicate(timeout=120)[0]) == 0
