"""Warehouses, spare parts, stock levels and the stock movement ledger."""
from flask_appbuilder import ModelView
from flask_babel import lazy_gettext as _l

from app.labels import COMMON_LABELS, INVENTORY_LABELS
from app.models import SparePart, Stock, StockMove, Warehouse
from app.services.vocabulary import STOCK_MOVE_KINDS
from app.views.datamodel import FormInterface
from app.views.formatting import blanks, label_of, local_time


class StockMoveView(ModelView):
    """The ledger is append-only: moves are written by stock operations, never edited."""

    datamodel = FormInterface(StockMove)
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
