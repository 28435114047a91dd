"""Locking a login after failed attempts (README "Security").

FAB counts the wrong passwords in a row in ab_user.fail_login_count and sets it back to 0 on a good one.
Reaching `attempts` locks the login for `minutes`: until then it is refused without the password being
checked, so guessing on cannot find it. After the lock the count stays where it was, and the next wrong
password locks the login again at once; a good one starts afresh.
"""
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.models import LoginLock, User


def locked_until(session: Session, user_id: int, now: datetime) -> datetime | None:
    """When this login's lock ends, if it is locked now."""
    lock = session.get(LoginLock, user_id)
    if lock is None or lock.locked_until <= now:
        return None
    return lock.locked_until


def failed(session: Session, user: User, failures: int, *, now: datetime, attempts: int,
           minutes: int) -> datetime | None:
    """A wrong password, the `failures`-th in a row: locks the login when that is enough. Returns the lock's end."""
    if attempts <= 0 or failures < attempts:
        return None
    until = now + timedelta(minutes=minutes)
    lock = session.get(LoginLock, user.id)
    if lock is None:
        session.add(LoginLock(user_id=user.id, locked_until=until))
    else:
        lock.locked_until = until
    return until


def unlock(session: Session, user: User) -> None:
    """A good password, a new password or an admin's unlock: no lock and no failures counted."""
    user.fail_login_count = 0
    session.execute(delete(LoginLock).where(LoginLock.user_id == user.id))
