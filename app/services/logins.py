"""Locking a login after failed attempts (README "Security").

FAB counts the wrong passwords in a row in ab_user.fail_login_count and sets it back to 0 on a good one.
Reaching `attempts` locks the login for `minutes`: until then it is refused without the password being
checked, so guessing on cannot find it. After the lock the count stays where it was, and the next wrong
password locks the login again at once; a good one starts afresh.

A lock, an administrator's unlock and a lock lifted by a new password are written to the audit trail
(app.services.audit) in the same transaction; a good password after a lock ran out is not (nobody acted).
"""
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.models import LoginLock, User
from app.services import audit


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
    audit.record(session, audit.LOCK, user, now=now, data={"failures": failures, "until": audit.plain(until)})
    return until


def unlock(session: Session, user: User) -> None:
    """A good password, a new password or an admin's unlock: no lock and no failures counted."""
    user.fail_login_count = 0
    session.execute(delete(LoginLock).where(LoginLock.user_id == user.id))


def admin_unlock(session: Session, user: User, *, now: datetime) -> None:
    """An administrator lets a login in again at once; the audit trail says who, and how many wrong passwords
    there had been."""
    failures = user.fail_login_count or 0
    locked = locked_until(session, user.id, now) is not None
    unlock(session, user)
    audit.record(session, audit.UNLOCK, user, now=now, data={"failures": failures, "locked": locked})


def new_password_unlock(session: Session, user: User, *, now: datetime) -> None:
    """A new password lifts a lock too: logged when there was one still running."""
    locked = locked_until(session, user.id, now) is not None
    failures = user.fail_login_count or 0
    unlock(session, user)
    if locked:
        audit.record(session, audit.UNLOCK, user, now=now, data={"failures": failures, "locked": True,
                                                                   "by_password": True})
