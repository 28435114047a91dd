"""The audit trail of administrative actions (README "Security" → "Audit trail"): who changed security and
system configuration, when, from which address, and what changed.

One mechanism for row changes: REGISTRY declares the audited models (one `audited(...)` line each); a session
listener turns every insert, update and delete of them into an AuditLog row with the changed fields (old →
new), written by the same flush on the same connection — so a change that is rolled back leaves no row, and
a change that is committed always has one. Secrets are never written (only "set", "changed", "cleared"),
addresses of webhooks lose their keys, long values are cut. Bookkeeping columns (a login's counters, a
token's last use, a mailbox's position) change without a row. Events that are not a row of their own — a
login locked after wrong passwords, an administrator's unlock — are written by `record()` from the service
that makes them (app.services.logins).

Who acted comes from the app (`set_context_source`: the logged-in user and the request's address, see
app.security.audit_actor); outside a request it is "system" (CLI, scheduler). Flushes with no audited object
in them cost a loop over the session's new, changed and deleted objects and nothing else: no query, no row.

Changes made with bulk SQL statements (session.execute(update(...))) are not seen: nothing in the app changes
audited tables that way (the mailbox poller updates only its bookkeeping columns).
"""
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Callable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from flask_appbuilder.security.sqla.models import Group, Role, User
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import MANYTOONE
from sqlalchemy.orm.util import identity_key

from app.labels import (
    COMMON_LABELS, DISPATCH_LABELS, INTAKE_LABELS, MAILBOX_LABELS, NOTIFY_LABELS, SATISFACTION_LABELS, SLA_LABELS,
)
from app.models import (
    AuditLog, BusinessCalendar, CalendarDay, CalendarHours, ClassificationRule, DispatchSettings, EscalationStep,
    IntakeSettings, IntegrationToken, Mailbox, NotificationTemplate, NotifyEndpoint, NotifySettings, Priority,
    SatisfactionSettings, SlaPolicy, SynonymGroup,
)
from app.timeutil import utcnow

SYSTEM = "system"  # the actor outside a request: the CLI, the scheduler
CREATE, UPDATE, DELETE, PASSWORD, LOCK, UNLOCK = "create", "update", "delete", "password", "lock", "unlock"
ACTIONS = {
    CREATE: _l("Created"),
    UPDATE: _l("Changed"),
    DELETE: _l("Deleted"),
    PASSWORD: _l("Password changed"),
    LOCK: _l("Login locked"),
    UNLOCK: _l("Login unlocked"),
}
MAX_TEXT = 300  # characters kept of one value
MAX_ITEMS = 60  # members listed of a collection's additions or removals
# Never worth a row of their own: the key, and the timestamps the row keeps anyway.
ALWAYS_IGNORED = frozenset({"id", "created_at", "updated_at"})


@dataclass(frozen=True)
class Audited:
    kind: str  # stored in audit_log.object_type
    label: object  # its name for people (lazy)
    labels: dict = field(default_factory=dict)  # field → label (lazy)
    ignore: frozenset = frozenset()  # bookkeeping: never shown, and a change to them alone makes no row
    secrets: frozenset = frozenset()  # shown only as set / changed / cleared
    urls: frozenset = frozenset()  # addresses shown without their keys (query values, token-like path parts)
    collections: tuple = ()  # many-to-many relationships listed as members added / removed
    # A secret whose change is an event of its own (a user's password): its own row, with that action.
    own_rows: dict = field(default_factory=dict)
    name: Callable | None = None  # the object's name in the log; str(obj) if not given


REGISTRY: dict[type, Audited] = {}
KINDS: dict[str, Audited] = {}


def audited(model, kind: str, label, *, labels: dict | None = None, **options) -> None:
    """Declare a model audited: every insert, update and delete of it is logged. `labels` are copied now: FAB
    fills a view's label dict in place with untranslated names for the columns it lacks."""
    spec = Audited(kind, label, labels={**COMMON_LABELS, **(labels or {})}, **options)
    REGISTRY[model] = KINDS[kind] = spec


def _settings_name(obj) -> str:
    return ""  # the single settings row: its type says it all


# --- what is audited ---------------------------------------------------------------------------------------

USER_LABELS = {"first_name": _l("First Name"), "last_name": _l("Last Name"), "username": _l("User Name"),
               "email": _l("Email"), "active": _l("Is Active?"), "roles": _l("Role"), "password": _l("Password"),
               "groups": _l("Groups")}
ROLE_LABELS = {"name": _l("Name"), "permissions": _l("Permissions"), "label": _l("Group label"),
               "description": _l("Group description"), "users": _l("Members"), "roles": _l("Role")}

