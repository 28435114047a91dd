"""Notifications in the console: managers' templates (with a live preview), integrators' webhooks and group
robots, the delivery settings, the admins' outbox (attempts, re-send), and every staff member's bell and
channel choices."""
from flask import flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import ModelView, SimpleFormView, expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget, BS3TextFieldWidget, Select2ManyWidget, Select2Widget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterEqualFunction, FilterNotEqual
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField, TimeField
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, ValidationError

from app.extensions import db
from app.labels import NOTIFY_LABELS
from app.models import (
    Notification, NotificationAttempt, NotificationTemplate, NotifyEndpoint, NotifySettings, StaffNotifyPreference,
    Ticket,
)
from app.services import notify, notify_templates
from app.services.vocabulary import LANGUAGE_NAMES, choices
from app.timeutil import utcnow
from app.views.datamodel import FormInterface
from app.views.settings_view import SettingsView
from app.views.formatting import blank, label_of, local_time
from app.views.weekly import clock

ENDPOINT_KINDS = {"webhook": _l("Webhook (signed JSON)"), "wecom": _l("WeCom group robot"),
                  "dingtalk": _l("DingTalk group robot"), "feishu": _l("Feishu group robot")}
EVENT_CHOICES = {code: label for code, (label, _who) in notify_templates.EVENTS.items()}
CHANNEL_LABELS = notify_templates.CHANNEL_LABELS


def _field_error(message: str) -> ValidationError:
    return ValidationError(message.replace("%", "%%"))  # FAB passes field errors through gettext


def _template_valid(form, field):
    for problem in notify_templates.check(form.subject.data, form.body.data):
        if problem.field == field.name:
            raise _field_error(problem.message)


def _one_template_per_slot(form, field):
    existing = db.session.scalar(select(NotificationTemplate.id).where(
        NotificationTemplate.event == form.event.data, NotificationTemplate.channel == form.channel.data,
        NotificationTemplate.language == field.data))
    editing = (request.view_args or {}).get("pk")
    if existing is not None and str(existing) != str(editing):
        raise ValidationError(_l("There is already a template for this event, channel and language."))


class NotificationTemplateView(ModelView):
    datamodel = FormInterface(NotificationTemplate)
    class_permission_name = "NotificationTemplate"
    list_title = _l("Notification templates")
    label_columns = NOTIFY_LABELS
    base_order = ("event", "asc")
    list_columns = ["event", "channel", "language", "subject", "updated_at"]
    search_columns = ["event", "channel", "language", "subject", "body"]
    add_columns = edit_columns = show_columns = ["event", "channel", "language", "subject", "body",
                                                 "wechat_template_id"]
    add_template = "notify/template_add.html"
    edit_template = "notify/template_edit.html"
    add_form_extra_fields = edit_form_extra_fields = {
        "event": SelectField(_l("Event"), choices=choices(EVENT_CHOICES), widget=Select2Widget()),
        "channel": SelectField(_l("Channel"), choices=[(c, notify_templates.CHANNELS[c])
                                                       for c in notify_templates.TEMPLATE_CHANNELS],
                               widget=Select2Widget()),
        "language": SelectField(_l("Language"), choices=choices(LANGUAGE_NAMES), widget=Select2Widget(),
                                validators=[_one_template_per_slot]),
        "subject": StringField(_l("Subject"), validators=[Optional(), Length(max=200), _template_valid],
                               widget=BS3TextFieldWidget()),
        "body": TextAreaField(_l("Message"), validators=[_template_valid], widget=BS3TextAreaFieldWidget()),
    }
    description_columns = {
        "subject": _l("E-mail subject; the first line in WeChat, robots and the bell. Not used for SMS."),
        "body": _l("Placeholders in double braces, e.g. {{ number }}; conditions: {% if tracking_link %}…{% endif %}."),
        "wechat_template_id": _l("The template id approved in the WeChat official account (WeChat channel only)."),
    }
    formatters_columns = {"event": label_of(EVENT_CHOICES), "channel": label_of(CHANNEL_LABELS),
                          "language": label_of(LANGUAGE_NAMES), "updated_at": local_time, "subject": blank}

    def render_template(self, template, **kwargs):
        placeholders = [(name, str(label)) for name, label in notify_templates.PLACEHOLDERS.items()]
        return super().render_template(template, placeholders=placeholders, **kwargs)

    @expose("/preview", methods=["POST"])
    @has_access
    def preview(self):
        """The form's text rendered with a sample ticket, in the template's language: what a customer would
        read. Problems come back per field, as on save."""
        form = request.form
        language = form.get("language") if form.get("language") in LANGUAGE_NAMES else "zh"
        subject, body = form.get("subject") or "", form.get("body") or ""
        problems = notify_templates.check(subject, body)
        if problems:
            return jsonify(problems=[{"field": p.field, "message": p.message} for p in problems])
        with force_locale(language):
            rendered = notify_templates.render(subject, body, notify_templates.SAMPLE)
        return jsonify(problems=[], subject=rendered.subject, text=rendered.text, html=rendered.html)


