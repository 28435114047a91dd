"""Model resources. Tickets are scoped like the console and changed through app.services.tickets.

Optimistic locking over HTTP: GET returns the ticket's `version`; a PUT may send it back in an
`If-Match` header and is refused with 409 if someone saved in between.
"""
from flask import request
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.access import VisibleTicketsFilter, current_user
from app.extensions import db
from app.models import Asset, Customer, Engineer, SparePart, Ticket
from app.services import tickets as ticket_service
from app.services.contacts import tidy_contacts
from app.services.errors import ServiceError
from app.timeutil import utcnow

TICKET_FIELDS = ["id", "number", "status", "channel", "priority.code", "category.code", "service_type.code",
                 "subject", "contact_name", "contact_phone", "customer.id", "asset.id", "product.id",
                 "team.id", "assignee.id", "assignee.name", "first_response_due_at", "arrival_due_at",
                 "resolution_due_at", "responded_at", "arrived_at", "resolved_at", "sla_due_at", "escalation_level",
                 "created_at", "updated_at", "version"]


class ServiceErrorsMixin:
    """FAB turns any exception in a hook into a 500; a refused business rule is the caller's 4xx."""

    def _refusal(self, exc: ServiceError):
        db.session.rollback()
        return self.response(exc.status_code, **exc.to_dict())

    def post_headless(self):
        try:
            return super().post_headless()
        except ServiceError as exc:
            return self._refusal(exc)

    def put_headless(self, pk):
        try:
            return super().put_headless(pk)
        except ServiceError as exc:
            return self._refusal(exc)


class TicketApi(ServiceErrorsMixin, ModelRestApi):
    resource_name = "ticket"
    datamodel = SQLAInterface(Ticket)
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


class CustomerApi(ModelRestApi):
    resource_name = "customer"
    datamodel = SQLAInterface(Customer)
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


class AssetApi(ModelRestApi):
    resource_name = "asset"
    datamodel = SQLAInterface(Asset)
    class_permission_name = "AssetApi"
    list_columns = ["id", "serial_number", "product.id", "product.model", "customer.id", "install_date",
                    "warranty_end", "location"]
    show_columns = list_columns + ["latitude", "longitude"]
    add_columns = edit_columns = ["serial_number", "product", "customer", "install_date", "warranty_end",
                                  "location", "latitude", "longitude"]
    search_columns = ["serial_number", "customer", "product", "warranty_end"]


class SparePartApi(ModelRestApi):
    resource_name = "part"
    datamodel = SQLAInterface(SparePart)
    class_permission_name = "SparePartApi"
    list_columns = ["id", "sku", "name_zh", "name_en", "unit", "price"]
    show_columns = list_columns
    add_columns = edit_columns = ["sku", "name_zh", "name_en", "unit", "price", "products"]
    search_columns = ["sku", "name_zh", "name_en"]


class EngineerApi(ModelRestApi):
    resource_name = "engineer"
    datamodel = SQLAInterface(Engineer)
    class_permission_name = "EngineerApi"
    list_columns = ["id", "name", "phone", "team.id", "capacity", "on_duty", "active"]
    show_columns = list_columns + ["base_latitude", "base_longitude", "last_latitude", "last_longitude",
                                   "last_located_at"]
    add_columns = edit_columns = ["name", "phone", "team", "skills", "regions", "capacity", "on_duty",
                                  "active", "base_latitude", "base_longitude"]
    search_columns = ["name", "phone", "team", "on_duty", "active"]
