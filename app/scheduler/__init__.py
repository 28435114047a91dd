"""The scheduler process: `flask --app app scheduler run` (never inside web workers).

Jobs are defined here in code with fixed ids; their durable state lives in the product's tables, so a
restart or a second process neither repeats nor skips work. Each job is a thin call into app.services.
"""
import logging
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from app.extensions import db
from app.services import heartbeat
from app.timeutil import utcnow

log = logging.getLogger(__name__)
STARTED_AT = utcnow()


@dataclass(frozen=True)
class Job:
    id: str
    run: Callable  # (app, now) -> int: how many items it handled
    every_seconds: int


def _sla_steps(app, now: datetime) -> int:
    """Reminders before deadlines, the escalation ladder after them, and chasing unaccepted assignments:
    one pass over the tickets whose next check is due."""
    from app.services.escalate import run_due

    return run_due(db.session, now=now, batch=app.config["SLA_BATCH_SIZE"])


def _auto_close(app, now: datetime) -> int:
    from app.services.autoclose import close_unconfirmed

    return close_unconfirmed(db.session, now=now, after_days=app.config["AUTO_CLOSE_DAYS"])


def _poll_mailboxes(app, now: datetime) -> int:
    from app.services.mailpoll import poll_all

    return poll_all(db.session, now=now)


def _deliver_notifications(app, now: datetime) -> int:
    """Send due outbox messages (e-mail, SMS, WeChat, robots, webhooks), retrying with back-off."""
    from app.services.notify_delivery import deliver_due

    return deliver_due(db.session, now=now, batch=app.config["NOTIFY_BATCH_SIZE"])


def _send_surveys(app, now: datetime) -> int:
    """Satisfaction surveys for resolutions that are due (the message itself goes through the outbox)."""
    from app.services.satisfaction import send_due_surveys

    return send_due_surveys(db.session, now=now)


def _maintenance_plans(app, now: datetime) -> int:
    """Tickets for preventive maintenance that falls due (once per device and due date)."""
    from app.services.maintenance import run_due

    return run_due(db.session, now=now)


def _heartbeat(app, now: datetime) -> int:
    return heartbeat.beat(db.session, now=now, started_at=STARTED_AT)


JOBS = [
    Job("heartbeat", _heartbeat, every_seconds=heartbeat.BEAT_SECONDS),
    Job("sla_steps", _sla_steps, every_seconds=60),
    Job("deliver_notifications", _deliver_notifications, every_seconds=20),
    Job("auto_close_unconfirmed", _auto_close, every_seconds=15 * 60),
    Job("send_surveys", _send_surveys, every_seconds=5 * 60),
    Job("maintenance_plans", _maintenance_plans, every_seconds=60 * 60),
    Job("poll_mailboxes", _poll_mailboxes, every_seconds=60),
]


def run_job(app, job: Job, now: datetime | None = None) -> int:
    with app.app_context():
        started = utcnow()
        handled, error = None, None
        try:
            handled = job.run(app, now or utcnow())
            return handled
        except Exception:
            db.session.rollback()
            error = traceback.format_exc(limit=5)
            log.exception("job %s failed", job.id)
            raise
        finally:
            try:
                heartbeat.record_run(db.session, job.id, started_at=started, finished_at=utcnow(),
                                     handled=handled, error=error)
            except Exception:  # the job's own outcome matters more than its report
                db.session.rollback()
                log.exception("could not record the run of %s", job.id)
            db.session.remove()


def tick(app, now: datetime | None = None, only=()) -> dict[str, int]:
    """Run every job (or those named in `only`) once: what `scheduler tick` and the tests use."""
    return {job.id: run_job(app, job, now) for job in JOBS if not only or job.id in only}


def build_scheduler(app, scheduler_class=None):
    """UTC, fixed job ids, late runs within 5 minutes still made (APScheduler's default grace is 1 s) and a
    backlog of runs collapsed into one; never two runs of a job at once in this process."""
    if scheduler_class is None:
        from apscheduler.schedulers.blocking import BlockingScheduler as scheduler_class

    scheduler = scheduler_class(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
    for job in JOBS:
        scheduler.add_job(run_job, "interval", seconds=job.every_seconds, id=job.id, name=job.id, args=[app, job],
                          next_run_time=datetime.now(timezone.utc))
    return scheduler


def run_forever(app) -> None:
    scheduler = build_scheduler(app)
    log.info("scheduler started with jobs: %s", ", ".join(j.id for j in JOBS))
    scheduler.start()
