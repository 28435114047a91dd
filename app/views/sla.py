"""SLA configuration for managers (calendars, policies, escalation ladders), the at-risk board and the
scheduler's status for admins."""
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_appbuilder.models.sqla.filters import FilterGreater
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, NumberRange, Optional, ValidationError

from app.extensions import db
from app.labels import SLA_LABELS
from app.models import (
    BusinessCalendar, CalendarDay, CalendarHours, EscalationStep, JobRun, SlaPolicy, Team, Ticket,
)
from app.services import heartbeat, sla
from app.services.errors import ServiceError
from app.services.sla_config import parse_reminders
from app.services.sla_text import NOTIFY_LABELS, duration
from app.services.vocabulary import CHANNELS, CUSTOMER_TIERS, choices
from app.services.workcalendar import statutory_years
from app.timeutil import utcnow
from app.views.datamodel import FormInterface
from app.views.formatting import blank, label_of, local_time, sla_state, status_badge
from app.views.weekly import WINDOW_FORMATTERS, window_fields

DAY_KIND_LABELS = {"holiday": _l("Day off"), "workday": _l("Working day")}


def _ends_after_start(form, field):
    if field.data and form.starts.data and field.data != time(0) and field.data <= form.starts.data:
        raise ValidationError(_l("The window must end after it starts (use 00:00 for midnight)."))


def _known_zone(form, field):
    try:
        ZoneInfo(field.data or "")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_l("Unknown time zone: %(zone)s", zone=field.data)) from None


def _recheck_after_change(view_cls):
    """A changed promise or calendar applies to open tickets too: the scheduler recomputes them."""
    def post(self, item):
        sla.recheck_open(db.session, now=utcnow())
        db.session.commit()

    view_cls.post_add = view_cls.post_update = view_cls.post_delete = post
    return view_cls


def _reminders_valid(form, field):
    try:
        parse_reminders(field.data)
    except ServiceError as error:
        # FAB shows field errors through the template's _(), which %-formats them: "80%" must arrive as "80%%".
        raise ValidationError(str(error.message).replace("%", "%%")) from None


@_recheck_after_change
class CalendarHoursView(ModelView):
    datamodel = FormInterface(CalendarHours)
    class_permission_name = "BusinessCalendar"
    list_title = _l("Working hours")
    label_columns = SLA_LABELS
    base_order = ("weekday", "asc")
    list_columns = show_columns = ["calendar", "weekday", "starts", "ends"]
    search_columns = ["calendar", "weekday"]  # FAB has no filter for TIME columns
    add_columns = edit_columns = ["calendar", "weekday", "starts", "ends"]
    add_form_extra_fields = edit_form_extra_fields = window_fields(_ends_after_start)
    description_columns = {"ends": _l("00:00 means until midnight. A lunch break is two windows on the same day.")}
    formatters_columns = WINDOW_FORMATTERS


@_recheck_after_change
class CalendarDayView(ModelView):
    datamodel = FormInterface(CalendarDay)
    class_permission_name = "BusinessCalendar"
    list_title = _l("Company days")
    label_columns = SLA_LABELS
    base_order = ("day", "desc")
    list_columns = show_columns = ["calendar", "day", "kind", "name"]
    add_columns = edit_columns = ["calendar", "day", "kind", "name"]
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": SelectField(_l("Kind"), choices=choices(DAY_KIND_LABELS), widget=Select2Widget()),
    }
    formatters_columns = {"kind": label_of(DAY_KIND_LABELS), "name": blank}


