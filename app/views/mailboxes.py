"""Admins' IMAP mailboxes: where the scheduler fetches customer e-mail. The password is write-only here."""
from flask import flash, redirect, request
from flask_appbuilder import ModelView
from flask_appbuilder.actions import action
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import inspect
from wtforms import PasswordField
from wtforms.validators import DataRequired, NumberRange, Optional

from app.labels import MAILBOX_LABELS
from app.models import Mailbox
from app.services import mailpoll
from app.services.errors import ServiceError
from app.views.datamodel import FormInterface
from app.views.formatting import local_time


def _lines(value):
    return Markup("<br>").join(escape(line) for line in (value or "").splitlines())


class MailboxView(ModelView):
    datamodel = FormInterface(Mailbox)
    class_permission_name = "Mailbox"
    exclude_route_methods = {"download"}
    list_title = _l("Mailboxes")
    show_title = _l("Mailbox")
    add_title = _l("New mailbox")
    edit_title = _l("Edit mailbox")
    label_columns = MAILBOX_LABELS
    list_columns = ["name", "username", "host", "folder", "active", "last_polled_at", "last_error"]
    show_columns = ["name", "host", "port", "use_ssl", "username", "folder", "active", "last_uid",
                    "last_polled_at", "last_error"]
    add_columns = ["name", "host", "port", "use_ssl", "username", "new_password", "folder", "active"]
    edit_columns = add_columns
    validators_columns = {"port": [NumberRange(min=1, max=65535)]}
    add_form_extra_fields = {
        "new_password": PasswordField(_l("Password"), validators=[DataRequired()], widget=BS3PasswordFieldWidget()),
    }
    edit_form_extra_fields = {
        "new_password": PasswordField(_l("Password"), validators=[Optional()], widget=BS3PasswordFieldWidget(),
                                      description=_l("Leave empty to keep the current password.")),
    }
    description_columns = {
        "folder": _l("The IMAP folder new customer mail arrives in, usually INBOX."),
        "use_ssl": _l("Connect with TLS (IMAPS, usually port 993)."),
        "last_uid": _l("Mail up to this IMAP UID has been taken; the scheduler fetches what comes after it."),
    }
    formatters_columns = {"last_polled_at": local_time, "last_error": _lines}

    def _set_password(self, item):
        if getattr(item, "new_password", None):
            item.password = item.new_password

    def pre_add(self, item):
        self._set_password(item)

    def pre_update(self, item):
        self._set_password(item)
        state = inspect(item)
        if any(state.attrs[name].history.has_changes() for name in ("host", "port", "username", "folder")):
            item.uid_validity, item.last_uid = None, 0  # another folder: its unread mail is taken next

    @action("check", _l("Test connection"), icon="fa-plug", multiple=False, single=True)
    def check(self, item):
        try:
            found = mailpoll.check_connection(item)
        except ServiceError as exc:
            flash(str(exc), "danger")
        else:
            flash(_("Connected to %(name)s: %(messages)d messages in the folder, %(waiting)d not yet taken.",
                    name=item.name, **found), "success")
        return redirect(request.referrer or self.get_redirect())