# Security
# A new password is an event of its own ("password"), never a value; logging in only moves the counters.
audited(User, "user", _l("User"), labels=USER_LABELS, collections=("roles", "groups"),
        secrets=frozenset({"password"}), own_rows={"password": PASSWORD}, name=lambda u: u.username,
        ignore=frozenset({"last_login", "login_count", "fail_login_count", "created_on", "changed_on",
                          "created_by", "changed_by"}))
audited(Role, "role", _l("Role"), labels=ROLE_LABELS, collections=("permissions",), name=lambda r: r.name)
audited(Group, "group", _l("Group"), labels=ROLE_LABELS, collections=("roles", "users"), name=lambda g: g.name)
# The digest never: the prefix tells tokens apart.
audited(IntegrationToken, "integration_token", _l("Integration token"), labels=INTAKE_LABELS,
        ignore=frozenset({"token_hash", "last_used_at"}), name=lambda t: f"{t.name} ({t.prefix}…)")
# System settings and connections
audited(IntakeSettings, "intake_settings", _l("Intake settings"), labels=INTAKE_LABELS, name=_settings_name)
audited(DispatchSettings, "dispatch_settings", _l("Dispatch settings"), labels=DISPATCH_LABELS, name=_settings_name)
audited(NotifySettings, "notify_settings", _l("Notification settings"), labels=NOTIFY_LABELS, name=_settings_name)
audited(SatisfactionSettings, "satisfaction_settings", _l("Satisfaction settings"), labels=SATISFACTION_LABELS,
        name=_settings_name)
audited(NotifyEndpoint, "notify_endpoint", _l("Webhook or group robot"), labels=NOTIFY_LABELS,
        secrets=frozenset({"secret"}), urls=frozenset({"url"}))
audited(Mailbox, "mailbox", _l("Mailbox"), labels={**MAILBOX_LABELS, "password": _l("Password")},
        secrets=frozenset({"password"}),
        ignore=frozenset({"uid_validity", "last_uid", "last_polled_at", "last_error"}))
audited(NotificationTemplate, "notification_template", _l("Notification template"), labels=NOTIFY_LABELS,
        name=lambda t: f"{t.event} · {t.channel} · {t.language}")
# What automatic decisions follow: classification, priorities, deadlines and escalations, working time
audited(ClassificationRule, "classification_rule", _l("Classification rule"), labels=INTAKE_LABELS)
audited(SynonymGroup, "synonym_group", _l("Synonym group"), labels=INTAKE_LABELS)
audited(Priority, "priority", _l("Priority"), labels=COMMON_LABELS)
audited(SlaPolicy, "sla_policy", _l("SLA policy"), labels=SLA_LABELS)
audited(EscalationStep, "escalation_step", _l("Escalation step"), labels=SLA_LABELS,
        name=lambda s: f"{s.policy} · {s.level}")
audited(BusinessCalendar, "business_calendar", _l("Business calendar"), labels=SLA_LABELS)
audited(CalendarHours, "calendar_hours", _l("Working hours"), labels=SLA_LABELS,
        name=lambda h: f"{h.calendar} · {h}")
audited(CalendarDay, "calendar_day", _l("Holiday or working day"), labels=SLA_LABELS,
        name=lambda d: f"{d.calendar} · {d}")


# --- who acts ----------------------------------------------------------------------------------------------

Actor = tuple  # (user id or None, login name or "" for anonymous or SYSTEM, client address or None)
_context_source: Callable[[], Actor | None] | None = None
_MUTED = "audit_muted"
_DELETED = "audit_deleted"


def set_context_source(source: Callable[[], Actor | None]) -> None:
    """The app's way of saying who is acting (None outside a request: then it is "system")."""
    global _context_source
    _context_source = source


def _actor() -> Actor:
    found = _context_source() if _context_source is not None else None
    return found or (None, SYSTEM, None)


@contextmanager
def muted(session: Session):
    """Changes in this block are not logged row by row: the caller records what they amount to (roles.sync_roles
    summarises FAB's one commit per permission)."""
    session.info[_MUTED] = session.info.get(_MUTED, 0) + 1
    try:
        yield
    finally:
        session.info[_MUTED] -= 1


def record(session: Session, action: str, obj, *, now: datetime, data: dict | None = None) -> AuditLog:
    """An event that is not a row change (a lock, an unlock), or a change the caller worked out itself (see
    `muted`), logged in the caller's transaction."""
    spec = REGISTRY.get(type(obj))
    actor_id, actor_name, address = _actor()
    entry = AuditLog(at=now, actor_id=actor_id, actor_name=actor_name, address=address, action=action,
                     object_type=spec.kind if spec else obj.__tablename__, object_id=_pk(obj),
                     object_label=_name(obj, spec), changes=data or None)
    session.add(entry)
    return entry


