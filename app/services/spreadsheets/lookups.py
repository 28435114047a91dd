"""Finding what a cell refers to — a region, a product, a warehouse, a part, a customer — in bulk.

Reference tables (regions, products, warehouses, parts) are small and read once; customers are many and
are fetched 500 phone numbers at a time. A reference a person might write several ways is found by any of
them: a region by its code (110105), its name when unique (朝阳区 / Chaoyang) or its full path
(北京市 / 北京市辖区 / 朝阳区)."""
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Customer, Product, ServiceRegion, SparePart, Warehouse
from app.models.mixins import current_language
from app.services.spreadsheets.base import AMBIGUOUS, chunks



def _spelling(text) -> str:
    return re.sub(r"\s+", "", str(text or "")).casefold()


class Names:
    """name → id, where a name that belongs to two rows answers AMBIGUOUS."""

    def __init__(self):
        self._ids: dict[str, int] = {}
        self._exact: set[str] = set()

    def add(self, name, row_id: int, *, exact: bool = False) -> None:
        """`exact` names (codes, full paths) win over names that merely spell alike."""
        key = _spelling(name)
        if not key:
            return
        if exact:
            self._ids[key] = row_id
            self._exact.add(key)
        elif key in self._exact:
            return
        elif self._ids.get(key, row_id) != row_id:
            self._ids[key] = AMBIGUOUS
        else:
            self._ids.setdefault(key, row_id)

    def find(self, name) -> int | None:
        return self._ids.get(_spelling(name))


def regions(session: Session) -> tuple[Names, dict[int, tuple[str, str]]]:
    """Region look-up, and each region's full path (zh, en) for exports."""
    rows = {r.id: r for r in session.execute(select(ServiceRegion.id, ServiceRegion.code, ServiceRegion.name_zh,
                                                    ServiceRegion.name_en, ServiceRegion.parent_id))}

    def path(region_id, attribute):
        parts, node = [], rows.get(region_id)
        while node is not None:
            parts.append(getattr(node, attribute) or node.name_zh)
            node = rows.get(node.parent_id)
        return " / ".join(reversed(parts))

    names, paths = Names(), {}
    for r in rows.values():
        paths[r.id] = (path(r.id, "name_zh"), path(r.id, "name_en"))
        for full in paths[r.id]:
            names.add(full, r.id, exact=True)
            names.add(full.replace(" / ", "/"), r.id, exact=True)
    for r in rows.values():
        names.add(r.name_zh, r.id)
        names.add(r.name_en, r.id)
    for r in rows.values():
        names.add(r.code, r.id, exact=True)
    return names, paths


def localized_path(paths: dict[int, tuple[str, str]], region_id: int | None) -> str:
    if region_id is None or region_id not in paths:
        return ""
    zh, en = paths[region_id]
    return en if current_language() == "en" and en else zh


def _coded(session: Session, model, code_column) -> Names:
    names = Names()
    rows = session.execute(select(model.id, code_column, model.name_zh, model.name_en)).all()
    for row_id, _code, zh, en in rows:
        names.add(zh, row_id)
        names.add(en, row_id)
    for row_id, code, _zh, _en in rows:
        names.add(code, row_id, exact=True)
    return names


def products(session: Session) -> Names:
    """By model (JSQ30-16A), or by name when only one product has it."""
    return _coded(session, Product, Product.model)


def warehouses(session: Session) -> Names:
    return _coded(session, Warehouse, Warehouse.code)


def parts(session: Session, skus: set[str]) -> dict[str, int]:
    """Spare parts by SKU, as written or in another case (wp-pp-10 finds WP-PP-10 when that is the only one)."""
    found: dict[str, int] = {}
    wanted = sorted({s for s in skus if s})
    for chunk in chunks(wanted):
        found.update(session.execute(select(SparePart.sku, SparePart.id).where(SparePart.sku.in_(chunk))).all())
    missing = [s for s in wanted if s not in found]
    for chunk in chunks(missing):
        lowered = {s.casefold(): s for s in chunk}
        hits: dict[str, list[int]] = {}
        for sku, part_id in session.execute(select(SparePart.sku, SparePart.id)
                                            .where(func.lower(SparePart.sku).in_(list(lowered)))):
            hits.setdefault(sku.casefold(), []).append(part_id)
        for low, ids in hits.items():
            found[lowered[low]] = ids[0] if len(ids) == 1 else AMBIGUOUS
    return found


def customers_by_phone(session: Session, phones: set[str]) -> dict[str, int]:
    """Customer id by primary phone; AMBIGUOUS when two customers share the number."""
    found: dict[str, int] = {}
    for chunk in chunks(sorted(phones)):
        for phone, customer_id in session.execute(select(Customer.phone, Customer.id).where(Customer.phone.in_(chunk))):
            found[phone] = AMBIGUOUS if phone in found else customer_id
    return found
