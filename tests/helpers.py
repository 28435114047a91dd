from datetime import datetime

from sqlalchemy import select

from app.models import Engineer, Priority, User
from app.services import tickets

NOW = datetime(2026, 11, 22, 2, 30)  # 10:30 in Shanghai


def user(session, username):
    return session.scalar(select(User).where(User.username == username))


def engineer_of(session, username="engineer"):
    return session.scalar(select(Engineer).join(User, Engineer.user_id == User.id).where(User.username == username))


def other_engineer(session, username="engineer"):
    mine = engineer_of(session, username)
    return session.scalar(select(Engineer).where(Engineer.id != mine.id, Engineer.active.is_(True)).limit(1))


def new_ticket(session, subject="热水器漏水", now=NOW, **fields):
    fields.setdefault("priority", session.scalar(select(Priority).where(Priority.code == "high")))
    ticket, created = tickets.create_ticket(session, channel=fields.pop("channel", "phone"), subject=subject,
                                            description="客户来电：热水器底部滴水", now=now,
                                            actor=user(session, "clerk"), **fields)
    session.commit()
    return ticket


def run_together(app, *jobs) -> tuple[list, list]:
    """Run each job(session) in its own thread and app context, released at the same moment (two schedulers,
    two clerks). Returns (results in job order, errors)."""
    import threading

    from app.extensions import db

    results, errors, start = [None] * len(jobs), [], threading.Barrier(len(jobs))

    def run(i, job):
        with app.app_context():
            try:
                start.wait()
                results[i] = job(db.session)
            except Exception as exc:  # noqa: BLE001  (returned to the test, which asserts on it)
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors
