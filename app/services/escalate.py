"""Carrying out what the SLA clocks say is due: reminders before a deadline, the escalation ladder after it,
and chasing engineers who have not accepted an assignment — each step exactly once.

Due tickets are found through their indexed next-check time, a batch at a time, in one transaction per
batch: the ticket and its next-check row are locked with FOR NO KEY UPDATE … SKIP LOCKED on PostgreSQL (a
second scheduler takes other tickets) and claimed with a conditional UPDATE elsewhere; every step is also
a row under the unique key (ticket, kind, target, level, round). A process killed mid-batch leaves nothing
behind, so the next run does the whole batch — nothing skipped, nothing repeated. Steps missed while no
scheduler ran are carried out on restart, oldest first.
"""
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from app.models import Engineer, Notification, SlaCheck, SlaStep, Team, Ticket, TicketEvent, User
from app.services import notify, rules, sla, timeline
from app.timeutil import as_utc

log = logging.getLogger(__name__)

BATCH = 500
MAX_STEPS_PER_TICKET = 200
EVENT_KINDS = {"remind": "sla_reminder", "escalate": "sla_escalated", "chase": "assignment_chased"}
NOTIFY_EVENTS = {"remind": "sla_reminder", "escalate": "sla_escalation", "chase": "assignment_chase"}


@dataclass
class Directory:
    """Who is who, read once per run: engineers' logins, team leads, role members, display names."""
    session: Session
    engineers: dict = field(default_factory=dict)  # engineer id -> (user id, name)
    leads: dict = field(default_factory=dict)  # team id -> user id
    roles: dict = field(default_factory=dict)  # role id -> [user id]
    names: dict = field(default_factory=dict)  # user id -> display name
    reach: dict = field(default_factory=dict)  # user id -> notify.StaffContact (None: inactive login)
    configured: frozenset = field(default_factory=notify.configured_channels)

    def load(self, engineer_ids, team_ids) -> None:
        missing = set(engineer_ids) - set(self.engineers) - {None}
        if missing:
            for eid, uid, name in self.session.execute(
                    select(Engineer.id, Engineer.user_id, Engineer.name).where(Engineer.id.in_(missing))):
                self.engineers[eid] = (uid, name)
        missing = set(team_ids) - set(self.leads) - {None}
        if missing:
            self.leads.update(dict(self.session.execute(
                select(Team.id, Team.lead_user_id).where(Team.id.in_(missing))).all()))

    def role_members(self, role_id) -> list[int]:
        if role_id not in self.roles:
            self.roles[role_id] = notify.role_member_ids(self.session, role_id)
        return self.roles[role_id]

    def name_of(self, user_id) -> str:
        if user_id not in self.names:
            user = self.session.get(User, user_id)
            self.names[user_id] = timeline.user_name(user) if user is not None else ""
        return self.names[user_id]

    def contact(self, user_id) -> "notify.StaffContact | None":
        if user_id not in self.reach:
            self.reach[user_id] = notify.staff_contacts(self.session, [user_id]).get(user_id)
        return self.reach[user_id]

    def recipients(self, step: sla.Step, facts: sla.Facts) -> list[int]:
        assignee = self.engineers.get(facts.assignee_id, (None, None))[0]
        lead = self.leads.get(facts.team_id)
        if step.kind in ("remind", "chase"):
            found = [assignee or lead]  # nobody on it yet: the team lead must find someone
        else:
            rung = step.rung
            found = {"assignee": [assignee], "team_lead": [lead], "user": [rung.user_id],
                     "role": self.role_members(rung.role_id) if rung.role_id else []}.get(rung.notify, [])
        return list(dict.fromkeys(uid for uid in found if uid))


def _due_query(now: datetime, batch: int, postgres: bool):
    query = (sla.facts_query(checked_only=True).where(SlaCheck.next_at <= now)
             .order_by(SlaCheck.next_at, SlaCheck.ticket_id).limit(batch))
    if postgres:
        # Both rows, FOR NO KEY UPDATE: a second scheduler skips the ticket, and so does this one while a
        # clerk is changing it (that change recomputes the clock anyway) — never a lock cycle with the
        # clerk's flush, which writes the ticket and then its next check. A row that only gains a timeline
        # event or an attachment (a key-share lock for the foreign key) is not skipped.
        query = query.with_for_update(skip_locked=True, key_share=True, of=[Ticket, SlaCheck])
    return query


_CHECKS = SlaCheck.__table__
# Built once: constructing an UPDATE costs more than running it on SQLite.
_CLAIM = (update(_CHECKS).where(_CHECKS.c.ticket_id == bindparam("b_id"), _CHECKS.c.next_at == bindparam("b_seen"))
          .values(next_at=bindparam("b_next")))


def _claim(session: Session, facts: sla.Facts, next_at) -> bool:
    """Without row locks (SQLite): move the ticket's next check on only if nobody has since we read it."""
    result = session.connection().execute(_CLAIM, {"b_id": facts.id, "b_seen": facts.sla_next_check_at,
                                                   "b_next": next_at})
    return result.rowcount == 1


