"""库存 sheet: a warehouse's count of a part (on hand) and its low-stock line, found again by warehouse
code + SKU.

A changed quantity on hand goes through the inventory service like every other stock change: a conditional
UPDATE that never takes on hand below what tickets have reserved, and a StockMove of kind 「adjust」 whose
reason names the file — the ledger shows who counted what, and when."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select, update

from app.models import SparePart, Stock, Warehouse
from app.models.mixins import current_language
from app.services import inventory
from app.services.spreadsheets import cells, lookups
from app.services.spreadsheets.base import Context, Kind, Plan, Row
from app.services.spreadsheets.columns import Column

COLUMNS = (
    Column("warehouse", _l("Warehouse code"), cells.text(100), required=True, width=12,
           aliases=("仓库编码", "仓库代码", "warehouse code"),
           hint=_l("The warehouse's code (WH-BJ), or its name.")),
    Column("warehouse_name", _l("Warehouse"), width=20, aliases=("仓库名称", "warehouse name")),
    Column("sku", _l("SKU"), cells.text(40), required=True, width=14, aliases=("备件编码", "编码", "物料编码")),
    Column("part_name", _l("Spare part"), width=22, aliases=("备件名称", "part name")),
    Column("on_hand", _l("On hand"), cells.whole_number(0), keeps=True, width=10,
           aliases=("在库", "库存数量", "数量", "quantity", "qty"),
           hint=_l("The counted quantity. It cannot be less than what tickets have reserved.")),
    Column("reserved", _l("Reserved"), width=10),
    Column("available", _l("Available"), width=10),
    Column("low_stock_threshold", _l("Low-stock threshold"), cells.whole_number(0), keeps=True, width=12,
           aliases=("低库存线", "安全库存", "预警值", "threshold", "min stock"),
           hint=_l("When the available stock falls to this number the part is listed under Low stock; 0: no line.")),
)


class StockLevels(Kind):
    name = "stock"
    title = _l("Stock")
    columns = COLUMNS
    key_columns = ("warehouse", "sku")

    def resolve(self, ctx: Context, rows: list[Row]) -> None:
        warehouses = lookups.warehouses(ctx.session)
        parts = lookups.parts(ctx.session, {r.values["sku"] for r in rows if r.values.get("sku")})
        for row in rows:
            if row.values.get("warehouse") is not None:
                ctx.refer(row, "warehouse", warehouses.find(row.values["warehouse"]),
                          missing=_l("No such warehouse"),
                          ambiguous=_l("Several warehouses have this name: write the code"))
            if row.values.get("sku") is not None:
                ctx.refer(row, "sku", parts.get(row.values["sku"]),
                          missing=_l("No spare part with this SKU: import the part first"),
                          ambiguous=_l("Several spare parts have this SKU in different cases"))

    def stored(self, ctx: Context, keys: list[tuple]) -> dict[tuple, dict]:
        warehouse_ids = sorted({w for w, _p in keys})
        found = {}
        for stock_id, warehouse_id, part_id, on_hand, reserved, threshold in ctx.session.execute(
                select(Stock.id, Stock.warehouse_id, Stock.part_id, Stock.on_hand, Stock.reserved,
                       Stock.low_stock_threshold).where(Stock.warehouse_id.in_(warehouse_ids))):
            found[(warehouse_id, part_id)] = {"id": stock_id, "warehouse": warehouse_id, "sku": part_id,
                                              "on_hand": on_hand, "reserved": reserved,
                                              "low_stock_threshold": threshold}
        return {k: found[k] for k in keys if k in found}

    def check(self, ctx: Context, row: Row, stored: dict | None) -> None:
        counted = row.values.get("on_hand")
        if stored is not None and counted is not None and counted < stored["reserved"]:
            ctx.reject(row, "on_hand", _l("Less than the %(reserved)s reserved for tickets",
                                          reserved=stored["reserved"]))

    def write(self, ctx: Context, plan: Plan):
        from app.services.spreadsheets.pipeline import RowConflict

        session, done = ctx.session, 0
        reason = _("Excel import: %(file)s", file=ctx.filename or "-")
        # New lines first, empty (as the inventory service would create them) with their threshold; their
        # counted quantity then goes in through the service like any other change.
        if plan.create:
            session.execute(insert(Stock), [
                {"warehouse_id": row.values["warehouse"], "part_id": row.values["sku"], "on_hand": 0, "reserved": 0,
                 "low_stock_threshold": row.values.get("low_stock_threshold") or 0} for row in plan.create])
        thresholds = []
        for row, stored, changed in [(row, None, row.values) for row in plan.create] + plan.update:
            before = stored["on_hand"] if stored is not None else 0
            counted = changed.get("on_hand")
            if counted is not None and counted != before:
                if not inventory.adjust(session, row.values["warehouse"], row.values["sku"], on_hand=counted - before,
                                        reason=reason, now=ctx.now, actor=ctx.actor):
                    raise RowConflict(row, "on_hand", _l("Tickets reserved this part while the file was imported: "
                                                         "check the stock and import again"))
            if stored is not None and "low_stock_threshold" in changed:
                thresholds.append({"id": stored["id"], "low_stock_threshold": changed["low_stock_threshold"]})
            done += 1
            if done % 200 == 0:
                yield done
        if thresholds:
            session.execute(update(Stock), thresholds)
        session.flush()
        yield done

    # ---- export
    def count(self, session, only=None) -> int:
        query = select(func.count(Stock.id))
        return session.scalar(query.where(Stock.id.in_(only)) if only is not None else query)

    def export_rows(self, session, only=None):
        english = current_language() == "en"
        query = (select(Warehouse.code, Warehouse.name_zh, Warehouse.name_en, SparePart.sku, SparePart.name_zh,
                        SparePart.name_en, Stock.on_hand, Stock.reserved, Stock.low_stock_threshold)
                 .join(Warehouse, Warehouse.id == Stock.warehouse_id).join(SparePart, SparePart.id == Stock.part_id)
                 .order_by(Warehouse.code, SparePart.sku))
        if only is not None:
            query = query.where(Stock.id.in_(only))
        for code, w_zh, w_en, sku, p_zh, p_en, on_hand, reserved, threshold in session.execute(
                query.execution_options(yield_per=2000)):
            yield {"warehouse": code, "warehouse_name": w_en if english and w_en else w_zh, "sku": sku,
                   "part_name": p_en if english and p_en else p_zh, "on_hand": on_hand, "reserved": reserved,
                   "available": on_hand - reserved, "low_stock_threshold": threshold}
