"""资产 sheet: one row per device, found again by its serial number; its owner by mobile number and its
product by model."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select, update

from app.models import Asset, Customer, Product
from app.models.mixins import current_language
from app.services.spreadsheets import cells, lookups
from app.services.spreadsheets.base import Context, Kind, Plan, Row, chunks
from app.services.spreadsheets.columns import Column

WRITE_BATCH = 1000
DATE_HINT = _l("A date: 2026-05-01, 2026/5/1 or 2026年5月1日.")

COLUMNS = (
    Column("serial_number", _l("Serial number"), cells.text(60), required=True, width=20,
           aliases=("序列号", "机身号", "SN", "S/N", "serial", "serial no"),
           hint=_l("The device's serial number. A device is found again by it.")),
    Column("product", _l("Product model"), cells.text(100), needed=True, width=14,
           aliases=("型号", "产品", "product", "model"),
           hint=_l("The product's model (JSQ30-16A), or its name when only one product has it.")),
    Column("product_name", _l("Product name"), width=24),
    Column("customer_phone", _l("Owner's mobile phone"), cells.phone, width=16,
           aliases=("客户手机", "客户手机号", "客户电话", "用户手机号", "customer phone", "owner phone"),
           hint=_l("The owner's mobile number; the customer must exist (import customers first).")),
    Column("customer_name", _l("Owner"), width=14, aliases=("客户姓名", "customer name")),
    Column("install_date", _l("Install date"), cells.day, width=12, number_format="yyyy-mm-dd",
           aliases=("安装时间", "installed"), hint=DATE_HINT),
    Column("warranty_end", _l("Warranty end"), cells.day, width=12, number_format="yyyy-mm-dd",
           aliases=("保修到期", "保修截止日期", "warranty until", "warranty"), hint=DATE_HINT),
    Column("location", _l("Location"), cells.text(300), width=36, aliases=("安装地址", "地址", "address")),
    Column("latitude", _l("Latitude"), cells.coordinate(90), width=10, aliases=("lat",)),
    Column("longitude", _l("Longitude"), cells.coordinate(180), width=10, aliases=("lng", "lon")),
)
IMPORTED = [c for c in COLUMNS if c.importable]
FIELDS = {c.key: c.key for c in IMPORTED} | {"product": "product_id", "customer_phone": "customer_id"}


class Assets(Kind):
    name = "assets"
    title = _l("Assets")
    columns = COLUMNS
    key_columns = ("serial_number",)

    def resolve(self, ctx: Context, rows: list[Row]) -> None:
        products = lookups.products(ctx.session)
        owners = lookups.customers_by_phone(ctx.session, {r.values["customer_phone"] for r in rows
                                                          if r.values.get("customer_phone")})
        for row in rows:
            if row.values.get("product") is not None:
                ctx.refer(row, "product", products.find(row.values["product"]),
                          missing=_l("No product with this model"),
                          ambiguous=_l("Several products have this name: write the model"))
            if row.values.get("customer_phone") is not None:
                ctx.refer(row, "customer_phone", owners.get(row.values["customer_phone"]),
                          missing=_l("No customer has this number: import the customer first"),
                          ambiguous=_l("Several customers have this number"))

    def stored(self, ctx: Context, keys: list[tuple]) -> dict[tuple, dict]:
        found: dict[tuple, dict] = {}
        fields = [getattr(Asset, FIELDS[c.key]) for c in IMPORTED]
        for chunk in chunks([k[0] for k in keys]):
            for record in ctx.session.execute(select(Asset.id, *fields).where(Asset.serial_number.in_(chunk))):
                values = dict(zip(["id"] + [c.key for c in IMPORTED], record))
                found[(values["serial_number"],)] = values
        return found

    def write(self, ctx: Context, plan: Plan):
        done = 0
        for batch in chunks(plan.create, WRITE_BATCH):
            ctx.session.execute(insert(Asset).execution_options(render_nulls=True), [  # one column list: batches
                {FIELDS[k]: v for k, v in row.values.items()} | {"created_at": ctx.now, "updated_at": ctx.now}
                for row in batch])
            done += len(batch)
            yield done
        for batch in chunks(plan.update, WRITE_BATCH):
            ctx.session.execute(update(Asset), [
                {"id": stored["id"], "updated_at": ctx.now, **{FIELDS[k]: v for k, v in changed.items()}}
                for _row, stored, changed in batch])
            done += len(batch)
            yield done

    # ---- export
    def count(self, session, only=None) -> int:
        query = select(func.count(Asset.id))
        return session.scalar(query.where(Asset.id.in_(only)) if only is not None else query)

    def export_rows(self, session, only=None):
        query = (select(Asset.serial_number, Product.model, Product.name_zh, Product.name_en, Customer.phone,
                        Customer.name, Asset.install_date, Asset.warranty_end, Asset.location, Asset.latitude,
                        Asset.longitude)
                 .join(Product, Product.id == Asset.product_id)
                 .outerjoin(Customer, Customer.id == Asset.customer_id).order_by(Asset.id))
        if only is not None:
            query = query.where(Asset.id.in_(only))
        english = current_language() == "en"
        for (serial, model, name_zh, name_en, phone, owner, installed, warranty_end, location, latitude,
             longitude) in session.execute(query.execution_options(yield_per=2000)):
            yield {"serial_number": serial, "product": model, "product_name": (name_en if english and name_en else name_zh),
                   "customer_phone": phone, "customer_name": owner, "install_date": installed,
                   "warranty_end": warranty_end, "location": location, "latitude": latitude, "longitude": longitude}
