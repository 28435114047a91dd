"""Manager-editable vocabularies (categories, service types, priorities, regions) and dispatch weights."""
from flask_appbuilder import ModelView
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import NumberRange

from app.labels import COMMON_LABELS, DISPATCH_LABELS
from app.models import Category, DispatchSettings, Priority, ResolutionCode, ServiceRegion, ServiceType
from app.services.vocabulary import REGION_LEVELS, choices
from app.views.datamodel import FormInterface
from app.views.settings_view import SettingsView
from app.views.simulate import DispatchPreview
from app.views.formatting import label_of


class ReferenceView(ModelView):
    """Codes are stable identifiers used by rules and integrations: set once, names stay editable."""

    label_columns = COMMON_LABELS
    base_order = ("sort_order", "asc")
    list_columns = ["code", "name_zh", "name_en", "sort_order", "active"]
    add_columns = show_columns = ["code", "name_zh", "name_en", "sort_order", "active"]
    edit_columns = ["name_zh", "name_en", "sort_order", "active"]


class CategoryView(ReferenceView):
    datamodel = FormInterface(Category)
    class_permission_name = "Category"
    list_title = _l("Categories")


class ServiceTypeView(ReferenceView):
    datamodel = FormInterface(ServiceType)
    class_permission_name = "ServiceType"
    list_title = _l("Service types")
    list_columns = ReferenceView.list_columns + ["on_site"]
    add_columns = show_columns = ReferenceView.add_columns + ["on_site"]
    edit_columns = ReferenceView.edit_columns + ["on_site"]
    description_columns = {"on_site": _l("Done at the customer's place: dispatch then requires an engineer "
                                         "covering the customer's region and weighs the distance.")}


class ResolutionCodeView(ReferenceView):
    datamodel = FormInterface(ResolutionCode)
    class_permission_name = "ResolutionCode"
    list_title = _l("Resolution codes")


class PriorityView(ReferenceView):
    datamodel = FormInterface(Priority)
    class_permission_name = "Priority"
    list_title = _l("Priorities")
    base_order = ("rank", "asc")
    list_columns = ["code", "name_zh", "name_en", "rank", "load_weight", "capacity_overflow", "active"]
    add_columns = show_columns = ["code", "name_zh", "name_en", "rank", "load_weight", "capacity_overflow", "active"]
    edit_columns = ["name_zh", "name_en", "rank", "load_weight", "capacity_overflow", "active"]
    validators_columns = {"load_weight": [NumberRange(min=0, max=100)], "capacity_overflow": [NumberRange(min=0,
                                                                                                          max=100)]}
    description_columns = {
        "load_weight": _l("How much one open ticket of this priority counts in an engineer's load."),
        "capacity_overflow": _l("Dispatch may give an engineer this many tickets of this priority beyond "
                                "their capacity (urgent work)."),
    }


class DispatchSettingsView(DispatchPreview, SettingsView):
    datamodel = FormInterface(DispatchSettings)
    class_permission_name = "DispatchSettings"
    list_title = show_title = edit_title = _l("Dispatch settings")
    label_columns = DISPATCH_LABELS
    list_columns = ["auto_dispatch", "weight_load", "weight_distance", "weight_parts", "weight_previous",
                    "distance_half_km", "location_fresh_hours", "candidates_shown", "accept_remind_minutes",
                    "accept_redispatch_minutes"]
    validators_columns = {
        **{w: [NumberRange(min=0, max=100)] for w in ("weight_load", "weight_distance", "weight_parts",
                                                       "weight_previous")},
        "distance_half_km": [NumberRange(min=0.1, max=1000)], "location_fresh_hours": [NumberRange(min=0, max=720)],
        "candidates_shown": [NumberRange(min=1, max=20)],
        "accept_remind_minutes": [NumberRange(min=0, max=10080)],
        "accept_redispatch_minutes": [NumberRange(min=0, max=10080)],
    }
    description_columns = {
        "auto_dispatch": _l("New tickets (once reviewed, when they need it) go to the best engineer at once."),
        "weight_load": _l("Prefer engineers with fewer open tickets, weighted by priority, against capacity."),
        "weight_distance": _l("Prefer engineers near the customer (on-site work only)."),
        "weight_parts": _l("Prefer engineers whose warehouse has the parts the ticket needs."),
        "weight_previous": _l("Prefer the engineer who served this device or customer before."),
        "distance_half_km": _l("At this distance the distance part of the score is one half."),
        "location_fresh_hours": _l("An engineer's last reported position older than this is ignored for their base."),
        "accept_redispatch_minutes": _l("0 = never. The engineer who let it wait is not offered the ticket again."),
    }


class ServiceRegionView(ModelView):
    datamodel = FormInterface(ServiceRegion)
    class_permission_name = "ServiceRegion"
    list_title = _l("Service regions")
    label_columns = COMMON_LABELS
    base_order = ("code", "asc")
    list_columns = ["code", "name", "level", "parent"]
    search_columns = ["code", "name_zh", "name_en", "level", "parent"]
    add_columns = edit_columns = show_columns = ["code", "name_zh", "name_en", "level", "parent"]
    add_form_extra_fields = edit_form_extra_fields = {
        "level": SelectField(_l("Level"), choices=choices(REGION_LEVELS), widget=Select2Widget()),
    }
    formatters_columns = {"level": label_of(REGION_LEVELS)}