class NotifyEndpointView(ModelView):
    datamodel = FormInterface(NotifyEndpoint)
    class_permission_name = "NotifyEndpoint"
    list_title = _l("Webhooks and group robots")
    label_columns = NOTIFY_LABELS
    base_order = ("name", "asc")
    list_columns = ["name", "kind", "events", "team", "language", "active"]
    add_columns = edit_columns = ["name", "kind", "url", "secret", "events", "team", "language", "active"]
    show_columns = ["name", "kind", "url", "events", "team", "language", "active", "updated_at"]
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": SelectField(_l("Kind"), choices=choices(ENDPOINT_KINDS), widget=Select2Widget()),
        "url": StringField(_l("URL"), validators=[DataRequired(), URL(require_tld=False), Length(max=500)],
                           widget=BS3TextFieldWidget()),
        "events": SelectMultipleField(_l("Events"), choices=choices(EVENT_CHOICES), widget=Select2ManyWidget(),
                                      validators=[DataRequired()]),
        "language": SelectField(_l("Language"), choices=choices(LANGUAGE_NAMES), widget=Select2Widget()),
    }
    description_columns = {
        "url": _l("A webhook's address, or the robot's webhook URL as copied from the group's settings."),
        "secret": _l("Webhooks: the HMAC-SHA256 key (header X-Service-Signature). DingTalk 加签 / Feishu "
                     "signature: the robot's secret. Leave empty when the robot has none."),
        "team": _l("Only tickets of this team (a service station's group); empty = all tickets."),
        "language": _l("The language of robot messages."),
    }
    formatters_columns = {"kind": label_of(ENDPOINT_KINDS), "language": label_of(LANGUAGE_NAMES),
                          "team": blank, "updated_at": local_time,
                          "events": lambda v: "、".join(str(EVENT_CHOICES.get(e, e)) for e in (v or "").split(",") if e)}

    def prefill_form(self, form, pk):
        # Stored as "a,b"; WTForms would read the string letter by letter.
        item = self.datamodel.get(pk)
        form.events.data = [e for e in (item.events or "").split(",") if e] if item is not None else []

    def pre_add(self, item):
        if isinstance(item.events, (list, tuple)):
            item.events = ",".join(item.events)
        item.secret = (item.secret or "").strip() or None

    def pre_update(self, item):
        self.pre_add(item)


