"""SLA clocks: which promise applies to a ticket, when its deadlines fall, and what is due next.

A ticket's clock is a log of segments (SlaSegment) during which it ran or stood still — waiting for the
customer, for parts, or resolved until the customer confirms. Deadlines are worked out from the segments
in the policy's business calendar, so a pause moves them on resume, and a change of priority, category or
policy simply recomputes them.

The bookkeeping is kept in the same flush as any change to a ticket (any code path: services, console
forms, REST), like the engineers' load: segments are opened and closed, deadlines, the at-risk time and
the scheduler's next-check time are written — with plain UPDATEs that do not bump the ticket's version,
so a clerk's open form is never invalidated by the clock. The scheduler (app.services.escalate) reads
the same plan to carry out what is due.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import DateTime, bindparam, case, event, func, insert, inspect, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.models import Customer, SlaCheck, SlaSegment, SlaStep, Ticket
from app.services import rules
from app.services import status as st
from app.services.sla_config import Policy, SlaConfig

PAUSED_STATUSES = frozenset({st.WAITING_CUSTOMER, st.WAITING_PARTS, st.RESOLVED, st.CLOSED, st.CANCELLED})
RUNNING = "running"
# Reminders and escalations go to whoever is at risk of missing it; "at risk" starts at the first reminder
# point, or with the last fifth of the time when the policy sets none.
AT_RISK_SHARE = 0.8
DUE_COLUMNS = {"response": "first_response_due_at", "arrival": "arrival_due_at", "resolution": "resolution_due_at"}
MET_COLUMNS = {"response": "responded_at", "arrival": "arrived_at", "resolution": "resolved_at"}
_WATCHED = ("status", "priority_id", "category_id", "service_type_id", "customer_id", "channel", "responded_at",
            "arrived_at", "resolved_at", "assignee_id", "assigned_at", "assignment_round")
# The ticket columns a plan sets (the next check has its own table, SlaCheck).
WRITTEN = ("sla_policy_id", *DUE_COLUMNS.values(), "sla_due_at", "sla_warn_at", "escalation_level")


def pause_reason(status: str) -> str:
    """What a segment that starts with this status is: running, or paused for this reason."""
    return status if status in PAUSED_STATUSES else RUNNING


@dataclass
class Facts:
    """What the clock needs of a ticket, read from a row or an ORM object alike."""
    id: int
    status: str
    created_at: datetime
    channel: str
    priority_id: int | None = None
    category_id: int | None = None
    service_type_id: int | None = None
    customer_tier: str | None = None
    responded_at: datetime | None = None
    arrived_at: datetime | None = None
    resolved_at: datetime | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    assigned_at: datetime | None = None
    assignment_round: int = 0
    escalation_level: int = 0
    sla_policy_id: int | None = None
    first_response_due_at: datetime | None = None
    arrival_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    sla_due_at: datetime | None = None
    sla_warn_at: datetime | None = None
    number: str | None = None
    sla_next_check_at: datetime | None = None  # SlaCheck.next_at, when read by the scheduler


FACT_COLUMNS = [c for c in Facts.__dataclass_fields__ if c not in ("customer_tier", "sla_next_check_at")]


@dataclass(frozen=True)
class Segment:
    started_at: datetime
    ended_at: datetime | None
    running: bool
    reason: str


class Clock:
    """Working time along a ticket's segments."""

    def __init__(self, calendar, segments: list[Segment]):
        self.calendar = calendar
        self.segments = segments

    def instant_at(self, amount: timedelta) -> datetime | None:
        """When `amount` of running working time is (or was) reached; None while the clock stands still
        before reaching it."""
        remaining = amount
        for seg in self.segments:
            if not seg.running:
                continue
            if seg.ended_at is None:
                return self.calendar.add(seg.started_at, remaining)
            worked = self.calendar.between(seg.started_at, seg.ended_at)
            if remaining <= worked:
                return self.calendar.add(seg.started_at, remaining)
            remaining -= worked
        return None

    def elapsed(self, until: datetime) -> timedelta:
        total = timedelta(0)
        for seg in self.segments:
            if seg.running and seg.started_at < until:
                total += self.calendar.between(seg.started_at, min(seg.ended_at or until, until))
        return total


