"""The satisfaction loop after a resolution (评价 and 回访).

- Each resolution opens a round: a survey due some hours later (the scheduler sends it unless the customer
  rated first or the ticket was reopened), one rating per round, a follow-up call some days after closing.
- A rating at or below the low-score line, or "the problem persists" (from the portal or a follow-up call),
  is reported to the team lead and put on the managers' review list; "problem persists" also reopens the
  ticket. A low rating alone does not reopen: the customer may be unhappy with how it went, not with the fix.
"""
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.models import FollowUp, LowScoreReview, SatisfactionSettings, Survey, Ticket
from app.services import status as st
from app.services import timeline
from app.services.errors import ConcurrentEdit, ServiceError
from app.services.satisfaction_text import OUTCOMES, ROOT_CAUSES
from app.timeutil import as_utc

MAX_COMMENT = 2000


def config(session: Session) -> SatisfactionSettings:
    """The settings row, or the defaults when `init` has not written it yet."""
    row = session.get(SatisfactionSettings, 1)
    if row is not None:
        return row
    defaults = {c.name: c.default.arg for c in SatisfactionSettings.__table__.columns
                if c.default is not None and not callable(c.default.arg)}
    return SatisfactionSettings(**defaults)


# ---------------------------------------------------------------- following the ticket's status

def on_status(session: Session, ticket: Ticket, old: str, new: str, *, now: datetime) -> None:
    """Called on every status change (tickets.transition, auto-close)."""
    if new == st.RESOLVED:
        ticket.resolution_round = (ticket.resolution_round or 0) + 1
        cfg = config(session)
        session.add(Survey(ticket=ticket, round=ticket.resolution_round, state="pending", resolved_at=now,
                           due_at=now + timedelta(hours=cfg.survey_delay_hours), created_at=now))
    elif new == st.CLOSED:
        _plan_follow_up(session, ticket, now=now)
    elif new == st.REOPENED:
        # This round's survey and call are moot: the next resolution brings new ones.
        session.execute(update(Survey).where(Survey.ticket_id == ticket.id, Survey.state == "pending")
                        .values(state="skipped").execution_options(synchronize_session=False))
        session.execute(update(FollowUp).where(FollowUp.ticket_id == ticket.id, FollowUp.state == "open")
                        .values(state="cancelled", version=FollowUp.version + 1)
                        .execution_options(synchronize_session=False))


def _plan_follow_up(session: Session, ticket: Ticket, *, now: datetime) -> None:
    cfg = config(session)
    if cfg.follow_up_days <= 0 or not ticket.resolution_round:
        return
    if not cfg.follow_up_all:
        survey = current_survey(session, ticket)
        if survey is not None and survey.score is not None:
            return
    exists = session.scalar(select(FollowUp.id).where(FollowUp.ticket_id == ticket.id,
                                                      FollowUp.round == ticket.resolution_round))
    if exists is None:
        session.add(FollowUp(ticket=ticket, round=ticket.resolution_round, state="open", created_at=now,
                             due_at=now + timedelta(days=cfg.follow_up_days)))


def current_survey(session: Session, ticket: Ticket) -> Survey | None:
    if not ticket.resolution_round:
        return None
    return session.scalar(select(Survey).where(Survey.ticket_id == ticket.id, Survey.round == ticket.resolution_round))


def can_rate(session: Session, ticket: Ticket) -> bool:
    if ticket.status not in (st.RESOLVED, st.CLOSED) or not ticket.resolution_round:
        return False
    survey = current_survey(session, ticket)
    return survey is None or survey.score is None


# ---------------------------------------------------------------- the customer's answers