class NotifySettingsView(SettingsView):
    datamodel = FormInterface(NotifySettings)
    class_permission_name = "NotifySettings"
    list_title = show_title = edit_title = _l("Notification settings")
    label_columns = NOTIFY_LABELS
    list_columns = ["quiet_start", "quiet_end", "max_attempts", "retry_minutes"]
    search_columns = ["max_attempts"]  # one row; FAB cannot search TIME columns
    validators_columns = {"max_attempts": [NumberRange(min=1, max=50)], "retry_minutes": [NumberRange(min=1, max=1440)]}
    edit_form_extra_fields = {  # FAB has no form field for TIME columns
        name: TimeField(label, format="%H:%M", validators=[Optional()], widget=BS3TextFieldWidget())
        for name, label in (("quiet_start", _l("Quiet hours from")), ("quiet_end", _l("Quiet hours until")))
    }
    formatters_columns = {"quiet_start": clock, "quiet_end": clock}
    description_columns = {
        "quiet_start": _l("Customer messages written between these local times wait until the end of them, "
                          "unless the ticket is urgent. Leave both empty for none."),
        "max_attempts": _l("After this many failed attempts a message is marked failed (admins can send it again)."),
        "retry_minutes": _l("The first retry waits this long, each further one twice as long (at most 6 hours)."),
    }


class NotificationAttemptView(ModelView):
    datamodel = FormInterface(NotificationAttempt)
    class_permission_name = "NotificationAttempt"
    method_permission_name = {"list": "list"}
    include_route_methods = {"list"}
    list_title = _l("Delivery attempts")
    label_columns = NOTIFY_LABELS
    base_order = ("id", "asc")
    list_columns = ["at", "ok", "duration_ms", "error"]
    formatters_columns = {"at": local_time, "error": blank}


class OutboxView(ModelView):
    """Every message and how its delivery went; failed ones can be sent again."""

    datamodel = FormInterface(Notification, load=[selectinload(Notification.ticket), selectinload(Notification.user),
                                                  selectinload(Notification.customer),
                                                  selectinload(Notification.endpoint)])
    class_permission_name = "Outbox"
    method_permission_name = {"list": "list", "show": "show", "resend": "resend", "action_post": "resend"}
    include_route_methods = {"list", "show", "action_post"}
    list_title = show_title = _l("Notification outbox")
    label_columns = NOTIFY_LABELS
    base_order = ("id", "desc")
    base_filters = [["channel", FilterNotEqual, "inapp"]]  # in-app messages live in their readers' bells
    list_columns = ["created_at", "ticket", "event", "channel", "recipient", "address", "state", "attempts",
                    "next_attempt_at", "last_error"]
    show_columns = ["key", "created_at", "ticket", "event", "channel", "language", "recipient", "address", "state",
                    "attempts", "next_attempt_at", "sent_at", "last_error"]
    search_columns = ["state", "channel", "event", "ticket", "address", "created_at"]
    related_views = [NotificationAttemptView]
    show_template = "appbuilder/general/model/show_cascade.html"
    formatters_columns = {
        "created_at": local_time, "next_attempt_at": local_time, "sent_at": local_time,
        "event": label_of(EVENT_CHOICES), "channel": label_of(CHANNEL_LABELS), "ticket": blank, "address": blank,
        "state": lambda s: Markup('<span class="label label-%s">%s</span>') % (
            {"sent": "success", "dead": "danger", "pending": "warning"}.get(s, "default"), notify_templates.STATE_LABELS.get(s, s)),
        "last_error": lambda e: escape(notify.skip_reason(e))[:300] if e else "",
    }

    @action("resend", _l("Send again"), _l("Send the chosen messages again?"), "fa-repeat", single=False)
    def resend(self, items):
        items = items if isinstance(items, list) else [items]
        count = notify.resend(db.session, [i.id for i in items], now=utcnow())
        db.session.commit()
        flash(_("%(count)s message(s) queued to be sent again.", count=count), "success")
        return redirect(self.get_redirect())


def _current_user_id():
    return g.user.id


def _inbox_message(value) -> Markup:
    note_id, title, text = value
    return Markup('<a href="%s"><strong>%s</strong></a><br><span class="text-muted">%s</span>') % (
        url_for("InboxView.open", pk=note_id), title, text)


