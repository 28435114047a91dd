"""满意度 in the console: the clerks' follow-up calls (回访), the ratings, the managers' low-score reviews and
the loop's settings. Every change calls app.services.satisfaction."""
from flask import current_app, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterInFunction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectField
from wtforms.validators import DataRequired, NumberRange

from app.extensions import db
from app.labels import SATISFACTION_LABELS
from app.models import FollowUp, LowScoreReview, SatisfactionSettings, Survey, TicketEvent
from app.services import satisfaction
from app.services.errors import ServiceError
from app.services.satisfaction_text import (
    FOLLOW_UP_STATES, OUTCOMES, RATED_VIA, REVIEW_STATES, ROOT_CAUSES, SURVEY_STATES, TRIGGERS, stars,
)
from app.services.vocabulary import choices
from app.timeutil import to_local, utcnow
from app.views.datamodel import FormInterface
from app.views.settings_view import SettingsView
from app.views.formatting import blank, blanks, label_of, local_time


def _stars(score) -> str:
    return stars(score) if score else ""


def _record_button(pk) -> Markup:
    return Markup('<a class="btn btn-sm btn-primary" href="{}">{}</a>').format(
        url_for("FollowUpView.record", pk=pk), _("Record call"))


def _due(due_at) -> Markup:
    """When the call is due, marked so that a clerk sees at a glance what to call now: overdue (before today),
    due today, or not yet (a reminder of what is coming — it stays on the list, last)."""
    if due_at is None:
        return Markup("")
    now, zone = utcnow(), current_app.config["TIMEZONE"]
    if due_at > now:
        css, label = "label-default", _("Not yet due")
    elif to_local(due_at, zone).date() < to_local(now, zone).date():
        css, label = "label-danger", _("Overdue")
    else:
        css, label = "label-warning", _("Due today")
    return Markup('{} <span class="label {}" data-due="{}">{}</span>').format(local_time(due_at), css,
                                                                          css.removeprefix("label-"), label)


class FollowUpView(ModelView):
    """回访任务: calls still to make, the most overdue first."""

    datamodel = FormInterface(FollowUp, load=[selectinload(FollowUp.ticket)])
    class_permission_name = "FollowUp"
    include_route_methods = {"list", "show", "record"}
    method_permission_name = {"record": "record"}
    base_filters = [["state", FilterEqual, "open"]]
    base_order = ("due_at", "asc")
    list_title = _l("Follow-up calls to make")
    show_title = _l("Follow-up call")
    label_columns = SATISFACTION_LABELS
    list_columns = ["due_at", "ticket", "ticket.contact_name", "ticket.contact_phone", "ticket.subject", "attempts",
                    "outcome", "id"]
    show_columns = ["ticket", "round", "state", "due_at", "attempts", "outcome", "note", "last_attempt_at", "done_at",
                    "done_by", "created_at"]
    search_columns = ["due_at", "attempts", "outcome"]
    formatters_columns = {
        "due_at": _due, "last_attempt_at": local_time, "done_at": local_time, "created_at": local_time,
        "outcome": label_of(OUTCOMES), "state": label_of(FOLLOW_UP_STATES), "id": _record_button,
        **blanks("note", "done_by"),
    }

    @expose("/record/<int:pk>", methods=["GET", "POST"])
    @has_access
    def record(self, pk):
        item = db.session.get(FollowUp, pk)
        if item is None:
            flash(_("That follow-up call does not exist."), "danger")
            return redirect(url_for("FollowUpView.list"))
        values, error_field = request.form, None
        if request.method == "POST":
            try:
                satisfaction.record_call(db.session, item, values.get("outcome", ""), now=utcnow(), actor=g.user,
                                         note=values.get("note"), score=values.get("score") or None,
                                         expected_version=values.get("version"))
                db.session.commit()
            except ServiceError as exc:
                db.session.rollback()
                flash(str(exc), "danger")
                error_field = exc.field
                item = db.session.get(FollowUp, pk)
            else:
                flash(_("Call recorded for %(number)s: %(outcome)s", number=item.ticket.number,
                        outcome=OUTCOMES[item.outcome]), "success")
                return redirect(url_for("FollowUpView.list"))
        calls = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == item.ticket_id,
                                                             TicketEvent.kind == "follow_up")
                                   .order_by(TicketEvent.id)).all()
        return self.render_template(
            "satisfaction/follow_up.html", item=item, ticket=item.ticket, values=values, error_field=error_field,
            outcomes=OUTCOMES, calls=calls, survey=satisfaction.current_survey(db.session, item.ticket),
            can_rate=satisfaction.can_rate(db.session, item.ticket), local_time=local_time)


