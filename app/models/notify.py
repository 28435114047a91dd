"""The outbox: a notification request is written in the same transaction as the event that caused it,
so it can never be lost or sent for something that did not happen. Delivery reads the pending rows."""
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder import Model

from app.timeutil import utcnow


class Notification(Model):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_state_created", "state", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # Idempotency key: the same event for the same recipient is one message, however often it is retried.
    key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    event: Mapped[str] = mapped_column(String(40), nullable=False)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    ticket = relationship("Ticket")
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"), index=True)
    user = relationship("User")
    data: Mapped[Optional[dict]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