def rate(session: Session, ticket: Ticket, score, comment: str | None, *, via: str, now: datetime,
         actor=None) -> Survey:
    """Record this resolution's rating, once. A second rating (a double tap, a retry) is refused."""
    now = as_utc(now)
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ServiceError(_l("Choose from 1 to 5 stars."), field="score")
    if ticket.status not in (st.RESOLVED, st.CLOSED) or not ticket.resolution_round:
        raise ServiceError(_l("The service can be rated once the request is resolved."), field="score")
    comment = (comment or "").strip()[:MAX_COMMENT] or None
    survey = current_survey(session, ticket)
    if survey is None:  # resolved before surveys existed
        survey = Survey(ticket=ticket, round=ticket.resolution_round, state="pending", resolved_at=ticket.resolved_at
                        or now, due_at=now, created_at=now)
        try:
            with session.begin_nested():
                session.add(survey)
        except IntegrityError:
            survey = current_survey(session, ticket)
    won = session.execute(
        update(Survey).where(Survey.id == survey.id, Survey.score.is_(None))
        .values(score=score, comment=comment, rated_at=now, rated_via=via, state="rated")
        .execution_options(synchronize_session=False)).rowcount
    if not won:
        raise ServiceError(_l("This service has already been rated. Thank you!"), field="score")
    session.refresh(survey)
    timeline.record(session, ticket, "rated", actor=actor, now=now, reason=comment,
                    data={"score": score, "via": via, "round": ticket.resolution_round})
    ticket.updated_at = now
    if via == "portal" and not config(session).follow_up_all:
        # Only the customers who did not rate are called: one who rated after closing needs no call now.
        session.execute(update(FollowUp).where(FollowUp.ticket_id == ticket.id, FollowUp.round == survey.round,
                                               FollowUp.state == "open")
                        .values(state="skipped", version=FollowUp.version + 1)
                        .execution_options(synchronize_session=False))
    if score <= config(session).low_score_max:
        report_low_score(session, ticket, "low_rating", score=score, reason=comment, now=now, actor=actor)
    return survey


def confirm(session: Session, ticket: Ticket, *, now: datetime, score=None, comment: str | None = None) -> None:
    """The customer says it is fixed: rated (when they gave stars) and closed."""
    from app.services import tickets as ticket_service

    now = as_utc(now)
    if ticket.status != st.RESOLVED:
        raise ServiceError(_l("Only a resolved request can be confirmed."), field="status")
    if score not in (None, ""):
        rate(session, ticket, score, comment, via="portal", now=now)
    timeline.record(session, ticket, "customer_confirmed", now=now)
    ticket_service.transition(session, ticket, st.CLOSED, now=now)


def may_reopen(session: Session, ticket: Ticket, *, now: datetime) -> bool:
    if ticket.status == st.RESOLVED:
        return True
    if ticket.status != st.CLOSED or ticket.closed_at is None:
        return False
    return as_utc(now) - ticket.closed_at <= timedelta(days=config(session).reopen_days)


def problem_persists(session: Session, ticket: Ticket, reason: str, *, now: datetime, actor=None) -> None:
    """The fix did not hold: the ticket is reopened with the customer's words and the team lead is told."""
    from app.services import tickets as ticket_service

    now = as_utc(now)
    reason = (reason or "").strip()[:MAX_COMMENT]
    if not reason:
        raise ServiceError(_l("Please tell us what is still wrong."), field="reason")
    if not may_reopen(session, ticket, now=now):
        raise ServiceError(_l("This request can no longer be reopened. Please submit a new one."), field="reason")
    ticket_service.transition(session, ticket, st.REOPENED, now=now, actor=actor, reason=reason)
    report_low_score(session, ticket, "problem_persists", reason=reason, now=now, actor=actor)


def report_low_score(session: Session, ticket: Ticket, trigger: str, *, now: datetime, score: int | None = None,
                     reason: str | None = None, actor=None) -> LowScoreReview | None:
    """Put the case on the review list (once per round and trigger) and tell the team lead why."""
    from app.services import notify

    review = LowScoreReview(ticket=ticket, round=ticket.resolution_round, trigger=trigger, score=score, reason=reason,
                            team_id=ticket.team_id, engineer_id=ticket.assignee_id, state="open", created_at=now)
    try:
        with session.begin_nested():
            session.add(review)
    except IntegrityError:
        return None  # already reported for this resolution
    user_ids, lead = notify.team_lead_or_managers(session, ticket)
    data = {"kind": "low_score", "trigger": trigger, "score": score, "reason": reason, "lead": lead}
    timeline.record(session, ticket, "low_score", actor=actor, now=now, data=data, reason=reason)
    notify.tell_staff(session, ticket, "low_satisfaction", data, now, user_ids)
    return review


# ---------------------------------------------------------------- the scheduler's survey run

