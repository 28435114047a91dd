"""The audit trail of administrative actions (app.services.audit): who changed users, roles, tokens, settings
and the rules behind automatic decisions, when, from which address, and what changed.

Append-only: nothing in the app updates or deletes a row, and the database refuses it too (triggers made by
migration 0016). The actor is kept by id *and* name, without a foreign key, so a row outlives its user.
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from flask_appbuilder import Model


class AuditLog(Model):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_object", "object_type", "object_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)  # UTC
    actor_id: Mapped[Optional[int]] = mapped_column(Integer)  # ab_user.id at the time; no FK: users may go
    # The login name; "system" for the CLI and the scheduler, "" for an anonymous request (a login attempt).
    actor_name: Mapped[str] = mapped_column(String(128), nullable=False, index=True)
    address: Mapped[Optional[str]] = mapped_column(String(45))  # the client's IP (after PROXY_FIX_HOPS)
    # create | update | delete | password | lock | unlock
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    object_type: Mapped[str] = mapped_column(String(40), nullable=False)  # app.services.audit.REGISTRY kinds
    object_id: Mapped[Optional[int]] = mapped_column(Integer)
    object_label: Mapped[Optional[str]] = mapped_column(String(200))  # what it was called then
    # {field: [old, new]}, {field: {"added": [...], "removed": [...]}} for a collection, {field: {"secret":
    # "set" | "changed" | "cleared"}} for a secret; or an event's own data (a lock's end, the failures).
    changes: Mapped[Optional[dict]] = mapped_column(JSON(none_as_null=True))

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id or ''}".strip()

    # The row itself, for the console's formatters, which render the changes in the reader's language (they
    # need the object type and action besides the changes): shortened on the list, in full on the entry.
    @property
    def summary(self) -> "AuditLog":
        return self

    @property
    def details(self) -> "AuditLog":
        return self
