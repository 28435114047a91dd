"""The words of spare parts on tickets: part and request states, and their timeline sentences."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.services.dispatch_text import pick

PART_STATES = {
    "needed": _l("Needed"),
    "reserved": _l("Reserved"),
    "waiting": _l("Waiting for transfer or purchase"),
    "consumed": _l("Used"),
    "released": _l("Released"),
}
REQUEST_KINDS = {"transfer": _l("Transfer"), "purchase": _l("Purchase")}
REQUEST_STATES = {"open": _l("Open"), "received": _l("Booked in"), "cancelled": _l("Cancelled")}


def describe(kind: str, data: dict) -> str | None:
    """The timeline sentence for parts events (and the low-stock message); None for anyone else's."""
    part = f"{data.get('sku', '')} {pick(data.get('part')) or ''}".strip()
    if kind == "part_reserved":
        return _("Spare part %(part)s × %(quantity)s reserved in %(warehouse)s", part=part,
                 quantity=data.get("quantity"), warehouse=pick(data.get("warehouse")))
    if kind == "part_requested":
        if data.get("kind") == "transfer":
            return _("Spare part %(part)s × %(quantity)s to be transferred from %(source)s to %(warehouse)s",
                     part=part, quantity=data.get("quantity"), source=pick(data.get("source")),
                     warehouse=pick(data.get("warehouse")))
        return _("Spare part %(part)s × %(quantity)s out of stock everywhere: purchase requested for %(warehouse)s",
                 part=part, quantity=data.get("quantity"), warehouse=pick(data.get("warehouse")))
    if kind == "part_arrived":
        return _("Spare part %(part)s × %(quantity)s arrived in %(warehouse)s", part=part,
                 quantity=data.get("quantity"), warehouse=pick(data.get("warehouse")))
    if kind == "parts_consumed":
        if data.get("billable"):
            return _("Parts used, charged to the customer: %(charge)s yuan", charge=data.get("charge"))
        return _("Parts used, free of charge under warranty")
    if kind == "low_stock":
        return _("%(part)s in %(warehouse)s is down to %(available)s (low-stock line %(threshold)s)", part=part,
                 warehouse=pick(data.get("warehouse")), available=data.get("available"),
                 threshold=data.get("threshold"))
    return None
