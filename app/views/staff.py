"""Engineers, teams and skills."""
from flask_appbuilder import ModelView
from flask_babel import lazy_gettext as _l

from app.labels import COMMON_LABELS, STAFF_LABELS
from app.models import Engineer, Skill, Team
from app.views.datamodel import FormInterface
from app.views.formatting import blanks, local_time


class EngineerView(ModelView):
    datamodel = FormInterface(Engineer)
    class_permission_name = "Engineer"
    list_title = _l("Engineers")
    show_title = _l("Engineer")
    add_title = _l("New engineer")
    edit_title = _l("Edit engineer")
    label_columns = STAFF_LABELS
    list_columns = ["name", "phone", "team", "skills", "regions", "capacity", "on_duty", "active"]
    search_columns = ["name", "phone", "team", "skills", "regions", "on_duty", "active"]
    add_columns = edit_columns = ["name", "user", "phone", "team", "skills", "regions", "capacity", "on_duty",
                                  "active", "base_latitude", "base_longitude"]
    show_columns = add_columns + ["last_latitude", "last_longitude", "last_located_at"]
    formatters_columns = {"last_located_at": local_time,
                          **blanks("user", "phone", "team", "base_latitude", "base_longitude", "last_latitude",
                                   "last_longitude")}


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