class FollowUpHistoryView(ModelView):
    """Calls made: what customers said, who called."""

    datamodel = FormInterface(FollowUp, load=[selectinload(FollowUp.ticket), selectinload(FollowUp.done_by)])
    class_permission_name = "FollowUpHistory"
    include_route_methods = {"list", "show"}
    base_filters = [["state", FilterInFunction, lambda: ["done", "cancelled", "skipped"]]]
    base_order = ("done_at", "desc")
    list_title = _l("Follow-up history")
    show_title = _l("Follow-up call")
    label_columns = SATISFACTION_LABELS
    list_columns = ["done_at", "ticket", "ticket.contact_name", "state", "outcome", "attempts", "note", "done_by"]
    show_columns = FollowUpView.show_columns
    search_columns = ["outcome", "state", "done_at", "done_by"]
    formatters_columns = {**FollowUpView.formatters_columns, "due_at": local_time}  # done: no overdue mark


class SurveyView(ModelView):
    """满意度评价: each resolution's survey and what the customer answered."""

    datamodel = FormInterface(Survey, load=[selectinload(Survey.ticket)])
    class_permission_name = "Survey"
    include_route_methods = {"list", "show"}
    base_order = ("id", "desc")
    list_title = _l("Ratings")
    show_title = _l("Rating")
    label_columns = SATISFACTION_LABELS
    list_columns = ["resolved_at", "ticket", "round", "state", "sent_at", "score", "comment", "rated_via", "rated_at"]
    show_columns = list_columns
    search_columns = ["state", "score", "rated_via", "resolved_at", "rated_at"]
    formatters_columns = {
        "resolved_at": local_time, "sent_at": local_time, "rated_at": local_time, "score": _stars,
        "state": label_of(SURVEY_STATES), "rated_via": label_of(RATED_VIA), "comment": blank,
    }


class LowScoreReviewView(ModelView):
    """差评复盘: every low rating and "problem persists", until a manager records the root cause."""

    datamodel = FormInterface(LowScoreReview, load=[selectinload(LowScoreReview.ticket),
                                                    selectinload(LowScoreReview.team),
                                                    selectinload(LowScoreReview.engineer)])
    class_permission_name = "LowScoreReview"
    include_route_methods = {"list", "show", "edit"}
    base_order = ("created_at", "desc")
    list_title = _l("Low-score reviews")
    show_title = _l("Low-score review")
    edit_title = _l("Record the root cause")
    label_columns = SATISFACTION_LABELS
    list_columns = ["created_at", "ticket", "trigger", "score", "reason", "team", "engineer", "state", "root_cause"]
    show_columns = list_columns + ["review_note", "reviewed_by", "reviewed_at"]
    edit_columns = ["root_cause", "review_note"]
    search_columns = ["state", "trigger", "root_cause", "team", "engineer", "created_at"]
    formatters_columns = {
        "created_at": local_time, "reviewed_at": local_time, "score": _stars, "trigger": label_of(TRIGGERS),
        "state": label_of(REVIEW_STATES), "root_cause": label_of(ROOT_CAUSES),
        **blanks("reason", "team", "engineer", "review_note", "reviewed_by"),
    }
    edit_form_extra_fields = {
        "root_cause": SelectField(_l("Root cause"), choices=choices(ROOT_CAUSES), widget=Select2Widget(),
                                  validators=[DataRequired()]),
    }

    def pre_update(self, item):
        satisfaction.review(db.session, item, item.root_cause, item.review_note, now=utcnow(), actor=g.user)


class SatisfactionSettingsView(SettingsView):
    datamodel = FormInterface(SatisfactionSettings)
    class_permission_name = "SatisfactionSettings"
    list_title = show_title = edit_title = _l("Satisfaction settings")
    label_columns = SATISFACTION_LABELS
    list_columns = ["survey_delay_hours", "follow_up_days", "follow_up_all", "follow_up_retry_hours",
                    "follow_up_max_attempts", "low_score_max", "reopen_days"]
    validators_columns = {
        "survey_delay_hours": [NumberRange(min=0, max=720)], "follow_up_days": [NumberRange(min=0, max=365)],
        "follow_up_retry_hours": [NumberRange(min=1, max=720)], "follow_up_max_attempts": [NumberRange(min=1, max=20)],
        "low_score_max": [NumberRange(min=1, max=4)], "reopen_days": [NumberRange(min=0, max=365)],
    }
    description_columns = {
        "survey_delay_hours": _l("The satisfaction survey goes to the customer this long after the resolution, "
                                 "unless they rated or reopened first."),
        "follow_up_days": _l("A follow-up call is due this many days after the ticket closed. 0: no follow-up calls."),
        "follow_up_all": _l("Unticked: only customers who did not rate the service are called."),
        "follow_up_retry_hours": _l("An unreachable customer is called again after this long."),
        "follow_up_max_attempts": _l("After this many unanswered calls the follow-up is closed as unreachable."),
        "low_score_max": _l("A rating at or below this many stars goes to the team lead and the low-score reviews."),
        "reopen_days": _l("How long after closing a customer may reopen the request from the portal."),
    }
