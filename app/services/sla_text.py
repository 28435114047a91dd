"""SLA clocks and steps as words in the reader's language: durations, timeline sentences, why it breached."""
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.services import settings
from app.services.sla_config import TARGET_LABELS
from app.timeutil import to_local

PAUSE_LABELS = {
    "waiting_customer": _l("waiting for the customer"),
    "waiting_parts": _l("waiting for parts"),
    "resolved": _l("resolved, waiting for the customer's confirmation"),
    "closed": _l("closed"),
    "cancelled": _l("cancelled"),
}
STATE_LABELS = {
    "breached": _l("Breached"),
    "at_risk": _l("At risk"),
    "on_track": _l("On track"),
    "running": _l("Running"),
    "paused": _l("Paused"),
    "met": _l("Met"),
    "met_late": _l("Met late"),
}
NOTIFY_LABELS = {
    "assignee": _l("Assigned engineer"),
    "team_lead": _l("Team lead"),
    "role": _l("Everyone with a role"),
    "user": _l("A named user"),
}


def duration(value: timedelta) -> str:
    """「2天3小时」, 「45分钟」 — days are 24-hour days."""
    minutes = int(abs(value).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(_("%(n)s d", n=days))
    if hours:
        parts.append(_("%(n)s h", n=hours))
    if minutes or not parts:
        parts.append(_("%(n)s min", n=minutes))
    return " ".join(parts)


def when(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return to_local(value, settings.current().timezone).strftime("%m-%d %H:%M")


def target_label(code: str | None) -> str:
    return str(TARGET_LABELS.get(code, code or ""))


def _people(data: dict) -> str:
    return "、".join(data.get("recipients") or [])


def describe(kind: str, data: dict) -> str | None:
    if kind == "sla_reminder":
        text = _("Reminder (%(target)s, %(point)s): due %(deadline)s", target=target_label(data.get("target")),
                 point=data.get("point", ""), deadline=when(data.get("deadline")))
        return text + "；" + (_("reminded %(people)s", people=_people(data)) if data.get("recipients")
                             else _("nobody to remind: no engineer and no team lead"))
    if kind == "sla_escalated":
        late = duration(timedelta(minutes=data.get("late_minutes", 0)))
        if data.get("round"):
            text = _("Escalation level %(level)s repeated (%(target)s overdue by %(late)s)", level=data.get("level"),
                     target=target_label(data.get("target")), late=late)
        else:
            text = _("Escalated to level %(level)s: %(target)s was due %(deadline)s, overdue by %(late)s",
                     level=data.get("level"), target=target_label(data.get("target")),
                     deadline=when(data.get("deadline")), late=late)
        return text + "；" + (_("notified %(people)s", people=_people(data)) if data.get("recipients")
                             else _("nobody to notify at this level"))
    if kind == "assignment_chased":
        return _("Not accepted %(minutes)s minutes after assignment; reminded %(people)s",
                 minutes=data.get("minutes"), people=_people(data) or "—")
    if kind == "accept_timeout":
        return _("%(engineer)s did not accept within %(minutes)s minutes; the ticket is dispatched again",
                 engineer=data.get("engineer"), minutes=data.get("minutes"))
    return None

