"""Time arithmetic in SQL that reads the same on SQLite and PostgreSQL: the local calendar day of a UTC column,
hours between two columns, the smaller or larger of two times. The database holds naive UTC."""
import sqlite3
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Date, Integer, case, cast, func, literal_column
from sqlalchemy.orm import Session

from app.timeutil import to_local


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


@lru_cache(maxsize=64)
def offsets(tz: str, start: datetime, end: datetime) -> tuple[tuple[datetime, int], ...]:
    """(UTC instant from which it applies, offset in minutes) for the zone across [start, end): one entry for
    zones without daylight saving, such as Asia/Shanghai."""
    def offset(at: datetime) -> int:
        return int(to_local(at, tz).utcoffset().total_seconds() // 60)

    changes, current, probe = [(start, offset(start))], offset(start), start
    while probe < end:  # clocks change at most once a day: probe daily, then close in on the minute
        step = min(probe + timedelta(days=1), end)
        if offset(step) != current:
            low, high = probe, step
            while high - low > timedelta(minutes=1):
                mid = low + (high - low) / 2
                low, high = (mid, high) if offset(mid) == current else (low, mid)
            current = offset(high)
            changes.append((high, current))
        probe = step
    return tuple(changes)


# Python's date ordinal of the Julian day number 0 (date.fromordinal(jdn - JDN_OFFSET) is that day).
JDN_OFFSET = 1721425


def _shifted_day(session: Session, column, minutes: int):
    if dialect(session) == "postgresql":
        return cast(column + literal_column(f"INTERVAL '{int(minutes)} minutes'"), Date)
    # SQLite: the Julian day number of the local date, as an integer. julianday() counts from noon, hence the
    # half day; measured at 1M tickets it groups a month ~40 % faster than date(column, '+480 minutes').
    return cast(func.julianday(column) + (0.5 + minutes / 1440.0), Integer)


def local_day(session: Session, column, tz: str, start: datetime, end: datetime):
    """The local calendar day of a UTC column for rows in [start, end), as SQL: a date on PostgreSQL, a Julian
    day number on SQLite (as_date reads both)."""
    changes = offsets(tz, start, end)
    if len(changes) == 1:
        return _shifted_day(session, column, changes[0][1])
    whens = [(column < at, _shifted_day(session, column, minutes))
             for (_, minutes), (at, _) in zip(changes, changes[1:])]
    return case(*whens, else_=_shifted_day(session, column, changes[-1][1]))


def as_date(value) -> date:
    if isinstance(value, int):
        return date.fromordinal(value - JDN_OFFSET)
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# unixepoch() (SQLite 3.38+) reads a timestamp in about two thirds of julianday()'s time; older SQLite gets julianday.
_SQLITE_UNIXEPOCH = sqlite3.sqlite_version_info >= (3, 38, 0)


def hours_between(session: Session, earlier, later):
    """Hours from one UTC column (or value) to another, to the second."""
    if dialect(session) == "postgresql":
        # date_part() is double precision; EXTRACT() is numeric since PostgreSQL 14, a third slower to add up.
        return func.date_part("epoch", later - earlier) / 3600.0
    if _SQLITE_UNIXEPOCH:
        return (func.unixepoch(later) - func.unixepoch(earlier)) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def least(session: Session, *values):
    return func.least(*values) if dialect(session) == "postgresql" else func.min(*values)


def greatest(session: Session, *values):
    return func.greatest(*values) if dialect(session) == "postgresql" else func.max(*values)