def members_diff(before, after) -> dict | None:
    """{"added": [...], "removed": [...]} between two collections of names (None when equal)."""
    added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
    if not added and not removed:
        return None
    return {"added": _cut_list(added), "removed": _cut_list(removed)}


# --- values as they are stored -------------------------------------------------------------------------------

def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def _cut_list(items: list) -> list:
    if len(items) <= MAX_ITEMS:
        return items
    return items[:MAX_ITEMS] + [f"… (+{len(items) - MAX_ITEMS})"]


def plain(value):
    """A value as JSON keeps it: times in UTC marked with Z, texts cut, objects by their names."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, (dict, list, tuple)):
        return _cut(json.dumps(value, ensure_ascii=False, default=str))
    return _cut(str(value))


_TOKEN_LIKE = re.compile(r"^[A-Za-z0-9_\-]{16,}$")


def mask_url(url: str | None) -> str | None:
    """A webhook address without what makes it a key: query values, token-like path parts, a password."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if parts.username:
        host = f"***@{host}"
    path = "/".join("***" if _TOKEN_LIKE.match(segment) else segment for segment in parts.path.split("/"))
    query = "&".join(f"{key}=***" for key, _value in parse_qsl(parts.query, keep_blank_values=True))
    return _cut(urlunsplit((parts.scheme, host, path, query, "")))


def _secret_change(old, new) -> dict:
    if not old and new:
        return {"secret": "set"}
    if old and not new:
        return {"secret": "cleared"}
    return {"secret": "changed"}


def _name(obj, spec: Audited | None = None) -> str:
    try:
        text = spec.name(obj) if spec is not None and spec.name is not None else str(obj)
    except Exception:  # noqa: BLE001  (a name is a courtesy: never let it break the change it describes)
        text = ""
    return (text or "")[:200]


def _pk(obj) -> int | None:
    state = inspect(obj)
    # A row inserted by this flush has its key in its attributes, not yet in its identity.
    identity = state.identity or tuple(
        state.dict.get(state.mapper.get_property_by_column(column).key) for column in state.mapper.primary_key)
    if identity and len(identity) == 1 and isinstance(identity[0], int):
        return identity[0]
    return None


@dataclass(frozen=True)
class _Field:
    key: str
    kind: str  # column | relation (many-to-one, by its FK column) | collection
    column: str | None = None  # a relation's FK attribute
    target: type | None = None


@lru_cache(maxsize=None)
def fields_of(model) -> tuple[_Field, ...]:
    """The audited fields of a model, in declaration order."""
    spec = REGISTRY[model]
    mapper = inspect(model)
    skipped = spec.ignore | ALWAYS_IGNORED
    relation_columns, fields = set(), []
    for prop in mapper.relationships:
        if prop.direction is MANYTOONE and len(prop.local_columns) == 1:
            column_key = mapper.get_property_by_column(next(iter(prop.local_columns))).key
            relation_columns.add(column_key)
            if prop.key not in skipped and column_key not in skipped and not prop.viewonly:
                fields.append(_Field(prop.key, "relation", column_key, prop.mapper.class_))
    for prop in mapper.column_attrs:
        if prop.key not in relation_columns and prop.key not in skipped:
            fields.append(_Field(prop.key, "column"))
    fields += [_Field(key, "collection") for key in spec.collections]
    order = {key: i for i, key in enumerate(mapper.attrs.keys())}
    return tuple(sorted(fields, key=lambda f: order.get(f.key, len(order))))


def _related_name(session: Session, target, value_id) -> str | None:
    """A related row's name by id, from what the session holds (no query); "#id" otherwise."""
    if value_id is None:
        return None
    obj = session.identity_map.get(identity_key(target, value_id))
    return _name(obj, REGISTRY.get(target)) if obj is not None else f"#{value_id}"


def _members(objs) -> list[str]:
    return sorted(_name(o, REGISTRY.get(type(o))) for o in objs or ())


def _value(spec: Audited, key: str, value):
    if key in spec.urls:
        return mask_url(value)
    return plain(value)


