"""The portal's forms: few fields, each refusal in the customer's language and naming the field."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.services.contacts import normalize_email, normalize_phone


def _phone(form, field):
    if field.data and normalize_phone(field.data) is None:
        raise ValidationError(_("%(value)s is not a phone number.", value=field.data))


def _email(form, field):
    if field.data and normalize_email(field.data) is None:
        raise ValidationError(_("%(value)s is not an e-mail address.", value=field.data))


def _phone_or_email(form, field):
    value = (field.data or "").strip()
    if "@" in value:
        _email(form, field)
    else:
        _phone(form, field)


STAR_CHOICES = [(str(n), str(n)) for n in range(5, 0, -1)]


class SubmitForm(FlaskForm):
    name = StringField(_l("Your name"), [DataRequired(_l("Please enter your name.")), Length(max=100)])
    phone = StringField(_l("Mobile phone"), [DataRequired(_l("Please enter your phone number.")), _phone])
    email = StringField(_l("E-mail (optional)"), [Optional(), Length(max=200), _email])
    product = StringField(_l("Product model or serial number (optional)"), [Optional(), Length(max=60)])
    address = StringField(_l("Service address (for a home visit)"), [Optional(), Length(max=300)])
    description = TextAreaField(_l("What is the problem?"), [
        DataRequired(_l("Please describe the problem.")),
        Length(min=4, max=2000, message=_l("Please describe the problem in 4 to 2000 characters."))])
    photos = MultipleFileField(_l("Photos (optional)"))
    form_key = HiddenField()


class TrackForm(FlaskForm):
    number = StringField(_l("Request number"), [DataRequired(_l("Please enter the request number.")),
                                               Length(max=32)])
    contact = StringField(_l("Phone or e-mail used for the request"),
                          [DataRequired(_l("Please enter your phone number or e-mail.")), _phone_or_email])


class ReplyForm(FlaskForm):
    text = TextAreaField(_l("Add information"), [DataRequired(_l("Please write what you want to add.")),
                                                 Length(max=2000)])
    photos = MultipleFileField(_l("Photos (optional)"))
    form_key = HiddenField()


class ConfirmForm(FlaskForm):
    score = RadioField(_l("How satisfied are you with our service?"), choices=STAR_CHOICES,
                       validators=[Optional()])
    comment = TextAreaField(_l("Comment (optional)"), [Optional(), Length(max=2000)])


class RateForm(FlaskForm):
    score = RadioField(_l("How satisfied are you with our service?"), choices=STAR_CHOICES,
                       validators=[DataRequired(_l("Choose from 1 to 5 stars."))])
    comment = TextAreaField(_l("Comment (optional)"), [Optional(), Length(max=2000)])


class ReopenForm(FlaskForm):
    reason = TextAreaField(_l("What is still wrong?"), [DataRequired(_l("Please tell us what is still wrong.")),
                                                        Length(max=2000)])
