"""Intake configuration and bookkeeping: classification rules, synonyms, settings, channel tokens,
the idempotency log of every message received, mailboxes to poll, and stored attachments."""
from datetime import datetime
from typing import Optional

from sqlalchemy import (
    BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder import Model

from app.timeutil import utcnow

IOT_SEVERITIES = ("info", "warning", "critical")


class ClassificationRule(Model):
    """One manager-edited rule: if every condition given holds, apply the actions given.

    Rules run in `position` order. For category, service type, priority and team the first matching
    rule that sets one wins; priority raises and tags add up; `stop` ends the evaluation.
    """

    __tablename__ = "classification_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Shipped rules have a code so `init` can add missing ones without touching edited ones.
    code: Mapped[Optional[str]] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    position: Mapped[int] = mapped_column(Integer, default=100, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    stop: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    # conditions (empty = no condition)
    keywords: Mapped[Optional[str]] = mapped_column(Text)  # one per line or comma-separated
    all_keywords: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    pattern: Mapped[Optional[str]] = mapped_column(String(300))  # a regular expression on the text
    channels: Mapped[Optional[str]] = mapped_column(String(200))  # comma-separated channel codes
    product_line_id: Mapped[Optional[int]] = mapped_column(ForeignKey("product_line.id"))
    product_line = relationship("ProductLine")
    customer_tier: Mapped[Optional[str]] = mapped_column(String(10))
    min_severity: Mapped[Optional[str]] = mapped_column(String(10))
    max_sentiment: Mapped[Optional[float]] = mapped_column(Float)
    repeat_within_days: Mapped[Optional[int]] = mapped_column(Integer)

    # actions
    category_id: Mapped[Optional[int]] = mapped_column(ForeignKey("category.id"))
    category = relationship("Category")
    service_type_id: Mapped[Optional[int]] = mapped_column(ForeignKey("service_type.id"))
    service_type = relationship("ServiceType")
    priority_id: Mapped[Optional[int]] = mapped_column(ForeignKey("priority.id"))
    priority = relationship("Priority")
    raise_priority: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("team.id"))
    team = relationship("Team")
    tags: Mapped[Optional[str]] = mapped_column(String(200))
    confidence: Mapped[float] = mapped_column(Float, default=0.9, nullable=False)

    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)

    def __str__(self) -> str:
        return self.name


class SynonymGroup(Model):
    """Words that mean the same to the rules: 无法开机 = 开不了机 = 不开机 = won't turn on."""

    __tablename__ = "synonym_group"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[Optional[str]] = mapped_column(String(40), unique=True)
    words: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)

    def __str__(self) -> str:
        return self.words


class IntakeSettings(Model):
    """The manager's knobs for intake; one row (id 1)."""

    __tablename__ = "intake_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    review_threshold: Mapped[float] = mapped_column(Float, default=0.6, nullable=False)
    default_priority_id: Mapped[Optional[int]] = mapped_column(ForeignKey("priority.id"))
    default_priority = relationship("Priority")
    dedupe_window_hours: Mapped[int] = mapped_column(Integer, default=24, nullable=False)
    dedupe_similarity: Mapped[int] = mapped_column(Integer, default=60, nullable=False)
    iot_window_hours: Mapped[int] = mapped_column(Integer, default=24, nullable=False)
    max_attachment_kb: Mapped[int] = mapped_column(Integer, default=10240, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)


class IntegrationToken(Model):
    """A secret an integrator (app, web chat, WeChat, CTI, IoT platform) sends as X-Channel-Token.
    Only its SHA-256 is stored; the token itself is shown once, when it is created."""

    __tablename__ = "integration_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    prefix: Mapped[str] = mapped_column(String(12), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    last_used_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IntakeRecord(Model):
    """Every message received, keyed by (channel, message id): a retry finds what the first delivery
    did — the ticket it created, merged into, threaded onto, or that it was ignored."""

    __tablename__ = "intake_record"
    __table_args__ = (UniqueConstraint("channel", "message_key", name="uq_intake_record_message"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    message_key: Mapped[str] = mapped_column(String(250), nullable=False)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id"), index=True)
    ticket = relationship("Ticket")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class Mailbox(Model):
    """An IMAP mailbox the scheduler polls; new mail becomes tickets or replies on tickets."""

    __tablename__ = "mailbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    host: Mapped[str] = mapped_column(String(200), nullable=False)
    port: Mapped[int] = mapped_column(Integer, default=993, nullable=False)
    use_ssl: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    username: Mapped[str] = mapped_column(String(200), nullable=False)
    password: Mapped[str] = mapped_column(String(200), nullable=False)
    folder: Mapped[str] = mapped_column(String(100), default="INBOX", nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    # IMAP UIDs and UIDVALIDITY are unsigned 32-bit: beyond a signed INTEGER.
    uid_validity: Mapped[Optional[int]] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    last_polled_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    last_error: Mapped[Optional[str]] = mapped_column(Text)

    def __str__(self) -> str:
        return self.name


class TicketAttachment(Model):
    """A file that came with a report (e-mail attachment, photo). Kept in the database so that every
    web machine sees it and it is saved or lost together with the ticket."""

    __tablename__ = "ticket_attachment"
    __table_args__ = (Index("ix_ticket_attachment_ticket", "ticket_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False)
    ticket = relationship("Ticket")
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
