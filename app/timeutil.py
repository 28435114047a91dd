"""Time helpers: the database stores naive UTC; people see the configured time zone."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Naive UTC, the form every DateTime column holds."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def as_utc(value: datetime) -> datetime:
    """Accept aware or naive-UTC datetimes from callers; return naive UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def iso_utc(value: datetime | None) -> str | None:
    """A naive-UTC time as RFC 3339 text with its offset (2026-05-01T01:30:00+00:00), as the REST API writes
    every time."""
    if value is None:
        return None
    return as_utc(value).replace(tzinfo=timezone.utc).isoformat()


FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2100, 12, 31)


def parse_day(text) -> date | None:
    """A day as a form writes it (2026-11-03), between FIRST_DAY and LAST_DAY; None for anything else, so that
    date arithmetic on it can never overflow."""
    try:
        day = date.fromisoformat(str(text or "").strip())
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def to_local(value: datetime | None, tz_name: str) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz_name))


def from_local(value: datetime | None, tz_name: str) -> datetime | None:
    """A naive local wall-clock time (as typed in a form) as naive UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=ZoneInfo(tz_name)).astimezone(timezone.utc).replace(tzinfo=None)
