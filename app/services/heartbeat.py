"""Is the scheduler alive? Each process refreshes its heartbeat row; each job run leaves its result."""
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import JobRun, SchedulerHeartbeat

BEAT_SECONDS = 30
# Two missed beats and a little slack: a busy tick must not raise the alarm.
STALE_AFTER = timedelta(seconds=BEAT_SECONDS * 4)
FORGET_AFTER = timedelta(days=1)
PROCESS = f"{socket.gethostname()}:{os.getpid()}"


def _upsert(session: Session, model, key: dict, values: dict) -> None:
    """Update the row, or insert it; two processes racing to insert the first row both end up updating."""
    where = [getattr(model, k) == v for k, v in key.items()]
    for _ in range(2):
        if session.execute(update(model).where(*where).values(**values)).rowcount:
            session.commit()
            return
        try:
            session.add(model(**key, **values))
            session.commit()
            return
        except IntegrityError:
            session.rollback()


def beat(session: Session, *, now: datetime, started_at: datetime, process: str = PROCESS) -> int:
    _upsert(session, SchedulerHeartbeat, {"process": process}, {"started_at": started_at, "beat_at": now})
    # Every `scheduler tick` is a process of its own: forget the ones long gone.
    session.execute(delete(SchedulerHeartbeat).where(SchedulerHeartbeat.beat_at < now - FORGET_AFTER))
    session.commit()
    return 1


def record_run(session: Session, job_id: str, *, started_at: datetime, finished_at: datetime, handled: int | None,
               error: str | None, process: str = PROCESS) -> None:
    values = {"started_at": started_at, "finished_at": finished_at, "handled": handled, "error": error,
              "process": process}
    if error is None:
        values["succeeded_at"] = finished_at
    _upsert(session, JobRun, {"job_id": job_id}, values)


def last_beat(session: Session) -> datetime | None:
    return session.scalar(select(func.max(SchedulerHeartbeat.beat_at)))


def is_alive(session: Session, *, now: datetime) -> bool:
    beat_at = last_beat(session)
    return beat_at is not None and now - beat_at <= STALE_AFTER
