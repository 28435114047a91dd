"""The ticket status machine: which status may follow which, and the codes' human names."""
from flask_babel import lazy_gettext as _l

NEW = "new"
ASSIGNED = "assigned"
ACCEPTED = "accepted"
IN_PROGRESS = "in_progress"
WAITING_CUSTOMER = "waiting_customer"
WAITING_PARTS = "waiting_parts"
RESOLVED = "resolved"
CLOSED = "closed"
REOPENED = "reopened"
CANCELLED = "cancelled"

LABELS = {
    NEW: _l("New"),
    ASSIGNED: _l("Assigned"),
    ACCEPTED: _l("Accepted"),
    IN_PROGRESS: _l("In progress"),
    WAITING_CUSTOMER: _l("Waiting for customer"),
    WAITING_PARTS: _l("Waiting for parts"),
    RESOLVED: _l("Resolved"),
    CLOSED: _l("Closed"),
    REOPENED: _l("Reopened"),
    CANCELLED: _l("Cancelled"),
}
STATUSES = tuple(LABELS)

# new → resolved is first-contact resolution: a clerk answers an inquiry on the phone.
# → assigned happens only through assignment (a reassigned engineer must accept again).
# assigned/accepted → new hands the ticket back to the pool (engineer rejects, assignment withdrawn).
# accepted ⇄ waiting_parts: a part known to be missing before the visit (app.services.inventory).
TRANSITIONS = {
    NEW: {ASSIGNED, RESOLVED, CANCELLED},
    ASSIGNED: {ACCEPTED, NEW, CANCELLED},
    ACCEPTED: {IN_PROGRESS, WAITING_PARTS, ASSIGNED, NEW, CANCELLED},
    IN_PROGRESS: {WAITING_CUSTOMER, WAITING_PARTS, RESOLVED, ASSIGNED, CANCELLED},
    WAITING_CUSTOMER: {IN_PROGRESS, RESOLVED, CANCELLED},
    WAITING_PARTS: {ACCEPTED, IN_PROGRESS, CANCELLED},
    RESOLVED: {CLOSED, REOPENED},
    CLOSED: {REOPENED},
    REOPENED: {ASSIGNED, IN_PROGRESS, RESOLVED, CANCELLED},
    CANCELLED: set(),
}

# Open = someone still owes the customer work; the SLA clock and the queues count these.
OPEN_STATUSES = frozenset({NEW, ASSIGNED, ACCEPTED, IN_PROGRESS, WAITING_CUSTOMER, WAITING_PARTS, REOPENED})
# Statuses that only make sense with an engineer on the ticket.
NEEDS_ASSIGNEE = frozenset({ASSIGNED, ACCEPTED, IN_PROGRESS, WAITING_PARTS})
# A person must say why: the customer or a manager will ask.
NEEDS_REASON = frozenset({CANCELLED, REOPENED})


def label(code: str) -> str:
    return str(LABELS.get(code, code))


def allowed_next(code: str) -> list[str]:
    """Next statuses in the order of STATUSES, for stable buttons."""
    targets = TRANSITIONS.get(code, set())
    return [s for s in STATUSES if s in targets]


def manual_targets(code: str) -> list[str]:
    """What the status buttons offer. Assignment has its own forms, and so has handing a ticket back to the
    pool (an engineer rejects, a clerk takes it away — both with a reason, both dispatched again)."""
    return [s for s in allowed_next(code) if s not in (ASSIGNED, NEW)]


def can_transition(from_code: str, to_code: str) -> bool:
    return to_code in TRANSITIONS.get(from_code, set())
