"""Model resources. Tickets are scoped like the console and changed through app.services.tickets.

Optimistic locking over HTTP: GET returns the ticket's `version`; a PUT may send it back in an
`If-Match` header and is refused with 409 if someone saved in between.
"""
from flask import request

from app.access import VisibleTicketsFilter, current_user
from app.api.base import LATITUDE, LONGITUDE, ApiInterface, ServiceModelApi, between, one_of, required
from app.extensions import db
from app.models import Asset, Customer, Engineer, SparePart, Ticket
from app.services import tickets as ticket_service
from app.services.contacts import tidy_contacts
from app.services.vocabulary import CONTACT_CHANNELS, CUSTOMER_TIERS, LANGUAGE_NAMES
from app.timeutil import utcnow

TICKET_FIELDS = ["id", "number", "status", "channel", "priority.code", "category.code", "service_type.code",
                 "subject", "contact_name", "contact_phone", "customer.id", "asset.id", "product.id",
                 "team.id", "assignee.id", "assignee.name", "first_response_due_at", "arrival_due_at",
                 "resolution_due_at", "responded_at", "arrived_at", "resolved_at", "sla_due_at", "escalation_level",
                 "created_at", "updated_at", "version"]


class TicketApi(ServiceModelApi):
    resource_name = "ticket"
    datamodel = ApiInterface(Ticket)
    class_permission_name = "TicketApi"
    exclude_route_methods = {"delete"}  # tickets are cancelled, never deleted
    base_filters = [["id", VisibleTicketsFilter, None]]
    base_order = ("created_at", "desc")
    list_columns = TICKET_FIELDS
    show_columns = TICKET_FIELDS + ["description", "contact_email", "contact_address", "external_ref",
                                    "responded_at", "resolved_at", "closed_at", "duplicate_of.id"]
    add_columns = ["channel", "subject", "description", "customer", "contact_name", "contact_phone",
                   "contact_email", "contact_address", "asset", "product", "category", "service_type",
                   "priority", "external_ref"]
    edit_columns = ["subject", "description", "customer", "contact_name", "contact_phone", "contact_email",
                    "contact_address", "asset", "product", "category", "service_type", "priority", "team"]
    search_columns = ["number", "status", "channel", "contact_phone", "subject", "created_at",
                      "resolution_due_at", "sla_due_at", "escalation_level", "priority", "category", "assignee",
                      "team", "customer"]
    order_columns = ["created_at", "resolution_due_at", "first_response_due_at", "sla_due_at", "escalation_level",
                     "number", "status"]

    def pre_add(self, item):
        ticket_service.register_new(db.session, item, actor=current_user(), now=utcnow())

    def pre_update(self, item):
        expected = (request.headers.get("If-Match") or "").strip('"') or None
        ticket_service.edit_ticket(db.session, item, now=utcnow(), actor=current_user(),
                                   expected_version=expected)


class CustomerApi(ServiceModelApi):
    resource_name = "customer"
    datamodel = ApiInterface(Customer)
    validators_columns = {"name": required(100), "tier": one_of(CUSTOMER_TIERS),
                          "preferred_language": one_of(LANGUAGE_NAMES), "preferred_channel": one_of(CONTACT_CHANNELS),
                          "latitude": LATITUDE, "longitude": LONGITUDE}
    class_permission_name = "CustomerApi"
    list_columns = ["id", "name", "phone", "email", "tier", "region.id", "address", "created_at"]
    show_columns = list_columns + ["wechat_openid", "preferred_language", "preferred_channel", "latitude",
                                   "longitude", "notes", "updated_at"]
    add_columns = edit_columns = ["name", "phone", "email", "wechat_openid", "tier", "preferred_language",
                                  "preferred_channel", "address", "region", "latitude", "longitude", "notes"]
    search_columns = ["name", "phone", "email", "tier", "wechat_openid", "verified"]

    def pre_add(self, item):
        tidy_contacts(item)

    def pre_update(self, item):
        tidy_contacts(item)


class AssetApi(ServiceModelApi):
    resource_name = "asset"
    datamodel = ApiInterface(Asset)
    validators_columns = {"serial_number": required(60), "latitude": LATITUDE, "longitude": LONGITUDE}
    class_permission_name = "AssetApi"
    list_columns = ["id", "serial_number", "product.id", "product.model", "customer.id", "install_date",
                    "warranty_end", "location"]
    show_columns = list_columns + ["latitude", "longitude"]
    add_columns = edit_columns = ["serial_number", "product", "customer", "install_date", "warranty_end",
                                  "location", "latitude", "longitude"]
    search_columns = ["serial_number", "customer", "product", "warranty_end"]


class SparePartApi(ServiceModelApi):
    resource_name = "part"
    datamodel = ApiInterface(SparePart)
    validators_columns = {"sku": required(40), "name_zh": required(100), "price": between(0, 99_999_999)}
    class_permission_name = "SparePartApi"
    list_columns = ["id", "sku", "name_zh", "name_en", "unit", "price"]
    show_columns = list_columns
    add_columns = edit_columns = ["sku", "name_zh", "name_en", "unit", "price", "products"]
    search_columns = ["sku", "name_zh", "name_en"]


class EngineerApi(ServiceModelApi):
    resource_name = "engineer"
    datamodel = ApiInterface(Engineer)
    validators_columns = {"name": required(100), "capacity": between(0, 1000), "base_latitude": LATITUDE,
                          "base_longitude": LONGITUDE}
    class_permission_name = "EngineerApi"
    list_columns = ["id", "name", "phone", "team.id", "capacity", "on_duty", "active"]
    show_columns = list_columns + ["base_latitude", "base_longitude", "last_latitude", "last_longitude",
                                   "last_located_at"]
    add_columns = edit_columns = ["name", "phone", "team", "skills", "regions", "capacity", "on_duty",
                                  "active", "base_latitude", "base_longitude"]
    search_columns = ["name", "phone", "team", "on_duty", "active"]
