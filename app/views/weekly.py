"""Form fields and formatters for weekly time windows (engineers' shifts, business calendars' hours).
FAB has no form field for TIME columns: these are WTForms' own, typed as 09:00."""
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, TimeField
from wtforms.validators import DataRequired

WEEKDAYS = {0: _l("Monday"), 1: _l("Tuesday"), 2: _l("Wednesday"), 3: _l("Thursday"), 4: _l("Friday"),
            5: _l("Saturday"), 6: _l("Sunday")}


def clock(value) -> str:
    return value.strftime("%H:%M") if value is not None else ""


def window_fields(*ends_validators) -> dict:
    """Weekday, from and until: extra form fields for a view with those columns."""
    return {
        "weekday": SelectField(_l("Weekday"), choices=[(str(k), v) for k, v in WEEKDAYS.items()], coerce=int,
                               widget=Select2Widget()),
        "starts": TimeField(_l("From"), format="%H:%M", validators=[DataRequired()], widget=BS3TextFieldWidget()),
        "ends": TimeField(_l("Until"), format="%H:%M", validators=[DataRequired(), *ends_validators],
                          widget=BS3TextFieldWidget()),
    }


WINDOW_FORMATTERS = {"weekday": lambda d: str(WEEKDAYS.get(d, d)), "starts": clock, "ends": clock}
