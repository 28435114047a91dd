"""Intake in the console: the clerk's phone registration, the review queue, and the managers' rules,
synonyms and settings; integration tokens for admins. Every save calls app.services."""
import re
import secrets

from flask import flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, ModelView
from flask_appbuilder.baseviews import expose
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterInFunction
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import NumberRange, Optional, ValidationError

from app.extensions import db
from app.labels import INTAKE_LABELS
from app.models import ClassificationRule, IntakeSettings, IntegrationToken, SynonymGroup
from app.models.intake import IOT_SEVERITIES
from app.services import recognise, tokens
from app.services import status as st
from app.services.errors import ServiceError
from app.services.intake import IntakeRequest, intake
from app.services.rules import split_list
from app.services.vocabulary import CHANNELS, CUSTOMER_TIERS, choices
from app.timeutil import utcnow
from app.views.datamodel import FormInterface
from app.views.settings_view import SettingsView
from app.views.simulate import RulePreview
from app.views.formatting import blanks, label_of, local_time
from app.views.tickets import TicketView


class PhoneIntakeView(BaseView):
    """电话登记: type the caller's number, see who it is, describe the problem, save."""

    route_base = "/intake/phone"
    class_permission_name = "PhoneIntake"
    method_permission_name = {"form": "register", "caller": "register"}
    default_view = "form"

    @expose("/", methods=["GET", "POST"])
    @has_access
    def form(self):
        values = request.form if request.method == "POST" else {"phone": request.args.get("phone", "")}
        if request.method == "POST":
            try:
                result = intake(db.session, IntakeRequest(
                    channel="phone", phone=values.get("phone"), customer_name=values.get("name") or None,
                    description=values.get("description", ""), subject=values.get("subject") or None,
                    address=values.get("address") or None,
                    asset_id=int(values["asset_id"]) if values.get("asset_id", "").isdigit() else None,
                    serial_number=values.get("serial_number") or None,
                    message_key=values.get("form_key") or None, key_is_reference=False,
                ), now=utcnow(), actor=g.user)
                db.session.commit()
            except ServiceError as exc:
                db.session.rollback()
                flash(str(exc), "danger")
                return self.render_template("intake/phone.html", values=values, error_field=exc.field,
                                            form_key=values.get("form_key") or _form_key())
            ticket = result.ticket
            if result.outcome == "merged":
                flash(_("Same problem as open ticket %(number)s: the call was added to it.", number=ticket.number),
                      "warning")
            else:
                flash(_("Ticket %(number)s registered.", number=ticket.number), "success")
            return redirect(url_for("TicketView.show", pk=ticket.id))
        return self.render_template("intake/phone.html", values=values, error_field=None, form_key=_form_key())

    @expose("/caller", methods=["GET"])
    @has_access
    def caller(self):
        card = recognise.caller_card(db.session, request.args.get("phone", ""), now=utcnow())
        return jsonify(card)


def _form_key() -> str:
    """One key per opened form: a double-clicked Save registers the call once."""
    return "form-" + secrets.token_hex(12)


class ReviewQueueView(TicketView):
    """待人工复核: open tickets the rules were not sure about."""

    base_filters = TicketView.base_filters + [
        ["needs_review", FilterEqual, True],
        ["status", FilterInFunction, lambda: sorted(st.OPEN_STATUSES)],
    ]
    base_order = ("created_at", "asc")
    list_title = _l("Review queue")
    list_columns = ["number", "channel", "subject", "category", "priority", "confidence", "contact_name",
                    "contact_phone", "created_at"]


def _check_pattern(form, field):
    if field.data:
        try:
            re.compile(field.data)
        except re.error as exc:
            raise ValidationError(_("Not a valid regular expression: %(error)s", error=str(exc)))


def _check_channels(form, field):
    unknown = [c for c in split_list(field.data) if c not in CHANNELS]
    if unknown:
        raise ValidationError(_("Unknown channel codes: %(codes)s (use %(known)s)", codes=", ".join(unknown),
                                known=", ".join(CHANNELS)))


def _empty_choice(mapping):
    return [("", "—")] + choices(mapping)


