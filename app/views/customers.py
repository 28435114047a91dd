"""Customers, their contacts and devices, and the product catalogue."""
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from wtforms import SelectField

from app.extensions import db
from app.labels import ASSET_LABELS, COMMON_LABELS, CUSTOMER_LABELS
from app.models import Asset, Customer, CustomerContact, Product, ProductLine
from app.services import assets
from app.services.contacts import tidy_contact, tidy_contacts
from app.services.vocabulary import CONTACT_CHANNELS, CONTACT_KINDS, CUSTOMER_TIERS, LANGUAGE_NAMES, choices
from app.views.datamodel import FormInterface
from app.views.formatting import blanks, label_of, local_time, warranty_end
from app.views.tickets import TicketView


def _select(label, mapping, default):
    return SelectField(label, choices=choices(mapping), default=default, widget=Select2Widget())


class CustomerTicketsView(TicketView):
    """A customer's tickets, shown under the customer."""

    list_columns = ["number", "status", "priority", "subject", "assignee", "created_at"]


class AssetTicketsView(TicketView):
    list_columns = ["number", "status", "category", "subject", "assignee", "created_at"]


class CustomerContactView(ModelView):
    datamodel = FormInterface(CustomerContact)
    class_permission_name = "CustomerContact"
    list_title = _l("Other contacts")
    label_columns = CUSTOMER_LABELS
    list_columns = ["customer", "kind", "value", "label"]
    add_columns = edit_columns = ["customer", "kind", "value", "label"]
    search_columns = ["kind", "value"]  # not "customer": FAB would offer every customer as a choice
    add_form_extra_fields = edit_form_extra_fields = {"kind": _select(_l("Kind"), CONTACT_KINDS, "phone")}
    formatters_columns = {"kind": label_of(CONTACT_KINDS), **blanks("label")}

    def pre_add(self, item):
        tidy_contact(item)

    def pre_update(self, item):
        tidy_contact(item)


class AssetView(ModelView):
    datamodel = FormInterface(Asset, load=[selectinload(Asset.customer), selectinload(Asset.product)])
    class_permission_name = "Asset"
    list_title = _l("Assets")
    show_title = _l("Asset")
    add_title = _l("New asset")
    edit_title = _l("Edit asset")
    label_columns = ASSET_LABELS
    list_columns = ["serial_number", "product", "customer", "install_date", "warranty_end", "location"]
    search_columns = ["serial_number", "product", "install_date", "warranty_end", "location"]
    add_columns = edit_columns = ["serial_number", "product", "customer", "install_date", "warranty_end",
                                  "location", "latitude", "longitude"]
    show_columns = ["serial_number", "product", "customer", "install_date", "warranty_end", "location",
                    "latitude", "longitude"]
    formatters_columns = {**blanks("customer", "install_date", "location", "latitude", "longitude"),
                          "warranty_end": warranty_end}
    related_views = [AssetTicketsView]
    show_template = "asset/show.html"
    list_template = "imports/list.html"  # the list with its Excel import/export buttons
    extra_args = {"spreadsheet": {"view": "AssetSpreadsheetView", "permission": "AssetSpreadsheet"}}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """The record, and below it the device's service history."""
        pk = self._deserialize_pk_if_composite(pk)
        widgets = self._show(pk)
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    related_views=self._related_views,
                                    history=assets.history(db.session, int(pk)), local_time=local_time)


class CustomerView(ModelView):
    datamodel = FormInterface(Customer)
    class_permission_name = "Customer"
    base_order = ("id", "desc")
    list_title = _l("Customers")
    show_title = _l("Customer")
    add_title = _l("New customer")
    edit_title = _l("Edit customer")
    label_columns = CUSTOMER_LABELS
    list_columns = ["name", "phone", "tier", "verified", "region", "address", "created_at"]
    search_columns = ["name", "phone", "email", "tier", "verified", "region", "address"]
    add_columns = edit_columns = ["name", "phone", "email", "wechat_openid", "tier", "verified", "preferred_language",
                                  "preferred_channel", "sms_opt_out", "email_opt_out", "wechat_opt_out", "address",
                                  "region", "latitude", "longitude", "notes"]
    show_columns = add_columns + ["created_at", "updated_at"]
    add_form_extra_fields = edit_form_extra_fields = {
        "tier": _select(_l("Tier"), CUSTOMER_TIERS, "normal"),
        "preferred_language": _select(_l("Preferred language"), LANGUAGE_NAMES, "zh"),
        "preferred_channel": _select(_l("Preferred channel"), CONTACT_CHANNELS, "sms"),
    }
    formatters_columns = {
        **blanks("phone", "email", "wechat_openid", "address", "region", "latitude", "longitude", "notes"),
        "tier": label_of(CUSTOMER_TIERS),
        "preferred_language": label_of(LANGUAGE_NAMES),
        "preferred_channel": label_of(CONTACT_CHANNELS),
        "created_at": local_time,
        "updated_at": local_time,
    }
    related_views = [CustomerContactView, AssetView, CustomerTicketsView]
    list_template = "imports/list.html"  # the list with its Excel import/export buttons
    extra_args = {"spreadsheet": {"view": "CustomerSpreadsheetView", "permission": "CustomerSpreadsheet"}}

    def pre_add(self, item):
        tidy_contacts(item)

    def pre_update(self, item):
        tidy_contacts(item)


class ProductLineView(ModelView):
    datamodel = FormInterface(ProductLine)
    class_permission_name = "ProductLine"
    list_title = _l("Product lines")
    label_columns = COMMON_LABELS
    list_columns = ["code", "name_zh", "name_en"]
    add_columns = edit_columns = show_columns = ["code", "name_zh", "name_en"]


class ProductView(ModelView):
    datamodel = FormInterface(Product)
    class_permission_name = "Product"
    list_title = _l("Products")
    show_title = _l("Product")
    label_columns = {**COMMON_LABELS, **ASSET_LABELS}
    list_columns = ["model", "name", "product_line", "warranty_months"]
    search_columns = ["model", "name_zh", "name_en", "product_line"]
    add_columns = edit_columns = show_columns = ["model", "name_zh", "name_en", "product_line", "warranty_months"]