class InboxView(ModelView):
    """The bell: this user's in-app messages, newest first; opening one marks it read."""

    datamodel = FormInterface(Notification, load=[
        selectinload(Notification.ticket).selectinload(getattr(Ticket, name))
        for name in ("assignee", "customer", "priority", "category", "team")])
    class_permission_name = "Inbox"
    method_permission_name = {"list": "list", "open": "list", "read_all": "list"}
    include_route_methods = {"list", "open", "read_all"}
    list_title = _l("My notifications")
    list_template = "notify/inbox.html"
    label_columns = NOTIFY_LABELS
    base_filters = [["user_id", FilterEqualFunction, _current_user_id], ["channel", FilterEqual, "inapp"]]
    base_order = ("id", "desc")
    list_columns = ["created_at", "inbox_message", "ticket", "read_at"]
    # Not "ticket": FAB's filter on a relation renders every ticket as a choice — all of the tickets, whoever
    # may see them, on every page of the bell.
    search_columns = ["created_at"]
    formatters_columns = {"created_at": local_time, "inbox_message": _inbox_message, "read_at": lambda v: _("Read") if v else Markup(
        '<span class="label label-primary">%s</span>') % _("New")}
    page_size = 30

    @expose("/open/<int:pk>")
    @has_access
    def open(self, pk):
        note = db.session.get(Notification, pk)
        if note is None or note.user_id != g.user.id or note.channel != "inapp":
            flash(_("That notification is not yours."), "danger")
            return redirect(url_for("InboxView.list"))
        notify.mark_read(db.session, g.user.id, now=utcnow(), ids=[pk])
        db.session.commit()
        if note.ticket is not None:
            return redirect(url_for("TicketView.by_number", number=note.ticket.number))
        return redirect(url_for("InboxView.list"))

    @expose("/read_all", methods=["POST"])
    @has_access
    def read_all(self):
        count = notify.mark_read(db.session, g.user.id, now=utcnow())
        db.session.commit()
        flash(_("%(count)s notification(s) marked as read.", count=count), "success")
        return redirect(url_for("InboxView.list"))


class PreferenceForm(DynamicForm):
    email = BooleanField(_l("E-mail"), description=_l("To the address in your profile."))
    sms = BooleanField(_l("SMS"))
    phone = StringField(_l("Mobile phone"), validators=[Length(max=30)], widget=BS3TextFieldWidget())
    language = SelectField(_l("Language of messages"), choices=choices(LANGUAGE_NAMES), widget=Select2Widget())

    def validate_phone(self, field):
        if self.sms.data and not (field.data or "").strip():
            raise ValidationError(_l("Give the mobile phone number for SMS."))


class PreferenceView(SimpleFormView):
    """Each staff member chooses how they hear of assignments, reminders and escalations. The bell always rings."""

    form = PreferenceForm
    form_title = _l("My notification channels")
    class_permission_name = "NotifyPreference"
    method_permission_name = {"this_form_get": "edit", "this_form_post": "edit"}

    def form_get(self, form):
        pref = db.session.get(StaffNotifyPreference, g.user.id)
        form.email.data = True if pref is None else pref.email
        form.sms.data = False if pref is None else pref.sms
        form.phone.data = None if pref is None else pref.phone
        form.language.data = "zh" if pref is None else pref.language

    def form_post(self, form):
        pref = db.session.get(StaffNotifyPreference, g.user.id) or StaffNotifyPreference(user_id=g.user.id)
        pref.email, pref.sms = bool(form.email.data), bool(form.sms.data)
        pref.phone = (form.phone.data or "").strip() or None
        pref.language = form.language.data
        db.session.add(pref)
        db.session.commit()
        flash(_("Your notification channels are saved."), "success")


BELL_SHOWN = 99  # the bell says "99+" beyond this


def unread_notifications():
    """For the bell in the navigation bar: the unread count as the badge shows it ("99+" beyond BELL_SHOWN), ""
    when there is none, None when nobody is logged in."""
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    count = notify.unread_count(db.session, user.id, at_most=BELL_SHOWN)
    return f"{BELL_SHOWN}+" if count > BELL_SHOWN else (str(count) if count else "")
