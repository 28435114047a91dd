"""定期保养 plans for managers, with the tickets each one made."""
from flask_appbuilder import ModelView
from flask_babel import lazy_gettext as _l
from wtforms.validators import NumberRange

from app.labels import MAINTENANCE_LABELS
from app.models import MaintenancePlan, MaintenanceRun
from app.views.datamodel import FormInterface
from app.views.formatting import blanks, local_time


class MaintenanceRunView(ModelView):
    datamodel = FormInterface(MaintenanceRun)
    class_permission_name = "MaintenancePlan"
    include_route_methods = {"list"}
    method_permission_name = {"list": "show"}
    base_order = ("due_date", "desc")
    list_title = _l("Tickets made by the plan")
    label_columns = MAINTENANCE_LABELS
    list_columns = ["due_date", "asset", "ticket", "created_at"]
    formatters_columns = {"created_at": local_time, **blanks("ticket")}


class MaintenancePlanView(ModelView):
    datamodel = FormInterface(MaintenancePlan)
    class_permission_name = "MaintenancePlan"
    list_title = _l("Maintenance plans")
    show_title = _l("Maintenance plan")
    add_title = _l("New maintenance plan")
    edit_title = _l("Edit maintenance plan")
    label_columns = MAINTENANCE_LABELS
    list_columns = ["code", "name", "product", "interval_days", "lead_days", "active"]
    add_columns = show_columns = ["code", "name_zh", "name_en", "product", "interval_days", "lead_days", "category",
                                  "service_type", "priority", "active"]
    edit_columns = ["name_zh", "name_en", "product", "interval_days", "lead_days", "category", "service_type",
                    "priority", "active"]
    validators_columns = {"interval_days": [NumberRange(min=1, max=3650)], "lead_days": [NumberRange(min=0, max=90)]}
    description_columns = {
        "interval_days": _l("Due this many days after installation, then after each due date."),
        "lead_days": _l("The ticket is made this many days before the due date, so the visit can be booked."),
    }
    formatters_columns = blanks("category", "service_type", "priority")
    related_views = [MaintenanceRunView]
