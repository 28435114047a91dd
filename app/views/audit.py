"""用户权限 → 审计日志: the audit trail (app.services.audit), for administrators, read-only — no add, edit,
delete or download route exists, and the database refuses changes to its rows anyway. Newest first; filters
by period (local time), actor, action, object type, object; the changes read in the reader's language."""
import re
from datetime import datetime

from flask import current_app
from flask_appbuilder import ModelView
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import SelectField

from app.models import AuditLog
from app.services import audit
from app.timeutil import to_local
from app.views.datamodel import FormInterface, PrefixFilterConverter
from app.views.formatting import yes_no
from app.views.ticket_filters import FilterLocalBefore, FilterLocalFrom

AUDIT_LABELS = {
    "at": _l("Time"),
    "actor_name": _l("Who"),
    "address": _l("From address"),
    "action": _l("Action"),
    "object_type": _l("Object type"),
    "object_id": _l("Object id"),
    "object_label": _l("Object"),
    "summary": _l("Changes"),
    "details": _l("Changes"),
}
LIST_FIELDS = 6  # fields a list row shows before "…"
LIST_MEMBERS = 8  # members of a collection a list row names
_UTC_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class AuditFilterConverter(PrefixFilterConverter):
    """The time is searched in local time (from / before), the codes by equality (picked from a list)."""

    def convert(self, col_name):
        if col_name == "at":
            return [FilterLocalFrom(col_name, self.datamodel), FilterLocalBefore(col_name, self.datamodel)]
        if col_name in ("action", "object_type"):
            return [FilterEqual(col_name, self.datamodel)]
        return super().convert(col_name)


class AuditInterface(FormInterface):
    filter_converter_class = AuditFilterConverter


def _seconds(value: datetime | None) -> str:
    if value is None:
        return ""
    return to_local(value, current_app.config["TIMEZONE"]).strftime("%Y-%m-%d %H:%M:%S")


def actor_text(name: str | None) -> str:
    if name == audit.SYSTEM:
        return _("System")
    if not name:
        return _("Anonymous")
    return name


def _value(value) -> str:
    if value is None or value == "":
        return _("(empty)")
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, str) and _UTC_STAMP.match(value):
        return _seconds(datetime.fromisoformat(value[:-1]))
    return str(value)


SECRET_WORDS = {"set": _l("set (not shown)"), "changed": _l("changed (not shown)"), "cleared": _l("cleared")}


def _members(items: list, limit: int | None) -> str:
    shown = items if limit is None or len(items) <= limit else items[:limit] + [f"… (+{len(items) - limit})"]
    return ", ".join(str(i) for i in shown)


def _change(action: str, value, limit: int | None) -> str:
    if isinstance(value, dict) and "secret" in value:
        return str(SECRET_WORDS.get(value["secret"], value["secret"]))
    if isinstance(value, dict):
        parts = []
        if value.get("added"):
            parts.append(_("added: %(items)s", items=_members(value["added"], limit)))
        if value.get("removed"):
            parts.append(_("removed: %(items)s", items=_members(value["removed"], limit)))
        return "; ".join(parts)
    if isinstance(value, list) and len(value) == 2:
        old, new = value
        if action == audit.CREATE:
            return _value(new)
        if action == audit.DELETE:
            return _value(old)
        return f"{_value(old)} → {_value(new)}"
    return _value(value)


def event_sentence(entry: AuditLog) -> str | None:
    """The sentence for an event that is not a row change; None for a change."""
    data = entry.changes or {}
    if entry.action == audit.PASSWORD:
        if entry.actor_id is not None and entry.actor_id == entry.object_id:
            return _("Changed their own password (the password is never recorded).")
        return _("A new password was set for this login (the password is never recorded).")
    if entry.action == audit.LOCK:
        return _("Locked after %(count)s wrong passwords in a row, until %(time)s.",
                 count=data.get("failures", "?"), time=_value(data.get("until")))
    if entry.action == audit.UNLOCK:
        if data.get("by_password"):
            return _("The lock was lifted by a new password (%(count)s wrong passwords before).",
                     count=data.get("failures", 0))
        if data.get("locked"):
            return _("Unlocked while locked (%(count)s wrong passwords before).", count=data.get("failures", 0))
        return _("Unlocked (it was not locked; %(count)s wrong passwords counted).", count=data.get("failures", 0))
    return None


def describe(entry: AuditLog, *, fields: int | None = None, members: int | None = None) -> list[tuple[str, str]]:
    """(field label, what happened to it) for a change; [("", sentence)] for an event."""
    sentence = event_sentence(entry)
    if sentence is not None:
        return [("", sentence)]
    spec = audit.KINDS.get(entry.object_type)
    labels = spec.labels if spec is not None else {}
    lines = [(str(labels.get(key, key)), _change(entry.action, value, members))
             for key, value in (entry.changes or {}).items()]
    if fields is not None and len(lines) > fields:
        lines = lines[:fields] + [("", _("… and %(count)s more (open the entry)", count=len(lines) - fields))]
    return lines


def _render(lines: list[tuple[str, str]]) -> Markup:
    if not lines:
        return Markup("")
    items = [Markup("<li><strong>%s</strong>: %s</li>") % (label, text) if label else Markup("<li>%s</li>") % text
             for label, text in lines]
    return Markup('<ul class="list-unstyled" style="margin:0">%s</ul>') % Markup("").join(items)


def _kind_label(kind: str) -> str:
    spec = audit.KINDS.get(kind)
    return str(spec.label) if spec is not None else kind


class AuditLogView(ModelView):
    datamodel = AuditInterface(AuditLog)
    class_permission_name = "AuditLog"
    # Append-only for everyone, administrators included: list and show, nothing else.
    include_route_methods = {"list", "show"}
    base_permissions = ["can_list", "can_show"]
    base_order = ("id", "desc")
    list_title = _l("Audit log")
    show_title = _l("Audit log entry")
    label_columns = AUDIT_LABELS
    list_columns = ["at", "actor_name", "address", "action", "object_type", "object_label", "summary"]
    show_columns = ["at", "actor_name", "address", "action", "object_type", "object_id", "object_label", "details"]
    search_columns = ["at", "actor_name", "action", "object_type", "object_label", "object_id", "address"]
    search_form_extra_fields = {
        "action": SelectField(_l("Action"), choices=[(code, label) for code, label in audit.ACTIONS.items()],
                              widget=Select2Widget()),
        "object_type": SelectField(_l("Object type"),
                                   choices=[(kind, spec.label) for kind, spec in audit.KINDS.items()],
                                   widget=Select2Widget()),
    }
    formatters_columns = {
        "at": _seconds,
        "actor_name": actor_text,
        "address": lambda a: a or "",
        "action": lambda code: str(audit.ACTIONS.get(code, code)),
        "object_type": _kind_label,
        "object_id": lambda i: "" if i is None else i,
        "object_label": lambda text: text or "",
        "summary": lambda entry: _render(describe(entry, fields=LIST_FIELDS, members=LIST_MEMBERS)),
        "details": lambda entry: _render(describe(entry)),
    }
