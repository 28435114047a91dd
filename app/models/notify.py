"""Notifications: the outbox, its delivery attempts, the managers' templates, integrators' endpoints and
who wants what.

A notification row is one message to one recipient over one channel. It is written in the same
transaction as the event that caused it, so it can never be lost or sent for something that did not
happen; the scheduler's delivery job reads the due rows.
"""
from datetime import datetime, time
from typing import Optional

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder import Model

from app.timeutil import utcnow

PENDING, SENT, DEAD, SKIPPED = "pending", "sent", "dead", "skipped"


class Notification(Model):
    __tablename__ = "notification"
    __table_args__ = (
        # The delivery job's queue: what is due, oldest first.
        Index("ix_notification_state_next", "state", "next_attempt_at"),
        # The bell: a user's unread in-app messages.
        Index("ix_notification_inbox", "user_id", "channel", "read_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # Idempotency key: the same event for the same recipient and channel is one message, however often
    # the writer is retried. Sent along (Message-ID, X-Idempotency-Key) so receivers can drop repeats.
    key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    event: Mapped[str] = mapped_column(String(40), nullable=False)
    channel: Mapped[str] = mapped_column(String(10), nullable=False, default="inapp")
    language: Mapped[str] = mapped_column(String(5), nullable=False, default="zh")
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    ticket = relationship("Ticket")
    # Exactly one recipient: a staff login, a customer, or an integrator's endpoint.
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    user = relationship("User")
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    customer = relationship("Customer")
    endpoint_id: Mapped[Optional[int]] = mapped_column(ForeignKey("notify_endpoint.id", ondelete="CASCADE"),
                                                       index=True)
    endpoint = relationship("NotifyEndpoint")
    # E-mail address, phone number or WeChat openid, as it was when the message was written.
    address: Mapped[Optional[str]] = mapped_column(String(200))
    data: Mapped[Optional[dict]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # When the delivery job may (next) try: later than created_at for quiet hours and back-off, and
    # pushed ahead while a job holds it, so a crashed sender's message comes round again.
    next_attempt_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    read_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    attempt_log = relationship("NotificationAttempt", back_populates="notification", cascade="all, delete-orphan",
                               order_by="NotificationAttempt.id")

    def __str__(self) -> str:
        return self.key

    @property
    def recipient(self) -> str:
        from app.services.notify import recipient_name

        return recipient_name(self)

    @property
    def inbox_message(self) -> tuple[int, str, str]:
        """(id, title, text) of an in-app message, in the current language."""
        from app.services.notify_delivery import inbox_message

        return inbox_message(self)


class NotificationAttempt(Model):
    """One try to hand a message to its channel, with what the other side answered."""

    __tablename__ = "notification_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id", ondelete="CASCADE"), nullable=False,
                                                 index=True)
    notification = relationship("Notification", back_populates="attempt_log")
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    error: Mapped[Optional[str]] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class NotificationTemplate(Model):
    """What a message says, per event × channel × language; placeholders are checked on save."""

    __tablename__ = "notification_template"
    __table_args__ = (UniqueConstraint("event", "channel", "language", name="uq_notification_template"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(40), nullable=False)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    language: Mapped[str] = mapped_column(String(5), nullable=False)
    subject: Mapped[Optional[str]] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    # A WeChat template message is sent against a template approved in the official account.
    wechat_template_id: Mapped[Optional[str]] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)


class NotifyEndpoint(Model):
    """An integrator's webhook (signed JSON) or a WeCom / DingTalk / Feishu group robot, subscribed to events."""

    __tablename__ = "notify_endpoint"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="webhook")
    url: Mapped[str] = mapped_column(String(500), nullable=False)
    # HMAC key of a webhook, or the robot's signing secret (DingTalk 加签, Feishu 签名校验).
    secret: Mapped[Optional[str]] = mapped_column(String(200))
    # Comma-separated event codes.
    events: Mapped[str] = mapped_column(String(400), nullable=False)
    # Only tickets of this team (a service station's group chat); none = all.
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("team.id"))
    team = relationship("Team")
    language: Mapped[str] = mapped_column(String(5), nullable=False, default="zh")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)

    def __str__(self) -> str:
        return self.name


class StaffNotifyPreference(Model):
    """A staff member's choice of channels besides the console's bell, which always rings."""

    __tablename__ = "staff_notify_preference"
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    user = relationship("User")
    email: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    sms: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    phone: Mapped[Optional[str]] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(5), nullable=False, default="zh")


class NotifySettings(Model):
    """The manager's delivery rules; one row (id 1)."""

    __tablename__ = "notify_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Non-urgent customer messages written in these local hours wait until the end of them.
    quiet_start: Mapped[Optional[time]] = mapped_column(Time, default=time(21, 0))
    quiet_end: Mapped[Optional[time]] = mapped_column(Time, default=time(8, 0))
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=8)
    # The first retry waits this long, each further one twice as long (capped at 6 hours).
    retry_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)