@dataclass(frozen=True)
class Step:
    kind: str  # remind | escalate | chase
    target: str  # response | arrival | resolution | assignment
    level: int
    round: int
    due_at: datetime
    deadline: datetime | None = None
    reminder: object = None
    rung: object = None

    @property
    def key(self) -> tuple:
        return self.kind, self.target, self.level, self.round


@dataclass
class Plan:
    policy: Policy | None
    deadlines: dict = field(default_factory=dict)  # target -> datetime | None (None = paused)
    sla_due_at: datetime | None = None
    sla_warn_at: datetime | None = None
    next_check_at: datetime | None = None
    due: list = field(default_factory=list)  # steps at or before `now`, not yet done, in order


def _reminder_amount(policy: Policy, target: str, reminder) -> timedelta | None:
    total = policy.targets[target]
    amount = total * (reminder.percent / 100) if reminder.percent is not None else total - reminder.before
    return amount if amount > timedelta(0) else None


def _warn_amount(policy: Policy, target: str) -> timedelta:
    """Working time after which a target is at risk: its first reminder point."""
    points = [a for r in policy.reminders if (a := _reminder_amount(policy, target, r)) is not None]
    return min(points) if points else policy.targets[target] * AT_RISK_SHARE


def _ladder_steps(policy: Policy, target: str, deadline: datetime, done: set, now: datetime):
    """The escalation steps still to come for a breached (or soon breached) target. A rung's repeats stop
    when the next rung starts; repeats missed while the scheduler was down collapse into the latest one."""
    for index, rung in enumerate(policy.ladder):
        first = deadline + rung.after
        limit = deadline + policy.ladder[index + 1].after if index + 1 < len(policy.ladder) else None
        rounds = {key[3] for key in done if key[:3] == ("escalate", target, rung.level)}
        if 0 not in rounds:
            yield Step("escalate", target, rung.level, 0, first, deadline, rung=rung)
            continue
        if rung.repeat is None:
            continue
        k = max(rounds) + 1
        if first + rung.repeat * k <= now:
            k = max(k, (now - first) // rung.repeat)
        if limit is not None:
            k = min(k, (limit - first - timedelta(microseconds=1)) // rung.repeat)  # the last round before it
            if k <= max(rounds):
                continue
        at = first + rung.repeat * k
        yield Step("escalate", target, rung.level, k, at, deadline, rung=rung)


def plan(facts: Facts, segments: list[Segment], done: set, config: SlaConfig, *, on_site: bool,
         chase: tuple[int, int], now: datetime) -> Plan:
    """Deadlines, at-risk time, next check and the steps due now for one ticket (pure: no database)."""
    policy = config.match(facts) if facts.status in st.OPEN_STATUSES or facts.sla_policy_id is None else (
        config.policy(facts.sla_policy_id) or config.match(facts))
    result = Plan(policy)
    candidates: list[Step] = []
    if policy is not None:
        clock = Clock(policy.calendar, segments)
        pending = []
        for target, amount in policy.targets.items():
            if target == "arrival" and not on_site:
                continue
            if getattr(facts, MET_COLUMNS[target]) is not None:
                result.deadlines[target] = getattr(facts, DUE_COLUMNS[target])  # met: the deadline stays as it was
                continue
            if facts.status not in st.OPEN_STATUSES:  # closed or cancelled: the deadlines stay as they were
                result.deadlines[target] = getattr(facts, DUE_COLUMNS[target])
                continue
            deadline = clock.instant_at(amount)
            result.deadlines[target] = deadline
            if deadline is not None:
                pending.append((deadline, target))
        for deadline, target in pending:
            for number, reminder in enumerate(policy.reminders, 1):
                amount = _reminder_amount(policy, target, reminder)
                if amount is not None and ("remind", target, number, 0) not in done:
                    candidates.append(Step("remind", target, number, 0, clock.instant_at(amount), deadline,
                                           reminder=reminder))
            candidates.extend(_ladder_steps(policy, target, deadline, done, now))
        if pending:
            deadline, target = min(pending)
            result.sla_due_at = deadline
            result.sla_warn_at = clock.instant_at(_warn_amount(policy, target))
    remind_after, redispatch_after = chase
    if facts.status == st.ASSIGNED and facts.assigned_at is not None:
        for level, minutes in ((1, remind_after), (2, redispatch_after)):
            if minutes and ("chase", "assignment", level, facts.assignment_round) not in done:
                candidates.append(Step("chase", "assignment", level, facts.assignment_round,
                                       facts.assigned_at + timedelta(minutes=minutes)))
    if candidates:
        result.next_check_at = min(c.due_at for c in candidates)
        order = {"remind": 0, "chase": 1, "escalate": 2}
        result.due = sorted((c for c in candidates if c.due_at <= now),
                            key=lambda c: (c.due_at, order[c.kind], c.level, c.round))
    return result


# -- reading tickets ----------------------------------------------------------------------------------------

def facts_query(*, checked_only: bool = False):
    """Tickets as Facts rows: their own columns, the customer's tier and the next check (only tickets that
    have one: an inner join, which row locks need)."""
    query = (select(*[getattr(Ticket, name) for name in FACT_COLUMNS], Customer.tier.label("customer_tier"),
                    SlaCheck.next_at.label("sla_next_check_at")).select_from(Ticket))
    query = (query.join(SlaCheck, SlaCheck.ticket_id == Ticket.id) if checked_only
             else query.outerjoin(SlaCheck, SlaCheck.ticket_id == Ticket.id))
    return query.outerjoin(Customer, Customer.id == Ticket.customer_id)


def facts_from_row(row) -> Facts:
    return Facts(**{name: getattr(row, name) for name in (*FACT_COLUMNS, "customer_tier", "sla_next_check_at")})


def load_segments(session: Session, ticket_ids) -> dict[int, list[Segment]]:
    result: dict[int, list[Segment]] = {tid: [] for tid in ticket_ids}
    for row in session.execute(
            select(SlaSegment.ticket_id, SlaSegment.started_at, SlaSegment.ended_at, SlaSegment.running,
                   SlaSegment.reason).where(SlaSegment.ticket_id.in_(list(ticket_ids)))
            .order_by(SlaSegment.ticket_id, SlaSegment.started_at, SlaSegment.id)):
        result[row.ticket_id].append(Segment(row.started_at, row.ended_at, row.running, row.reason))
    return result


def load_done(session: Session, ticket_ids) -> dict[int, set]:
    result: dict[int, set] = {tid: set() for tid in ticket_ids}
    for row in session.execute(select(SlaStep.ticket_id, SlaStep.kind, SlaStep.target, SlaStep.level, SlaStep.round)
                               .where(SlaStep.ticket_id.in_(list(ticket_ids)))):
        result[row.ticket_id].add((row.kind, row.target, row.level, row.round))
    return result


def segments_or_default(facts: Facts, segments: list[Segment]) -> list[Segment]:
    """Tickets from before the clock existed have no segments: they ran since they were created."""
    if segments:
        return segments
    return [Segment(facts.created_at, None, pause_reason(facts.status) == RUNNING, pause_reason(facts.status))]


def plan_for(session: Session, facts: Facts, *, now: datetime, segments=None, done=None, ruleset=None) -> Plan:
    ruleset = ruleset or rules.current(session)
    if segments is None:
        segments = load_segments(session, [facts.id])[facts.id]
    if done is None:
        done = load_done(session, [facts.id])[facts.id]
    return plan(facts, segments_or_default(facts, segments), done, ruleset.sla,
                on_site=facts.service_type_id in ruleset.sla.on_site_service_types,
                chase=(ruleset.dispatch.accept_remind_minutes, ruleset.dispatch.accept_redispatch_minutes), now=now)


def values(result: Plan, facts: Facts, *, escalation_level: int | None = None) -> dict:
    """The ticket columns a plan sets ("b_id" and WRITTEN) and its next check ("next_at")."""
    row = {
        "b_id": facts.id, "sla_policy_id": result.policy.id if result.policy else None,
        "sla_due_at": result.sla_due_at, "sla_warn_at": result.sla_warn_at, "next_at": result.next_check_at,
        "escalation_level": facts.escalation_level if escalation_level is None else escalation_level,
    }
    for target, column in DUE_COLUMNS.items():
        row[column] = result.deadlines.get(target)
    return row


_TICKET_UPDATE = update(Ticket.__table__).where(Ticket.__table__.c.id == bindparam("b_id")).values(
    {**{name: bindparam(name) for name in WRITTEN},
     "updated_at": Ticket.__table__.c.updated_at})  # the clock is bookkeeping, not a change anyone made
_UPSERTS: dict = {}


def _next_check_upsert(dialect: str):
    """INSERT … ON CONFLICT (ticket_id) DO UPDATE, in the dialect's own words (both speak it)."""
    if dialect not in _UPSERTS:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(SlaCheck.__table__)
        _UPSERTS[dialect] = statement.on_conflict_do_update(index_elements=["ticket_id"],
                                                            set_={"next_at": statement.excluded.next_at})
    return _UPSERTS[dialect]


def write(session: Session, plans: list[tuple[Facts, dict]], *, next_checks: bool = True) -> None:
    """Store plans — `values` rows with the Facts they were made from — without touching the ticket's
    `version`: the ticket columns only where they changed, the next checks unless the caller already did.
    Tickets loaded in the session show the result."""
    changed = [row for facts, row in plans if any(row[name] != getattr(facts, name) for name in WRITTEN)]
    connection = session.connection()
    if changed:
        connection.execute(_TICKET_UPDATE, changed)
    if next_checks and plans:
        connection.execute(_next_check_upsert(session.get_bind().dialect.name),
                           [{"ticket_id": row["b_id"], "next_at": row["next_at"]} for _, row in plans])
    for row in changed:
        obj = session.identity_map.get(identity_key(Ticket, row["b_id"]))
        if obj is None:
            continue
        for name in WRITTEN:  # as if loaded: no change to flush, no reload to pay for
            set_committed_value(obj, name, row[name])
        obj.__dict__.pop("sla_policy", None)  # unloaded: the relationship follows the new id when next read


# -- keeping the clock in the same flush as the change ----------------------------------------------------

def _fk(ticket: Ticket, name: str):
    """A foreign key of a ticket not flushed yet: set directly, or through its relationship."""
    value = getattr(ticket, name)
    if value is None and name.endswith("_id"):
        related = ticket.__dict__.get(name[:-3])
        value = getattr(related, "id", None)
    return value


@event.listens_for(Session, "before_flush")
def _start_clock(session, flush_context, instances):
    """A new ticket's deadlines go into its own INSERT (its clock is one segment, running since it was
    created, with nothing done yet): nothing to read, no second write of the row. Its next check is written
    after the flush, when it has an id, with a plain INSERT (as an ORM object it costs the unit of work more
    than the statement costs the database)."""
    new = [obj for obj in session.new if isinstance(obj, Ticket)]
    if not new:
        return
    started = flush_context.attributes.setdefault("sla_started", [])
    with session.no_autoflush:
        for ticket in new:
            customer = ticket.__dict__.get("customer")
            if customer is None and ticket.customer_id is not None:
                customer = session.get(Customer, ticket.customer_id)
            facts = Facts(**{name: _fk(ticket, name) for name in FACT_COLUMNS},
                          customer_tier=customer.tier if customer is not None else None)
            facts.assignment_round = facts.assignment_round or 0
            facts.escalation_level = facts.escalation_level or 0
            now = ticket.updated_at or ticket.created_at
            result = plan_for(session, facts, now=now, segments=segments_or_default(facts, []), done=set())
            row = values(result, facts)
            for name in WRITTEN:
                setattr(ticket, name, row[name])
            started.append((ticket, row["next_at"]))


def _write_started(session: Session, started) -> None:
    # The first segment stays implicit (running, or paused, since creation: segments_or_default) until
    # the first status change that starts or stops the clock writes it down.
    session.connection().execute(SlaCheck.__table__.insert(),
                                 [{"ticket_id": t.id, "next_at": at} for t, at in started])


def _touched(session: Session) -> list[tuple[Ticket, str]]:
    """(ticket, previous status) for stored tickets whose clock may have changed in this flush."""
    found = []
    for obj in session.dirty:
        if not isinstance(obj, Ticket) or obj in session.deleted or obj in session.new:
            continue
        state = inspect(obj)
        if any(state.attrs[name].history.has_changes() for name in _WATCHED):
            history = state.attrs.status.history
            found.append((obj, history.deleted[0] if history.deleted else obj.status))
    return found


def _segment_rows(session: Session, touched) -> None:
    """Close and open segments where a status change starts or stops the clock or changes why it stands."""
    table = SlaSegment.__table__
    inserts = []
    for ticket, previous in touched:
        now = ticket.updated_at or ticket.created_at
        reason = pause_reason(ticket.status)
        if previous != ticket.status and pause_reason(previous) != reason:
            closed = session.connection().execute(update(table).where(
                table.c.ticket_id == ticket.id, table.c.ended_at.is_(None)).values(ended_at=now)).rowcount
            if not closed:  # the implicit first segment, from creation until now, is written down first
                was = pause_reason(previous)
                inserts.append({"ticket_id": ticket.id, "started_at": ticket.created_at, "ended_at": now,
                                "running": was == RUNNING, "reason": was})
            inserts.append({"ticket_id": ticket.id, "started_at": now, "ended_at": None,
                            "running": reason == RUNNING, "reason": reason})
    if inserts:
        session.connection().execute(table.insert(), inserts)


@event.listens_for(Session, "after_flush")
def _keep_clock(session, flush_context):
    """A stored ticket changed: close or open segments, then recompute from them (after the flush, when its
    foreign keys are final and the new segment is readable)."""
    started = flush_context.attributes.get("sla_started")
    if started:
        _write_started(session, started)
    touched = _touched(session)
    if not touched:
        return
    _segment_rows(session, touched)
    ids = [t.id for t, _ in touched]
    segments, done = load_segments(session, ids), load_done(session, ids)
    tiers = _tiers(session, [t for t, _ in touched])
    plans = []
    for ticket, _ in touched:
        facts = Facts(**{name: getattr(ticket, name) for name in FACT_COLUMNS}, customer_tier=tiers.get(ticket.id))
        now = ticket.updated_at or ticket.created_at
        result = plan_for(session, facts, now=now, segments=segments[ticket.id], done=done[ticket.id])
        plans.append((facts, values(result, facts)))
    write(session, plans)


def _tiers(session: Session, tickets) -> dict[int, str]:
    """Customer tiers, from the loaded customer where there is one (intake has it at hand)."""
    tiers, missing = {}, []
    for ticket in tickets:
        if ticket.customer_id is None:
            continue
        customer = ticket.__dict__.get("customer")
        if customer is not None and customer.id == ticket.customer_id:
            tiers[ticket.id] = customer.tier
        else:
            missing.append(ticket.id)
    if missing:
        tiers.update(session.execute(select(Ticket.id, Customer.tier).join(Customer, Customer.id == Ticket.customer_id)
                                     .where(Ticket.id.in_(missing))).all())
    return tiers


def on_assigned(ticket: Ticket, *, now: datetime) -> None:
    """A new engineer is on the ticket: the wait for their acceptance starts now."""
    ticket.assigned_at = now
    ticket.assignment_round = (ticket.assignment_round or 0) + 1


# -- what the ticket page shows ----------------------------------------------------------------------------

@dataclass
class TargetLine:
    target: str
    promised: timedelta
    deadline: datetime | None
    met_at: datetime | None
    state: str  # met | met_late | running | at_risk | breached | paused


@dataclass
class ClockView:
    policy: Policy | None
    lines: list
    segments: list
    paused_for: dict  # pause reason -> working time it stood still


def clock_view(session: Session, ticket: Ticket, *, now: datetime) -> ClockView:
    ruleset = rules.current(session)
    facts = Facts(**{name: getattr(ticket, name) for name in FACT_COLUMNS})  # the stored policy: no re-match
    segments = segments_or_default(facts, load_segments(session, [ticket.id])[ticket.id])
    policy = ruleset.sla.policy(ticket.sla_policy_id)
    lines, paused_for = [], {}
    if policy is not None:
        clock = Clock(policy.calendar, segments)
        for seg in segments:
            if not seg.running:
                worked = policy.calendar.between(seg.started_at, seg.ended_at or now)
                paused_for[seg.reason] = paused_for.get(seg.reason, timedelta(0)) + worked
        on_site = ticket.service_type_id in ruleset.sla.on_site_service_types
        for target, promised in policy.targets.items():
            if target == "arrival" and not on_site:
                continue
            deadline = getattr(ticket, DUE_COLUMNS[target])
            met_at = getattr(ticket, MET_COLUMNS[target])
            if met_at is not None:
                state = "met" if deadline is None or met_at <= deadline else "met_late"
            elif deadline is None:
                state = "paused"
            elif deadline < now:
                state = "breached"
            else:
                warn = clock.instant_at(_warn_amount(policy, target))
                state = "at_risk" if warn is not None and warn <= now else "running"
            lines.append(TargetLine(target, promised, deadline, met_at, state))
    return ClockView(policy, lines, segments, paused_for)


def risk_counts(session: Session, *, now: datetime) -> list[tuple]:
    """(team id, breached, at risk, running) for open tickets whose clock runs, most breached first."""
    breached = func.coalesce(func.sum(case((Ticket.sla_due_at < now, 1), else_=0)), 0)
    at_risk = func.coalesce(func.sum(case(((Ticket.sla_due_at >= now) & (Ticket.sla_warn_at <= now), 1),
                                          else_=0)), 0)
    rows = session.execute(select(Ticket.team_id, breached, at_risk, func.count())
                           .where(Ticket.sla_due_at.is_not(None)).group_by(Ticket.team_id)).all()
    return sorted((tuple(r) for r in rows), key=lambda r: (-r[1], -r[2]))


def recheck_open(session: Session, *, now: datetime) -> int:
    """After a policy or calendar change (or tickets written in bulk): have the scheduler recompute every
    open ticket at its next tick. Returns how many it will look at."""
    open_ids = select(Ticket.id).where(Ticket.status.in_(sorted(st.OPEN_STATUSES)))
    moved = session.execute(update(SlaCheck).where(
        SlaCheck.ticket_id.in_(open_ids), SlaCheck.next_at.is_(None) | (SlaCheck.next_at > now))
        .values(next_at=now).execution_options(synchronize_session=False)).rowcount
    missing = open_ids.where(~select(SlaCheck.ticket_id).where(SlaCheck.ticket_id == Ticket.id).exists())
    added = session.execute(insert(SlaCheck).from_select(
        ["ticket_id", "next_at"], missing.add_columns(literal(now, DateTime)))).rowcount
    return moved + added
