"""Warehouses, spare parts, stock levels and the stock movement ledger; the keepers' transfer and purchase
requests and the low-stock list."""
from flask import flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterInFunction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.labels import COMMON_LABELS, INVENTORY_LABELS
from app.models import PartRequest, SparePart, Stock, StockMove, Warehouse
from app.services import inventory
from app.services.errors import ServiceError
from app.services.inventory_text import REQUEST_KINDS, REQUEST_STATES
from app.services.vocabulary import STOCK_MOVE_KINDS
from app.timeutil import utcnow
from app.views.datamodel import FormInterface
from app.views.formatting import blanks, label_of, local_time


class StockMoveView(ModelView):
    """The ledger is append-only: moves are written by stock operations, never edited."""

    datamodel = FormInterface(StockMove, load=[selectinload(getattr(StockMove, name))
                                               for name in ("warehouse", "part", "ticket", "actor")])
    class_permission_name = "StockMove"
    exclude_route_methods = {"add", "edit", "delete", "download"}
    base_order = ("id", "desc")
    list_title = _l("Stock movements")
    label_columns = INVENTORY_LABELS
    list_columns = ["created_at", "warehouse", "part", "kind", "quantity", "ticket", "reason", "actor"]
    show_columns = list_columns
    search_columns = ["warehouse", "part", "kind", "created_at"]
    formatters_columns = {"kind": label_of(STOCK_MOVE_KINDS), "created_at": local_time,
                          **blanks("ticket", "reason", "actor")}


class StockView(ModelView):
    datamodel = FormInterface(Stock)
    class_permission_name = "Stock"
    list_title = _l("Stock")
    label_columns = INVENTORY_LABELS
    list_columns = ["warehouse", "part", "on_hand", "reserved", "available", "low_stock_threshold"]
    show_columns = list_columns
    search_columns = ["warehouse", "part", "on_hand", "reserved"]
    # Quantities change only through stock operations (each one a StockMove); the form sets thresholds.
    add_columns = ["warehouse", "part", "low_stock_threshold"]
    edit_columns = ["low_stock_threshold"]
    list_template = "imports/list.html"  # the list with its Excel import/export buttons
    extra_args = {"spreadsheet": {"view": "StockSpreadsheetView", "permission": "StockSpreadsheet"}}


class WarehouseStockView(StockView):
    list_columns = ["part", "on_hand", "reserved", "available", "low_stock_threshold"]


class WarehouseView(ModelView):
    datamodel = FormInterface(Warehouse)
    class_permission_name = "Warehouse"
    list_title = _l("Warehouses")
    label_columns = {**COMMON_LABELS, **INVENTORY_LABELS}
    list_columns = ["code", "name", "region", "address"]
    add_columns = edit_columns = show_columns = ["code", "name_zh", "name_en", "region", "address"]
    formatters_columns = blanks("region", "address")
    related_views = [WarehouseStockView]


class SparePartView(ModelView):
    datamodel = FormInterface(SparePart)
    class_permission_name = "SparePart"
    list_title = _l("Spare parts")
    show_title = _l("Spare part")
    label_columns = {**COMMON_LABELS, **INVENTORY_LABELS}
    list_columns = ["sku", "name", "unit", "price"]
    search_columns = ["sku", "name_zh", "name_en", "products"]
    add_columns = edit_columns = show_columns = ["sku", "name_zh", "name_en", "unit", "price", "products"]
    related_views = [StockView]
    list_template = "imports/list.html"  # the list with its Excel import/export buttons
    extra_args = {"spreadsheet": {"view": "SparePartSpreadsheetView", "permission": "SparePartSpreadsheet"}}


def _receive_button(pk) -> Markup:
    return Markup('<form method="post" action="{}" style="display:inline">'
                  '<input type="hidden" name="csrf_token" value="{}">'
                  '<button type="submit" class="btn btn-xs btn-primary">{}</button></form>').format(
        url_for("PartRequestView.receive", pk=pk), _csrf_token(), _("Book in"))


def _csrf_token() -> str:
    from flask_wtf.csrf import generate_csrf

    return generate_csrf()


class PartRequestView(ModelView):
    """调拨/采购申请: parts tickets are waiting for, until the keeper books them in."""

    datamodel = FormInterface(PartRequest, load=[selectinload(PartRequest.ticket), selectinload(PartRequest.part),
                                                 selectinload(PartRequest.source), selectinload(PartRequest.warehouse)])
    class_permission_name = "PartRequest"
    include_route_methods = {"list", "show", "receive"}
    method_permission_name = {"receive": "receive"}
    base_filters = [["state", FilterEqual, "open"]]
    base_order = ("created_at", "asc")
    list_title = _l("Transfer and purchase requests")
    show_title = _l("Part request")
    label_columns = INVENTORY_LABELS
    list_columns = ["created_at", "ticket", "kind", "part", "quantity", "source", "warehouse", "id"]
    show_columns = ["created_at", "ticket", "kind", "part", "quantity", "source", "warehouse", "state", "done_at",
                    "done_by"]
    search_columns = ["kind", "part", "warehouse", "source", "created_at"]
    formatters_columns = {"created_at": local_time, "done_at": local_time, "kind": label_of(REQUEST_KINDS),
                          "state": label_of(REQUEST_STATES), "id": _receive_button,
                          **blanks("source", "done_at", "done_by")}

    @expose("/receive/<int:pk>", methods=["POST"])
    @has_access
    def receive(self, pk):
        item = db.session.get(PartRequest, pk)
        if item is None:
            flash(_("That request does not exist."), "danger")
            return redirect(url_for("PartRequestView.list"))
        try:
            inventory.receive(db.session, item, now=utcnow(), actor=g.user,
                              expected_version=request.form.get("version"))
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            flash(_("%(part)s × %(quantity)s booked in for %(number)s.", part=item.part, quantity=item.quantity,
                    number=item.ticket.number), "success")
        return redirect(url_for("PartRequestView.list"))


def _low_stock_ids() -> list[int]:
    return list(db.session.scalars(select(Stock.id).where(Stock.low_stock_threshold > 0,
                                                          Stock.on_hand - Stock.reserved <= Stock.low_stock_threshold)))


class LowStockView(StockView):
    """低库存: parts whose available stock is at or below their line."""

    class_permission_name = "LowStock"
    include_route_methods = {"list", "show"}
    base_filters = [["id", FilterInFunction, _low_stock_ids]]
    list_title = _l("Low stock")
    related_views = []
    extra_args = None  # no Excel buttons here: they would export all stock, not this list
