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


def register_template_helpers(app) -> None:
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["status_badge"] = status_badge
    app.jinja_env.globals["status_label"] = st.label
    app.jinja_env.globals["describe_event"] = timeline.describe
    app.jinja_env.globals["event_actor"] = timeline.actor_name
    app.jinja_env.globals["channel_label"] = explain.channel_name
    app.jinja_env.globals["open_statuses"] = st.OPEN_STATUSES
