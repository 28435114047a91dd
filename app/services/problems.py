"""Problem records (问题单): created from a recurring-problem group or by hand, with the tickets they explain."""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.models import Product
from app.models.problem import Problem, ProblemTicket
from app.services.errors import ServiceError
from app.timeutil import as_utc

OPEN, KNOWN_ERROR, RESOLVED = "open", "known_error", "resolved"
STATES = {OPEN: _l("Investigating"), KNOWN_ERROR: _l("Known error"), RESOLVED: _l("Resolved")}


def prepare(problem: Problem, *, now: datetime) -> None:
    """Check a problem before it is saved; resolving one records when."""
    problem.title = (problem.title or "").strip()
    if not problem.title:
        raise ServiceError(_l("Title is required."), field="title")
    if problem.state not in STATES:
        raise ServiceError(_l("Unknown state."), field="state")
    if problem.state == RESOLVED and problem.resolved_at is None:
        problem.resolved_at = as_utc(now)
    elif problem.state != RESOLVED:
        problem.resolved_at = None


def from_cluster(session: Session, *, product_id: int, words: tuple[str, ...], ticket_ids: list[int],
                 now: datetime, actor=None) -> tuple[Problem, int]:
    """A new problem named after the group's model and words, with the group's tickets linked to it. An open
    problem already made from the same group (a double click, two managers) is reused, not made twice."""
    existing = session.scalar(select(Problem).where(
        Problem.product_id == product_id, Problem.keywords == " ".join(words), Problem.state != RESOLVED)
        .order_by(Problem.id).limit(1))
    if existing is not None:
        return existing, link(session, existing, ticket_ids, now=now, actor=actor)
    product = session.get(Product, product_id)
    label = "、".join(words)
    problem = Problem(title=f"{product.model} {label}" if product else label, product_id=product_id,
                      keywords=" ".join(words), state=OPEN, created_by_id=getattr(actor, "id", None),
                      created_at=as_utc(now), updated_at=as_utc(now))
    session.add(problem)
    session.flush()
    return problem, link(session, problem, ticket_ids, now=now, actor=actor)


def link(session: Session, problem: Problem, ticket_ids: list[int], *, now: datetime, actor=None) -> int:
    """Link the tickets not yet under any problem; returns how many were linked now.

    The ticket is the key, so a ticket already explained by another problem stays there, and two managers
    linking the same group at once link each ticket once."""
    if not ticket_ids:
        return 0
    before = linked_count(session, problem.id)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    rows = [{"ticket_id": t, "problem_id": problem.id, "linked_at": as_utc(now),
             "linked_by_id": getattr(actor, "id", None)} for t in ticket_ids]
    for chunk in range(0, len(rows), 1000):
        session.execute(insert(ProblemTicket).values(rows[chunk:chunk + 1000]).on_conflict_do_nothing())
    problem.updated_at = as_utc(now)
    return linked_count(session, problem.id) - before


def unlink(session: Session, problem: Problem, ticket_id: int) -> None:
    row = session.get(ProblemTicket, ticket_id)
    if row is None or row.problem_id != problem.id:
        raise ServiceError(_l("That ticket is not linked to this problem."), field="ticket")
    session.delete(row)


def linked_count(session: Session, problem_id: int) -> int:
    return session.scalar(select(func.count()).select_from(ProblemTicket)
                          .where(ProblemTicket.problem_id == problem_id)) or 0


def of_ticket(session: Session, ticket_id: int) -> Problem | None:
    row = session.get(ProblemTicket, ticket_id)
    return row.problem if row is not None else None
