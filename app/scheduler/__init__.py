"""The scheduler process: `flask --app app scheduler run` (never inside web workers).

Jobs are defined here in code with fixed ids; their durable state lives in the product's tables, so a
restart or a second process neither repeats nor skips work. Each job is a thin call into app.services.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from app.extensions import db
from app.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    id: str
    run: Callable  # (app, now) -> int: how many items it handled
    every_seconds: int


def _auto_close(app, now: datetime) -> int:
    from app.services.autoclose import close_unconfirmed

    return close_unconfirmed(db.session, now=now, after_days=app.config["AUTO_CLOSE_DAYS"])


def _poll_mailboxes(app, now: datetime) -> int:
    from app.services.mailpoll import poll_all

    return poll_all(db.session, now=now)


JOBS = [
    Job("auto_close_unconfirmed", _auto_close, every_seconds=15 * 60),
    Job("poll_mailboxes", _poll_mailboxes, every_seconds=60),
]


def run_job(app, job: Job, now: datetime | None = None) -> int:
    with app.app_context():
        try:
            return job.run(app, now or utcnow())
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", job.id)
            raise
        finally:
            db.session.remove()


def tick(app, now: datetime | None = None) -> dict[str, int]:
    """Run every job once (what `scheduler tick` and the tests use)."""
    return {job.id: run_job(app, job, now) for job in JOBS}


def run_forever(app) -> None:
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
    for job in JOBS:
        scheduler.add_job(run_job, "interval", seconds=job.every_seconds, id=job.id, name=job.id, args=[app, job],
                          next_run_time=datetime.now(timezone.utc))
    log.info("scheduler started with jobs: %s", ", ".join(j.id for j in JOBS))
    scheduler.start()