def _event_data(step: sla.Step, facts: sla.Facts, names: list[str], policy, now: datetime) -> dict:
    data = {"target": step.target, "level": step.level, "round": step.round, "due_at": step.due_at.isoformat(),
            "recipients": names}
    if step.deadline is not None:
        data["deadline"] = step.deadline.isoformat()
        data["late_minutes"] = max(0, int((now - step.deadline).total_seconds() // 60))
    if policy is not None:
        data["policy"] = [policy.name_zh, policy.name_en]
    if step.reminder is not None:
        data["point"] = step.reminder.label
    if step.rung is not None:
        data["notify"] = step.rung.notify
        if step.rung.role_name:
            data["role"] = step.rung.role_name
    if step.kind == "chase":
        data["minutes"] = int((step.due_at - facts.assigned_at).total_seconds() // 60)
    return data


@dataclass
class Work:
    """What carrying out one ticket's due steps writes: kept apart until the ticket is known to be ours."""
    steps: list = field(default_factory=list)
    events: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    redispatch: list = field(default_factory=list)


def _carry_out(session: Session, facts: sla.Facts, segments, done: set, directory: Directory,
               now: datetime, ruleset) -> tuple[Work, dict]:
    """The ticket's due steps, one at a time and re-planned after each (a step can open the next: a repeat,
    a later rung), oldest first; and the ticket's columns afterwards."""
    work = Work()
    level = facts.escalation_level
    for _ in range(MAX_STEPS_PER_TICKET):
        current = sla.plan_for(session, facts, now=now, segments=segments, done=done, ruleset=ruleset)
        if not current.due:
            break
        step = current.due[0]
        recipients = directory.recipients(step, facts)
        names = [directory.name_of(uid) for uid in recipients]
        work.steps.append({"ticket_id": facts.id, "kind": step.kind, "target": step.target, "level": step.level,
                           "round": step.round, "due_at": step.due_at, "done_at": now,
                           "recipients": [{"user_id": u, "name": n} for u, n in zip(recipients, names)]})
        data = _event_data(step, facts, names, current.policy, now)
        work.events.append({"ticket_id": facts.id, "kind": EVENT_KINDS[step.kind], "created_at": now,
                            "data": data, "actor_user_id": None})
        key, event = f"sla:{facts.id}:{':'.join(map(str, step.key))}", NOTIFY_EVENTS[step.kind]
        note = {"kind": EVENT_KINDS[step.kind], "number": facts.number, **data}
        for uid in recipients:
            contact = directory.contact(uid)
            if contact is not None:
                work.notes += notify.staff_rows(contact, event=event, ticket_id=facts.id, key=key, data=note,
                                                now=now, configured=directory.configured)
        work.notes += notify.hook_rows(ruleset.notify, event=event, ticket_id=facts.id, team_id=facts.team_id,
                                       key=key, data=note, now=now)
        done.add(step.key)
        if step.kind == "escalate":
            level = max(level, step.level)
        if step.kind == "chase" and step.level == 2:
            work.redispatch.append((facts.id, facts.assignee_id, data["minutes"]))
    row = sla.values(current, facts, escalation_level=level)
    if row["next_at"] is not None and row["next_at"] <= now:
        log.warning("ticket %s still due after its steps; looking again in a minute", facts.id)
        row["next_at"] = now + timedelta(minutes=1)
    return work, row


def run_due(session: Session, *, now: datetime, batch: int = BATCH) -> int:
    """Carry out every step due at `now`; returns how many steps were taken."""
    now = as_utc(now)
    postgres = session.get_bind().dialect.name == "postgresql"
    directory = Directory(session)
    taken = 0
    while True:
        rows = session.execute(_due_query(now, batch, postgres)).all()
        if not rows:
            session.commit()
            return taken
        batch_facts = [sla.facts_from_row(r) for r in rows]
        ids = [f.id for f in batch_facts]
        segments, done = sla.load_segments(session, ids), sla.load_done(session, ids)
        directory.load([f.assignee_id for f in batch_facts], [f.team_id for f in batch_facts])
        total, plans = Work(), []
        ruleset = rules.current(session)
        for facts in batch_facts:
            work, row = _carry_out(session, facts, segments[facts.id], done[facts.id], directory, now, ruleset)
            # On PostgreSQL the row lock is our claim; elsewhere a conditional UPDATE is.
            if not postgres and not _claim(session, facts, row["next_at"]):
                continue  # another scheduler moved this ticket on since we read it
            plans.append((facts, row))
            for name in ("steps", "events", "notes", "redispatch"):
                getattr(total, name).extend(getattr(work, name))
        if total.steps:
            session.execute(insert(SlaStep), total.steps)
            session.execute(insert(TicketEvent), total.events)
        if total.notes:
            session.execute(insert(Notification), total.notes)
        sla.write(session, plans, next_checks=postgres)
        for ticket_id, engineer_id, minutes in total.redispatch:
            _redispatch(session, ticket_id, engineer_id, minutes, now)
        session.commit()
        taken += len(total.steps)
        if len(rows) < batch or not plans:  # the last batch, or other schedulers have these tickets
            return taken


def _redispatch(session: Session, ticket_id: int, engineer_id: int, minutes: int, now: datetime) -> None:
    from app.services import assign

    ticket = session.get(Ticket, ticket_id)
    engineer = session.get(Engineer, engineer_id) if engineer_id else None
    if ticket is None or engineer is None:
        return
    assign.withdraw_unaccepted(session, ticket, engineer, minutes=minutes, now=now)

