"""What the scheduler process reports about itself, so admins can see it is alive."""
from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flask_appbuilder import Model


class SchedulerHeartbeat(Model):
    """One row per scheduler process (host:pid), refreshed every half minute while it runs."""

    __tablename__ = "scheduler_heartbeat"
    process: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    beat_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)


class JobRun(Model):
    """The last run of each job, whichever process ran it."""

    __tablename__ = "job_run"
    job_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    started_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    handled: Mapped[Optional[int]] = mapped_column(Integer)
    succeeded_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    error: Mapped[Optional[str]] = mapped_column(Text)
    process: Mapped[Optional[str]] = mapped_column(String(100))
