"""Integration tokens: one per integrator and channel, shown once, stored as a SHA-256 digest."""
import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import IntegrationToken
from app.services.errors import ServiceError
from app.services.vocabulary import CHANNELS
from app.timeutil import as_utc

PREFIX = "sit_"  # recognisable in logs and secret scanners


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue(session: Session, token: IntegrationToken) -> str:
    """Give a new token row its secret; returns the secret (shown to the admin once)."""
    if token.channel not in CHANNELS:
        raise ServiceError(_l("Unknown channel: %(channel)s", channel=token.channel), field="channel")
    if not (token.name or "").strip():
        raise ServiceError(_l("Name is required."), field="name")
    raw = PREFIX + secrets.token_urlsafe(32)
    token.prefix = raw[:10]
    token.token_hash = _digest(raw)
    session.add(token)
    return raw


def verify(session: Session, raw: str | None, *, now: datetime) -> IntegrationToken | None:
    if not raw or not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    token = session.scalar(select(IntegrationToken).where(IntegrationToken.token_hash == _digest(raw.strip())))
    if token is None or not token.active:
        return None
    now = as_utc(now)
    # Written at most once a minute, so a busy integration doesn't update this row on every call.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return token
