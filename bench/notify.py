"""Notification delivery: how fast does the scheduler's job empty the outbox, and does a large history slow
down finding the due messages?

    .venv/bin/python bench/notify.py
    .venv/bin/python bench/notify.py --database-url postgresql://postgres@127.0.0.1:5432/bench

Creates a fresh database (drops the PostgreSQL schema it is given!) with `--history` delivered messages
(default 1,000,000) in the outbox, then queues `--webhooks` signed webhook messages to an HTTP server and
`--emails` e-mails to an SMTP server (aiosmtpd), both real and on loopback (tests/notify_servers.py), and
times one run of the delivery job: messages/s, and per message p50/p95 of the send as each attempt recorded
it. Also the idle run (nothing due) over the full history. Target: idle run in milliseconds whatever the
history; webhooks ≥ 200/s on one process.
"""
import argparse
import os
import statistics
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.seed import demo_app  # noqa: E402


def history(session, total: int, ticket_id: int, now, chunk: int = 50_000) -> None:
    from sqlalchemy import insert, text

    from app.models import Notification
    from app.services import demo

    postgres = session.get_bind().dialect.name == "postgresql"
    for start in range(0, total, chunk):
        rows = [{"key": f"history:{i}", "event": "ticket_received", "channel": "sms", "language": "zh",
                 "ticket_id": ticket_id, "address": "13800138000", "state": "sent", "attempts": 1,
                 "next_attempt_at": now - timedelta(days=30), "sent_at": now - timedelta(days=30),
                 "created_at": now - timedelta(days=30)} for i in range(start, min(total, start + chunk))]
        if postgres:
            demo._copy(session, Notification.__table__, rows)
        else:
            session.execute(insert(Notification.__table__), rows)
        session.commit()
        print(f"  {min(total, start + chunk):,} / {total:,} delivered messages in the history", end="\r", flush=True)
    print()
    if postgres:
        session.execute(text("ANALYZE"))
        session.commit()


def queue(session, *, ticket_id: int, endpoint_id: int, webhooks: int, emails: int, now) -> None:
    from sqlalchemy import insert

    from app.models import Notification

    base = {"ticket_id": ticket_id, "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
            "language": "zh"}
    rows = [{**base, "key": f"bench-hook:{i}", "event": "status_changed", "channel": "webhook",
             "endpoint_id": endpoint_id, "data": {"kind": "status", "from": "new", "to": "assigned"}}
            for i in range(webhooks)]
    rows += [{**base, "key": f"bench-mail:{i}", "event": "ticket_received", "channel": "email",
              "address": f"customer{i}@example.com"} for i in range(emails)]
    session.execute(insert(Notification), rows)
    session.commit()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--webhooks", type=int, default=3_000)
    parser.add_argument("--emails", type=int, default=1_000)
    args = parser.parse_args()

    from tests.notify_servers import HttpServer, SmtpServer

    with HttpServer() as hooks, SmtpServer() as smtp:
        app, url = demo_app(args.database_url, "bench-notify-", SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port))
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port)
        from sqlalchemy import func, select

        from app.extensions import db
        from app.models import Notification, NotificationAttempt, NotifyEndpoint, Ticket
        from app.services.notify_delivery import deliver_due
        from app.timeutil import utcnow

        with app.app_context():
            now = utcnow().replace(microsecond=0)
            deliver_due(db.session, now=now)  # whatever the demo queued
            ticket_id = db.session.scalar(select(func.min(Ticket.id)))
            endpoint = NotifyEndpoint(name="bench", kind="webhook", url=hooks.url("/hook"), secret="bench-secret",
                                      events="status_changed", active=False)
            db.session.add(endpoint)
            db.session.commit()
            started = time.perf_counter()
            history(db.session, args.history, ticket_id, now)
            print(f"history seeded in {time.perf_counter() - started:.0f} s")

            idle = []
            for _ in range(5):
                started = time.perf_counter()
                deliver_due(db.session, now=now)
                idle.append((time.perf_counter() - started) * 1000)
            received = len(hooks.requests), len(smtp.messages)
            queue(db.session, ticket_id=ticket_id, endpoint_id=endpoint.id, webhooks=args.webhooks,
                  emails=args.emails, now=now)
            started = time.perf_counter()
            delivered = deliver_due(db.session, now=now)
            elapsed = time.perf_counter() - started
            per_channel = {}
            for channel, ms in db.session.execute(
                    select(Notification.channel, NotificationAttempt.duration_ms)
                    .join(NotificationAttempt, NotificationAttempt.notification_id == Notification.id)
                    .where(Notification.key.like("bench-%"))):
                per_channel.setdefault(channel, []).append(ms)

    kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"\n{kind}, {args.history:,} delivered messages in the outbox")
    print(f"  idle run (nothing due): median {statistics.median(idle):.1f} ms")
    print(f"  {delivered:,} messages delivered in {elapsed:.1f} s = {delivered / elapsed:.0f} messages/s "
          f"(received: {len(hooks.requests) - received[0]:,} webhooks, {len(smtp.messages) - received[1]:,} e-mails)")
    for channel, values in sorted(per_channel.items()):
        values.sort()
        print(f"  {channel}: send p50 {values[len(values) // 2]} ms, p95 {values[int(len(values) * 0.95)]} ms")


if __name__ == "__main__":
    main()