def send_due_surveys(session: Session, *, now: datetime, batch: int = 200) -> int:
    """Send every survey that is due, one transaction per batch. Each survey is claimed with a conditional
    update, so of two schedulers only one sends it; PostgreSQL also hands them disjoint rows (SKIP LOCKED)."""
    now = as_utc(now)
    query = (select(Survey).where(Survey.state == "pending", Survey.due_at <= now).order_by(Survey.due_at)
             .limit(batch).options(selectinload(Survey.ticket)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Survey)
    sent = 0
    while True:
        due = session.scalars(query).all()
        for survey in due:
            ticket = survey.ticket
            still_wanted = ticket.status in (st.RESOLVED, st.CLOSED) and ticket.resolution_round == survey.round
            state = "sent" if still_wanted else "skipped"
            claimed = session.execute(
                update(Survey).where(Survey.id == survey.id, Survey.state == "pending")
                .values(state=state, sent_at=now if still_wanted else None)
                .execution_options(synchronize_session=False)).rowcount
            if claimed and still_wanted:
                timeline.record(session, ticket, "survey_sent", now=now, data={"round": survey.round})
                sent += 1
        session.commit()
        if len(due) < batch:
            return sent


# ---------------------------------------------------------------- the clerks' follow-up calls

def record_call(session: Session, follow_up: FollowUp, outcome: str, *, now: datetime, actor=None,
                note: str | None = None, score=None, expected_version=None) -> FollowUp:
    """A clerk's follow-up call: satisfied or declined closes the task; unreachable retries later until the
    attempts run out; "problem persists" reopens the ticket and reports it."""
    now = as_utc(now)
    if expected_version not in (None, "") and str(expected_version) != str(follow_up.version):
        raise ConcurrentEdit(_l("Someone else recorded this call while you were on it. Reload the list."))
    if follow_up.state != "open":
        raise ServiceError(_l("This follow-up call is already done."), field="outcome")
    if outcome not in OUTCOMES:
        raise ServiceError(_l("Choose the outcome of the call."), field="outcome")
    note = (note or "").strip()[:MAX_COMMENT] or None
    if outcome == "problem_persists" and not note:
        raise ServiceError(_l("Write down what the customer says is still wrong."), field="note")
    if score not in (None, "") and outcome != "satisfied":
        # Not dropped without a word: stars rate a finished service; a persisting problem is a reopen.
        raise ServiceError(_l("A rating is recorded only with the outcome “%(outcome)s”.",
                              outcome=OUTCOMES["satisfied"]), field="score")
    ticket = follow_up.ticket
    cfg = config(session)
    follow_up.attempts += 1
    follow_up.outcome, follow_up.note, follow_up.last_attempt_at = outcome, note, now
    data = {"outcome": outcome, "attempt": follow_up.attempts, "round": follow_up.round}
    if outcome == "unreachable" and follow_up.attempts < cfg.follow_up_max_attempts:
        follow_up.due_at = now + timedelta(hours=cfg.follow_up_retry_hours)
        data["retry_at"] = follow_up.due_at.isoformat()
        from app.services import settings
        from app.timeutil import to_local

        data["retry_at_local"] = to_local(follow_up.due_at, settings.current().timezone).strftime("%Y-%m-%d %H:%M")
    else:
        follow_up.state, follow_up.done_at, follow_up.done_by_id = "done", now, getattr(actor, "id", None)
    timeline.record(session, ticket, "follow_up", actor=actor, now=now, data=data, reason=note)
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise ConcurrentEdit(_l("Someone else recorded this call while you were on it. Reload the list.")) from None
    if score not in (None, "") and outcome == "satisfied" and can_rate(session, ticket):
        rate(session, ticket, score, note, via="call", now=now, actor=actor)
    if outcome == "problem_persists":
        if may_reopen(session, ticket, now=now):
            problem_persists(session, ticket, note, now=now, actor=actor)
        else:
            report_low_score(session, ticket, "problem_persists", reason=note, now=now, actor=actor)
    return follow_up


# ---------------------------------------------------------------- the managers' review

def review(session: Session, item: LowScoreReview, root_cause: str, note: str | None, *, now: datetime,
           actor=None) -> None:
    if root_cause not in ROOT_CAUSES:
        raise ServiceError(_l("Choose the root cause."), field="root_cause")
    item.root_cause = root_cause
    item.review_note = (note or "").strip()[:MAX_COMMENT] or None
    item.state, item.reviewed_at, item.reviewed_by_id = "done", as_utc(now), getattr(actor, "id", None)