class ClassificationRuleView(RulePreview, ModelView):
    datamodel = FormInterface(ClassificationRule)
    class_permission_name = "ClassificationRule"
    list_title = _l("Classification rules")
    show_title = _l("Classification rule")
    add_title = _l("New classification rule")
    edit_title = _l("Edit classification rule")
    label_columns = INTAKE_LABELS
    base_order = ("position", "asc")
    list_columns = ["position", "name", "keywords", "category", "service_type", "priority", "raise_priority",
                    "confidence", "active"]
    search_columns = ["name", "keywords", "category", "priority", "active"]
    _fields = ["name", "position", "active", "stop", "keywords", "all_keywords", "pattern", "channels",
               "product_line", "customer_tier", "min_severity", "max_sentiment", "repeat_within_days",
               "category", "service_type", "priority", "raise_priority", "team", "tags", "confidence"]
    add_columns = edit_columns = show_columns = _fields
    description_columns = {
        "keywords": _l("Words to look for, one per line or separated by commas; each also matches its synonyms."),
        "all_keywords": _l("Tick to require every keyword; otherwise any one is enough."),
        "pattern": _l("Optional regular expression on the (simplified, lower-case) text."),
        "channels": _l("Channel codes, comma-separated; empty means every channel."),
        "max_sentiment": _l("Matches when the sentiment score is at most this (−1 angry … +1 pleased)."),
        "repeat_within_days": _l("Matches when the customer or device reported within this many days."),
        "raise_priority": _l("Make the priority this many levels more urgent."),
        "confidence": _l("How sure this rule is (0–1); below the review threshold a clerk checks the ticket."),
        "stop": _l("Stop evaluating further rules when this one matches."),
    }
    validators_columns = {
        "pattern": [_check_pattern], "channels": [_check_channels],
        "confidence": [NumberRange(min=0, max=1)], "raise_priority": [NumberRange(min=0, max=3)],
        "max_sentiment": [Optional(), NumberRange(min=-1, max=1)],
        "repeat_within_days": [Optional(), NumberRange(min=1, max=365)],
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "customer_tier": SelectField(_l("Customer tier"), choices=_empty_choice(CUSTOMER_TIERS),
                                     widget=Select2Widget()),
        "min_severity": SelectField(_l("Minimum IoT severity"), choices=_empty_choice(
            {s: s for s in IOT_SEVERITIES}), widget=Select2Widget()),
    }
    formatters_columns = {**blanks("keywords", "category", "service_type", "priority", "pattern", "channels",
                                   "product_line", "team", "tags", "max_sentiment", "repeat_within_days"),
                          "customer_tier": label_of(CUSTOMER_TIERS)}

    def pre_add(self, item):
        _tidy_rule(item)

    def pre_update(self, item):
        _tidy_rule(item)


def _tidy_rule(rule: ClassificationRule) -> None:
    rule.customer_tier = rule.customer_tier or None
    rule.min_severity = rule.min_severity or None
    rule.updated_at = utcnow()


class SynonymGroupView(ModelView):
    datamodel = FormInterface(SynonymGroup)
    class_permission_name = "SynonymGroup"
    list_title = _l("Synonyms")
    add_title = _l("New synonym group")
    edit_title = _l("Edit synonym group")
    label_columns = INTAKE_LABELS
    list_columns = ["words", "updated_at"]
    add_columns = edit_columns = show_columns = ["words"]
    search_columns = ["words"]
    description_columns = {"words": _l("Words and phrases that mean the same, separated by commas "
                                       "(Chinese and English may be mixed).")}
    formatters_columns = {"updated_at": local_time}

    def pre_update(self, item):
        item.updated_at = utcnow()


class IntakeSettingsView(SettingsView):
    datamodel = FormInterface(IntakeSettings)
    class_permission_name = "IntakeSettings"
    list_title = show_title = edit_title = _l("Intake settings")
    label_columns = INTAKE_LABELS
    list_columns = ["review_threshold", "default_priority", "dedupe_window_hours", "dedupe_similarity",
                    "iot_window_hours", "max_attachment_kb"]
    validators_columns = {
        "review_threshold": [NumberRange(min=0, max=1)], "dedupe_window_hours": [NumberRange(min=0, max=24 * 30)],
        "dedupe_similarity": [NumberRange(min=1, max=100)], "iot_window_hours": [NumberRange(min=1, max=24 * 30)],
        "max_attachment_kb": [NumberRange(min=1, max=25600)],
    }
    description_columns = {
        "review_threshold": _l("Tickets classified with less confidence than this go to the review queue."),
        "dedupe_window_hours": _l("A report merges into an open ticket of the same customer or device and "
                                  "category active within this many hours (0 turns merging off)."),
        "dedupe_similarity": _l("How alike two reports must be to merge (percentage of shared words)."),
        "iot_window_hours": _l("Repeats of a device's alarm within this many hours are counted on its open ticket."),
    }

    def pre_update(self, item):
        item.updated_at = utcnow()


class IntegrationTokenView(ModelView):
    datamodel = FormInterface(IntegrationToken)
    class_permission_name = "IntegrationToken"
    exclude_route_methods = {"delete", "download"}  # revoke by deactivating: the history stays
    list_title = _l("Integration tokens")
    add_title = _l("New integration token")
    edit_title = _l("Edit integration token")
    label_columns = INTAKE_LABELS
    list_columns = ["name", "channel", "prefix", "active", "created_at", "last_used_at"]
    show_columns = list_columns
    add_columns = ["name", "channel"]
    edit_columns = ["name", "active"]
    add_form_extra_fields = {
        "channel": SelectField(_l("Channel"), choices=choices(CHANNELS), widget=Select2Widget()),
    }
    formatters_columns = {"channel": label_of(CHANNELS), "created_at": local_time, "last_used_at": local_time}

    def pre_add(self, item):
        item.created_at = utcnow()
        g.issued_token = tokens.issue(db.session, item)

    def post_add(self, item):
        flash(_("Token for %(name)s: %(token)s — copy it now, it is not shown again.", name=item.name,
                token=g.pop("issued_token", "")), "warning")
