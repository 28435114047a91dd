"""Engineers (with their shifts and absences), teams and skills."""
from flask import current_app
from flask_appbuilder import ModelView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from app.labels import COMMON_LABELS, SHIFT_LABELS, STAFF_LABELS
from app.models import Engineer, EngineerAbsence, EngineerShift, Skill, Team
from app.timeutil import from_local, to_local
from app.views.datamodel import FormInterface
from app.views.formatting import blanks, local_time
from app.views.weekly import WINDOW_FORMATTERS, window_fields


def _after_start(form, field):
    if field.data and form.starts_at.data and field.data <= form.starts_at.data:
        raise ValidationError(_("The absence must end after it starts."))


class EngineerShiftView(ModelView):
    """Weekly working hours (local time); an engineer without any works whenever on duty."""

    datamodel = FormInterface(EngineerShift)
    class_permission_name = "EngineerShift"
    list_title = _l("Shifts")
    add_title = _l("New shift")
    edit_title = _l("Edit shift")
    label_columns = SHIFT_LABELS
    base_order = ("weekday", "asc")
    list_columns = show_columns = ["engineer", "weekday", "starts", "ends"]
    search_columns = ["engineer", "weekday"]
    add_columns = edit_columns = ["engineer", "weekday", "starts", "ends"]
    add_form_extra_fields = edit_form_extra_fields = window_fields()
    description_columns = {"ends": _l("A shift ending before it starts runs past midnight (22:00–06:00).")}
    formatters_columns = WINDOW_FORMATTERS


class EngineerAbsenceView(ModelView):
    """Leave, training, sick days: no new work in between."""

    datamodel = FormInterface(EngineerAbsence)
    class_permission_name = "EngineerAbsence"
    list_title = _l("Leave and absences")
    add_title = _l("New absence")
    edit_title = _l("Edit absence")
    label_columns = SHIFT_LABELS
    base_order = ("starts_at", "desc")
    list_columns = show_columns = ["engineer", "starts_at", "ends_at", "reason"]
    search_columns = ["engineer", "starts_at", "ends_at", "reason"]
    add_columns = edit_columns = ["engineer", "starts_at", "ends_at", "reason"]
    formatters_columns = {"starts_at": local_time, "ends_at": local_time}
    description_columns = {"starts_at": _l("Local time, as everywhere in the console."),
                           "ends_at": _l("Local time, as everywhere in the console.")}

    validators_columns = {"ends_at": [_after_start]}

    # The form speaks local time; the database keeps UTC.
    def prefill_form(self, form, pk):
        tz = current_app.config["TIMEZONE"]
        for name in ("starts_at", "ends_at"):
            value = getattr(form, name).data
            getattr(form, name).data = to_local(value, tz).replace(tzinfo=None) if value else value

    def pre_add(self, item):
        self._utc(item)

    def pre_update(self, item):
        self._utc(item)

    def _utc(self, item):
        tz = current_app.config["TIMEZONE"]
        item.starts_at, item.ends_at = from_local(item.starts_at, tz), from_local(item.ends_at, tz)


class EngineerView(ModelView):
    datamodel = FormInterface(Engineer)
    class_permission_name = "Engineer"
    list_title = _l("Engineers")
    show_title = _l("Engineer")
    add_title = _l("New engineer")
    edit_title = _l("Edit engineer")
    label_columns = STAFF_LABELS
    list_columns = ["name", "phone", "team", "skills", "regions", "open_count", "capacity", "on_duty", "active"]
    search_columns = ["name", "phone", "team", "skills", "regions", "warehouse", "on_duty", "active"]
    add_columns = edit_columns = ["name", "user", "phone", "team", "skills", "regions", "warehouse", "capacity",
                                  "on_duty", "active", "base_latitude", "base_longitude"]
    show_columns = add_columns + ["open_count", "open_load", "last_assigned_at", "last_latitude", "last_longitude",
                                  "last_located_at"]
    formatters_columns = {"last_located_at": local_time, "last_assigned_at": local_time,
                          **blanks("user", "phone", "team", "warehouse", "base_latitude", "base_longitude",
                                   "last_latitude", "last_longitude")}
    related_views = [EngineerShiftView, EngineerAbsenceView]


class TeamEngineersView(EngineerView):
    list_columns = ["name", "phone", "skills", "capacity", "on_duty"]


class TeamView(ModelView):
    datamodel = FormInterface(Team)
    class_permission_name = "Team"
    list_title = _l("Teams")
    show_title = _l("Team")
    label_columns = {**COMMON_LABELS, **STAFF_LABELS}
    list_columns = ["code", "name", "lead_user"]
    add_columns = edit_columns = ["code", "name_zh", "name_en", "lead_user"]
    show_columns = ["code", "name_zh", "name_en", "lead_user"]
    formatters_columns = blanks("lead_user")
    related_views = [TeamEngineersView]


class SkillView(ModelView):
    datamodel = FormInterface(Skill)
    class_permission_name = "Skill"
    list_title = _l("Skills")
    label_columns = COMMON_LABELS
    list_columns = ["code", "name_zh", "name_en"]
    add_columns = edit_columns = show_columns = ["code", "name_zh", "name_en"]
