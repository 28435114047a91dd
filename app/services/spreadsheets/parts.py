"""备件 sheet: one row per spare part, found again by its SKU, with the product models it fits."""
import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.models import Product, SparePart
from app.models.inventory import part_product
from app.services.spreadsheets import cells, lookups
from app.services.spreadsheets.base import Context, Kind, Plan, Row, chunks
from app.services.spreadsheets.columns import Column

_SEPARATORS = re.compile(r"[,，、;；\n]+")


def model_list(value) -> tuple[str, ...]:
    """「JSQ30-16A、F80-D30」: the models a part fits, in the order written, without repeats."""
    seen = []
    for model in _SEPARATORS.split(cells.as_text(value)):
        model = model.strip()
        if model and model not in seen:
            seen.append(model)
    return tuple(seen)


COLUMNS = (
    Column("sku", _l("SKU"), cells.text(40), required=True, width=14, aliases=("备件编码", "编码", "物料编码", "sku"),
           hint=_l("The part's code. A part is found again by it.")),
    Column("name_zh", _l("Name (Chinese)"), cells.text(100), needed=True, width=20,
           aliases=("名称", "备件名称", "中文名称", "name")),
    Column("name_en", _l("Name (English)"), cells.text(100), keeps=True, width=24, aliases=("英文名称", "english name"),
           hint=_l("Left empty on a new part: the Chinese name.")),
    Column("unit", _l("Unit"), cells.text(10), keeps=True, width=8, aliases=("单位", "unit")),
    Column("price", _l("Price (CNY)"), cells.money, keeps=True, width=12, number_format="0.00",
           aliases=("单价", "价格", "price"), hint=_l("In yuan, up to 2 decimal places. New parts: 0 when empty.")),
    Column("products", _l("Compatible products"), model_list, width=30,
           aliases=("适用产品", "适用型号", "compatible models", "models"),
           hint=_l("Product models separated by 、 or commas: JSQ30-16A、F80-D30.")),
)
SCALARS = ("sku", "name_zh", "name_en", "unit", "price")


class SpareParts(Kind):
    name = "parts"
    title = _l("Spare parts")
    columns = COLUMNS
    key_columns = ("sku",)

    def resolve(self, ctx: Context, rows: list[Row]) -> None:
        models = lookups.products(ctx.session)
        for row in rows:
            if "products" not in row.values:
                continue
            written = row.values["products"] or ()  # an empty cell: fits no product
            found, unknown = set(), []
            for model in written:
                product_id = models.find(model)
                if product_id is None or product_id == lookups.AMBIGUOUS:
                    unknown.append(model)
                else:
                    found.add(product_id)
            if unknown:
                ctx.reject(row, "products", _l("No product with the model %(models)s", models="、".join(unknown)))
            row.values["products"] = frozenset(found)

    def stored(self, ctx: Context, keys: list[tuple]) -> dict[tuple, dict]:
        found: dict[tuple, dict] = {}
        by_id: dict[int, dict] = {}
        for chunk in chunks([k[0] for k in keys]):
            for record in ctx.session.execute(select(SparePart.id, *(getattr(SparePart, f) for f in SCALARS))
                                              .where(SparePart.sku.in_(chunk))):
                values = dict(zip(("id",) + SCALARS, record))
                values["products"] = set()
                found[(values["sku"],)] = by_id[values["id"]] = values
        for chunk in chunks(list(by_id)):
            for part_id, product_id in ctx.session.execute(
                    select(part_product.c.part_id, part_product.c.product_id)
                    .where(part_product.c.part_id.in_(chunk))):
                by_id[part_id]["products"].add(product_id)
        for values in by_id.values():
            values["products"] = frozenset(values["products"])
        return found

    def write(self, ctx: Context, plan: Plan):
        """Parts are few (hundreds to thousands): the ORM keeps the product links right."""
        session, done = ctx.session, 0
        products = {p.id: p for p in session.scalars(select(Product))}  # a catalogue: tens to hundreds
        for row in plan.create:
            values = row.values
            part = SparePart(sku=values["sku"], name_zh=values["name_zh"],
                             name_en=values.get("name_en") or values["name_zh"], unit=values.get("unit") or "个",
                             price=values.get("price", Decimal("0.00")))
            if values.get("products"):
                part.products = [products[i] for i in sorted(values["products"])]
            session.add(part)
            done += 1
            if done % 200 == 0:
                session.flush()
                yield done
        for row, stored, changed in plan.update:
            part = session.get(SparePart, stored["id"])
            for field in SCALARS:
                if field in changed:
                    setattr(part, field, changed[field])
            if "products" in changed:
                part.products = [products[i] for i in sorted(changed["products"])]
            done += 1
            if done % 200 == 0:
                session.flush()
                yield done
        session.flush()
        yield done

    # ---- export
    def count(self, session, only=None) -> int:
        query = select(func.count(SparePart.id))
        return session.scalar(query.where(SparePart.id.in_(only)) if only is not None else query)

    def export_rows(self, session, only=None):
        query = select(SparePart.id, *(getattr(SparePart, f) for f in SCALARS)).order_by(SparePart.sku)
        if only is not None:
            query = query.where(SparePart.id.in_(only))
        records = session.execute(query).all()
        models: dict[int, list[str]] = {}
        for chunk in chunks([r[0] for r in records]):
            for part_id, model in session.execute(
                    select(part_product.c.part_id, Product.model).join(Product, Product.id == part_product.c.product_id)
                    .where(part_product.c.part_id.in_(chunk)).order_by(Product.model)):
                models.setdefault(part_id, []).append(model)
        for record in records:
            values = dict(zip(SCALARS, record[1:]))
            values["products"] = "、".join(models.get(record[0], []))
            yield values
