"""How values look on screen: local times, code labels."""
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup, escape

from app.services import status as st
from app.services import explain, timeline
from app.timeutil import to_local, utcnow


def local_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return to_local(value, current_app.config["TIMEZONE"]).strftime("%Y-%m-%d %H:%M")


def yes_no(value) -> str:
    if value is None:
        return ""
    return _("Yes") if value else _("No")


def blank(value):
    """Empty cells instead of the word None."""
    return "" if value is None else value


def blanks(*columns) -> dict:
    return {c: blank for c in columns}


def label_of(mapping: dict):
    """A formatter that shows a code's human name, e.g. vip → 「VIP客户」."""
    return lambda code: str(mapping.get(code, code or ""))


STATUS_CSS = {
    st.NEW: "label-primary", st.ASSIGNED: "label-info", st.ACCEPTED: "label-info",
    st.IN_PROGRESS: "label-warning", st.WAITING_CUSTOMER: "label-default", st.WAITING_PARTS: "label-default",
    st.RESOLVED: "label-success", st.CLOSED: "label-success", st.REOPENED: "label-danger",
    st.CANCELLED: "label-default",
}


def status_badge(code: str) -> Markup:
    css = STATUS_CSS.get(code, "label-default")
    return Markup('<span class="label {}" data-status="{}">{}</span>').format(css, escape(code), st.label(code))


def warranty_end(value) -> Markup | str:
    """The warranty end date, with whether the device is still covered today."""
    if value is None:
        return ""
    covered = value >= to_local(utcnow(), current_app.config["TIMEZONE"]).date()
    css, text = ("label-success", _("In warranty")) if covered else ("label-default", _("Out of warranty"))
    return Markup('{} <span class="label {}">{}</span>').format(value.isoformat(), css, text)


_WARNING_TTL = 10  # seconds: the heartbeat is not asked on every page
_warning_cache: dict = {}


def scheduler_warning():
    """For admins and managers: the scheduler's last heartbeat when it has stopped, else None."""
    import time

    from flask import g

    from app.extensions import db
    from app.services import heartbeat

    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not current_app.appbuilder.sm.has_access("can_list", "Scheduler"):
        return None
    cached = _warning_cache.get("value")
    if cached is None or time.monotonic() - cached[0] > _WARNING_TTL:
        now = utcnow()
        cached = (time.monotonic(), None if heartbeat.is_alive(db.session, now=now)
                  else {"last_beat": heartbeat.last_beat(db.session)})
        _warning_cache["value"] = cached
    return cached[1]


def sla_state(code) -> Markup | str:
    from app.services.sla_text import STATE_LABELS

    if not code:
        return ""
    css = {"breached": "danger", "at_risk": "warning", "on_track": "success"}.get(code, "default")
    return Markup('<span class="label label-%s">%s</span>') % (css, STATE_LABELS.get(code, code))


def register_template_helpers(app) -> None:
    from app.services import sla_text

    from app.views.notifications import unread_notifications

    app.jinja_env.globals["scheduler_warning"] = scheduler_warning
    app.jinja_env.globals["unread_notifications"] = unread_notifications
    app.jinja_env.filters["sla_state"] = sla_state
    app.jinja_env.filters["duration"] = sla_text.duration
    app.jinja_env.globals["sla_target"] = sla_text.target_label
    app.jinja_env.globals["pause_label"] = lambda code: str(sla_text.PAUSE_LABELS.get(code, code))
    app.jinja_env.globals["now_utc"] = utcnow
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["status_badge"] = status_badge
    app.jinja_env.globals["status_label"] = st.label
    app.jinja_env.globals["describe_event"] = timeline.describe
    app.jinja_env.globals["event_actor"] = timeline.actor_name
    app.jinja_env.globals["channel_label"] = explain.channel_name
    app.jinja_env.globals["open_statuses"] = st.OPEN_STATUSES
