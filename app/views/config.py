"""Manager-editable vocabularies: categories, service types, priorities, regions."""
from flask_appbuilder import ModelView
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from app.labels import COMMON_LABELS
from app.models import Category, Priority, ServiceRegion, ServiceType
from app.services.vocabulary import REGION_LEVELS, choices
from app.views.datamodel import FormInterface
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


class PriorityView(ReferenceView):
    datamodel = FormInterface(Priority)
    class_permission_name = "Priority"
    list_title = _l("Priorities")
    base_order = ("rank", "asc")
    list_columns = ["code", "name_zh", "name_en", "rank", "active"]
    add_columns = show_columns = ["code", "name_zh", "name_en", "rank", "active"]
    edit_columns = ["name_zh", "name_en", "rank", "active"]


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
