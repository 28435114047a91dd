"""A scheduler killed after the message left but before it was marked sent: the message is not lost — it
comes round again when the claim's lease ends, with the same idempotency key for the receiver to drop."""
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from app.models import Notification, NotifyEndpoint
from app.scheduler import tick
from app.services.notify_delivery import LEASE
from tests.helpers import new_ticket
from tests.notify_servers import HttpServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T = datetime(2032, 4, 6, 2, 0)


def test_a_crash_between_send_and_mark_sent_loses_nothing(app, session, tmp_path, channels):
    channels()
    with HttpServer() as crm:
        endpoint = NotifyEndpoint(name="CRM", kind="webhook", url=crm.url("/crash"), secret="s3cret",
                                  events="ticket_received")
        session.add(endpoint)
        ticket = new_ticket(session, now=T)
        session.commit()
        sender: dict = {}
        crm.on_request = lambda request: os.kill(sender["process"].pid, signal.SIGKILL)  # the answer never comes
        env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "INSTANCE_DIR": str(tmp_path),
               "SECRET_KEY": "test-secret-key-of-at-least-32-bytes!"}
        sender["process"] = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "scheduler", "tick", "--job", "deliver_notifications",
             "--now", T.isoformat() + "+00:00"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        sender["process"].communicate(timeout=120)
        assert sender["process"].returncode == -signal.SIGKILL
        assert len(crm.to("/crash")) == 1  # it left…

        def row():
            session.expire_all()
            return session.scalar(select(Notification).where(Notification.ticket_id == ticket.id,
                                                             Notification.endpoint_id == endpoint.id))
        # …but was never marked: still pending, its claim holding it until the lease ends.
        first = row()
        assert (first.state, first.attempts, first.attempt_log) == ("pending", 1, [])
        assert first.next_attempt_at == T + LEASE
        crm.on_request = None
        tick(app, T + timedelta(minutes=1), only=("deliver_notifications",))
        assert len(crm.to("/crash")) == 1  # another scheduler leaves it alone while the lease runs
        tick(app, T + LEASE, only=("deliver_notifications",))
        again = row()
        assert (again.state, again.attempts, [a.ok for a in again.attempt_log]) == ("sent", 2, [True])
        keys = [r.headers["X-Idempotency-Key"] for r in crm.to("/crash")]
        assert keys == [again.key, again.key]


def _tick(app, tmp_path, now, batch=10) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "INSTANCE_DIR": str(tmp_path),
           "SECRET_KEY": "test-secret-key-of-at-least-32-bytes!", "NOTIFY_BATCH_SIZE": str(batch)}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "scheduler", "tick", "--job", "deliver_notifications",
         "--now", now.isoformat() + "+00:00"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


@pytest.mark.postgres_only
def test_two_schedulers_deliver_each_message_once(app, session, tmp_path, channels):
    channels()
    now = T + timedelta(days=1)
    with HttpServer(on_request=lambda request: time.sleep(0.005)) as crm:
        endpoint = NotifyEndpoint(name="CRM-two", kind="webhook", url=crm.url("/two"), events="ticket_received")
        session.add(endpoint)
        ticket = new_ticket(session, now=now)
        session.execute(insert(Notification), [
            {"key": f"two-schedulers:{ticket.number}:{i}", "event": "ticket_received", "channel": "webhook",
             "language": "zh", "ticket_id": ticket.id, "endpoint_id": endpoint.id, "state": "pending",
             "attempts": 0, "next_attempt_at": now, "created_at": now} for i in range(150)])
        session.commit()
        processes = [_tick(app, tmp_path, now), _tick(app, tmp_path, now)]
        outputs = [p.communicate(timeout=300) for p in processes]
        assert [p.returncode for p in processes] == [0, 0], outputs
        handled = [int(next(line for line in out.splitlines() if line.startswith("deliver_notifications:"))
                       .split(":")[1]) for out, _err in outputs]
        keys = [r.headers["X-Idempotency-Key"] for r in crm.to("/two")]
    ours = [k for k in keys if k.startswith(f"two-schedulers:{ticket.number}:")]
    assert len(ours) == len(set(ours)) == 150  # every message once, none twice
    assert sum(handled) >= 150 and min(handled) > 0  # both took a share
    session.expire_all()
    states = session.execute(select(Notification.state, func.count()).where(
        Notification.key.like(f"two-schedulers:{ticket.number}:%")).group_by(Notification.state)).all()
    assert states == [("sent", 150)]