@_recheck_after_change
class BusinessCalendarView(ModelView):
    datamodel = FormInterface(BusinessCalendar)
    class_permission_name = "BusinessCalendar"
    list_title = _l("Business calendars")
    label_columns = SLA_LABELS
    list_columns = ["code", "name", "timezone", "always_open", "statutory_holidays"]
    show_columns = add_columns = ["code", "name_zh", "name_en", "timezone", "always_open", "statutory_holidays"]
    edit_columns = ["name_zh", "name_en", "timezone", "always_open", "statutory_holidays"]
    related_views = [CalendarHoursView, CalendarDayView]
    show_template = "appbuilder/general/model/show_cascade.html"
    edit_template = "appbuilder/general/model/edit_cascade.html"
    validators_columns = {"timezone": [DataRequired(), _known_zone]}
    description_columns = {
        "always_open": _l("24×7: every minute counts (urgent work); the hours and days below are ignored."),
        "statutory_holidays": _l("Skip China's public holidays and work the make-up days (调休), as published by "
                                 "the State Council (known for %(first)s–%(last)s; add later years as company "
                                 "days until the package is updated).",
                                 first=statutory_years()[0], last=statutory_years()[1]),
        "timezone": _l("The time zone the hours are in, e.g. Asia/Shanghai."),
    }


def _ladder_target_check(form, field):
    notify = form.notify.data
    if notify == "role" and not form.role.data:
        raise ValidationError(_l("Choose the role to notify."))
    if notify == "user" and not form.user.data:
        raise ValidationError(_l("Choose the user to notify."))


@_recheck_after_change
class EscalationStepView(ModelView):
    datamodel = FormInterface(EscalationStep)
    class_permission_name = "SlaPolicy"
    list_title = _l("Escalation ladder")
    label_columns = SLA_LABELS
    base_order = ("level", "asc")
    list_columns = show_columns = ["policy", "level", "notify", "role", "user", "after_minutes", "repeat_minutes"]
    add_columns = edit_columns = ["policy", "level", "notify", "role", "user", "after_minutes", "repeat_minutes"]
    add_form_extra_fields = edit_form_extra_fields = {
        "notify": SelectField(_l("Notify"), choices=choices(NOTIFY_LABELS), widget=Select2Widget(),
                              validators=[_ladder_target_check]),
    }
    validators_columns = {"level": [NumberRange(min=1, max=9)], "after_minutes": [NumberRange(min=0, max=100000)],
                          "repeat_minutes": [Optional(), NumberRange(min=5, max=100000)]}
    description_columns = {
        "after_minutes": _l("Minutes after the deadline passed (wall-clock time: a breach does not wait for "
                            "office hours)."),
        "repeat_minutes": _l("Notify again this often until the next level starts; empty = once."),
    }
    formatters_columns = {"notify": label_of(NOTIFY_LABELS), "repeat_minutes": blank, "role": blank, "user": blank}


def _minutes(value):
    from datetime import timedelta

    return duration(timedelta(minutes=value)) if value else ""


@_recheck_after_change
class SlaPolicyView(ModelView):
    datamodel = FormInterface(SlaPolicy)
    class_permission_name = "SlaPolicy"
    list_title = _l("SLA policies")
    label_columns = SLA_LABELS
    base_order = ("position", "asc")
    list_columns = ["position", "name", "priority", "category", "service_type", "customer_tier", "channel",
                    "calendar", "response_minutes", "arrival_minutes", "resolution_minutes", "active"]
    columns = ["name_zh", "name_en", "position", "active", "priority", "category", "service_type", "customer_tier",
               "channel", "calendar", "response_minutes", "arrival_minutes", "resolution_minutes", "reminders"]
    add_columns = edit_columns = show_columns = columns
    related_views = [EscalationStepView]
    show_template = "appbuilder/general/model/show_cascade.html"
    edit_template = "appbuilder/general/model/edit_cascade.html"
    add_form_extra_fields = edit_form_extra_fields = {
        "customer_tier": SelectField(_l("Customer tier"), choices=[("", "")] + choices(CUSTOMER_TIERS),
                                     widget=Select2Widget()),
        "channel": SelectField(_l("Channel"), choices=[("", "")] + choices(CHANNELS), widget=Select2Widget()),
        "reminders": StringField(_l("Reminders"), validators=[_reminders_valid], widget=BS3TextFieldWidget()),
    }
    validators_columns = {f"{t}_minutes": [Optional(), NumberRange(min=1, max=525600)]
                          for t in ("response", "arrival", "resolution")}
    description_columns = {
        "position": _l("The first active policy (lowest number) whose conditions all hold applies; an empty "
                       "condition matches anything."),
        "response_minutes": _l("Working minutes in the calendar below; empty = no promise."),
        "arrival_minutes": _l("On-site service types only."),
        "reminders": _l("Remind the engineer at points of the promised time (50%, 80%) or before the deadline "
                        "(30m, 2h), separated by commas."),
    }
    formatters_columns = {
        "customer_tier": label_of(CUSTOMER_TIERS), "channel": label_of(CHANNELS),
        **{f"{t}_minutes": _minutes for t in ("response", "arrival", "resolution")},
        "priority": blank, "category": blank, "service_type": blank,
    }

    def pre_add(self, item):
        item.customer_tier = item.customer_tier or None
        item.channel = item.channel or None

    pre_update = pre_add