def _snapshot(session: Session, obj, spec: Audited, *, loaded_only: bool) -> dict:
    """Every audited field that has a value: a new row's (what the flush wrote, without loading anything) or a
    row about to be deleted (loading what is not loaded yet)."""
    state, out = inspect(obj), {}
    read = (lambda key: state.dict.get(key)) if loaded_only else (lambda key: getattr(obj, key))
    for f in fields_of(type(obj)):
        if f.kind == "collection":
            names = _cut_list(_members(read(f.key)))
            if names:
                out[f.key] = {"added": names, "removed": []} if loaded_only else {"added": [], "removed": names}
            continue
        if f.key in spec.secrets:
            if loaded_only and read(f.key):
                out[f.key] = {"secret": "set"}
            continue
        if f.kind == "relation":
            related = read(f.key)
            name = _name(related, REGISTRY.get(f.target)) if related is not None else _related_name(
                session, f.target, read(f.column))
        else:
            name = _value(spec, f.key, read(f.key))
        if name is not None and name != "":
            out[f.key] = [None, name] if loaded_only else [name, None]
    return out


def _changes(session: Session, obj, spec: Audited) -> tuple[dict, list[str]]:
    """The changed fields of an updated row ({field: [old, new]}), and the own-row events among them. Reads
    the attributes' history only: no query."""
    state, out, events = inspect(obj), {}, []
    for f in fields_of(type(obj)):
        history = state.attrs[f.key].history
        if f.kind == "collection":
            if history.added or history.deleted:
                diff = members_diff(_members(history.deleted), _members(history.added))
                if diff:
                    out[f.key] = diff
            continue
        if f.kind == "relation":
            if history.has_changes():
                old = _name(history.deleted[0], REGISTRY.get(f.target)) if history.deleted and history.deleted[0] \
                    is not None else None
                new = _name(history.added[0], REGISTRY.get(f.target)) if history.added and history.added[0] \
                    is not None else None
            else:
                column = state.attrs[f.column].history
                if not column.has_changes():
                    continue
                old = _related_name(session, f.target, column.deleted[0] if column.deleted else None)
                new = _related_name(session, f.target, column.added[0] if column.added else None)
            if old != new:
                out[f.key] = [old, new]
            continue
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if f.key in spec.own_rows:
            events.append(spec.own_rows[f.key])
        elif f.key in spec.secrets:
            out[f.key] = _secret_change(old, new)
        elif f.key in spec.urls and mask_url(old) == mask_url(new):
            if old != new:
                out[f.key] = {"secret": "changed"}
        else:
            old, new = _value(spec, f.key, old), _value(spec, f.key, new)
            if old != new:
                out[f.key] = [old, new]
    return out, events


# --- the listener --------------------------------------------------------------------------------------------

def _audited_in(objects) -> bool:
    return any(type(obj) in REGISTRY for obj in objects)


@event.listens_for(Session, "before_flush")
def _before_flush(session, flush_context, instances):
    """Rows about to be deleted are read now, while they still exist."""
    session.info.pop(_DELETED, None)
    if session.info.get(_MUTED) or not session.deleted or not _audited_in(session.deleted):
        return
    snapshots = []
    for obj in session.deleted:
        spec = REGISTRY.get(type(obj))
        if spec is not None:
            snapshots.append((spec, _pk(obj), _name(obj, spec), _snapshot(session, obj, spec, loaded_only=False)))
    session.info[_DELETED] = snapshots


@event.listens_for(Session, "after_flush")
def _after_flush(session, flush_context):
    deleted = session.info.pop(_DELETED, None)
    if session.info.get(_MUTED):
        return
    new, dirty = session.new, session.dirty
    if not deleted and not _audited_in(new) and not _audited_in(dirty):
        return  # the hot paths (tickets, timelines, the SLA tick) stop here
    rows = []
    for obj in new:
        spec = REGISTRY.get(type(obj))
        if spec is not None:
            rows.append((CREATE, spec, _pk(obj), _name(obj, spec), _snapshot(session, obj, spec, loaded_only=True)))
    for obj in dirty:
        spec = REGISTRY.get(type(obj))
        if spec is None or obj in session.deleted:
            continue
        changes, events = _changes(session, obj, spec)
        if changes or events:
            pk, name = _pk(obj), _name(obj, spec)
            if changes:
                rows.append((UPDATE, spec, pk, name, changes))
            rows += [(action, spec, pk, name, None) for action in events]
    for spec, pk, name, snapshot in deleted or ():
        rows.append((DELETE, spec, pk, name, snapshot))
    if not rows:
        return
    actor_id, actor_name, address = _actor()
    at = utcnow()
    session.connection().execute(AuditLog.__table__.insert(), [
        dict(at=at, actor_id=actor_id, actor_name=actor_name, address=address, action=action,
             object_type=spec.kind, object_id=pk, object_label=name, changes=changes or None)
        for action, spec, pk, name, changes in rows])