def deadline_and_time_left(value) -> str:
    """「2026-11-25 18:09（已超时 30分钟）」 or 「…（剩余 2小时）」."""
    if value is None:
        return ""
    now = utcnow()
    if value < now:
        left = _("overdue by %(late)s", late=duration(now - value))
    else:
        left = _("%(left)s left", left=duration(value - now))
    return f"{local_time(value)}（{left}）"


def ticket_link(number) -> Markup:
    """The board's rows open the ticket page (the board itself has no record pages)."""
    return Markup('<a href="%s">%s</a>') % (url_for("TicketView.by_number", number=number), number)


class AtRiskView(ModelView):
    """Open tickets by time left on their next deadline, breached first; counts per team on top."""

    datamodel = FormInterface(Ticket)
    class_permission_name = "AtRisk"
    method_permission_name = {"list": "list", "show": "show"}
    include_route_methods = {"list"}
    list_title = _l("SLA at risk")
    list_template = "sla/at_risk.html"
    label_columns = SLA_LABELS
    base_filters = [["sla_due_at", FilterGreater, lambda: datetime(1970, 1, 1)]]
    base_order = ("sla_due_at", "asc")
    list_columns = ["number", "priority", "subject", "team", "assignee", "status", "escalation_level",
                    "sla_due_at", "sla_state"]
    search_columns = ["team", "priority", "assignee", "escalation_level"]
    order_columns = ["number", "sla_due_at", "escalation_level", "status"]  # sla_state is computed, not sortable
    formatters_columns = {"sla_due_at": deadline_and_time_left, "status": status_badge, "assignee": blank,
                          "sla_state": sla_state, "number": ticket_link}
    page_size = 50

    @expose("/list/")
    @has_access
    def list(self):
        self.update_redirect()
        return self.render_template(self.list_template, title=self.list_title, widgets=self._list(),
                                    counts=risk_counts(now=utcnow()))


def risk_counts(*, now: datetime) -> list[dict]:
    """Breached and at-risk open tickets per team (the whole picture, whatever the list's filter)."""
    teams = {t.id: t for t in db.session.scalars(select(Team))}
    return [{"team": teams.get(tid), "team_id": tid, "breached": b, "at_risk": r, "running": n}
            for tid, b, r, n in sla.risk_counts(db.session, now=now)]


class SchedulerView(ModelView):
    """Whether the scheduler process runs, and how each job did last time."""

    datamodel = FormInterface(JobRun)
    class_permission_name = "Scheduler"
    method_permission_name = {"list": "list"}
    include_route_methods = {"list"}
    list_title = _l("Scheduler")
    list_template = "sla/scheduler.html"
    label_columns = SLA_LABELS
    base_order = ("job_id", "asc")
    list_columns = ["job_id", "process", "started_at", "finished_at", "handled", "succeeded_at", "error"]
    search_columns = ["job_id"]  # a form field named "process" would shadow WTForms' Form.process()
    formatters_columns = {"started_at": local_time, "finished_at": local_time, "succeeded_at": local_time,
                          "handled": blank,
                          "error": lambda e: Markup("<pre class='small'>%s</pre>") % escape(e) if e else ""}

    @expose("/list/")
    @has_access
    def list(self):
        self.update_redirect()
        now = utcnow()
        return self.render_template(self.list_template, title=self.list_title, widgets=self._list(),
                                    alive=heartbeat.is_alive(db.session, now=now),
                                    last_beat=heartbeat.last_beat(db.session))


