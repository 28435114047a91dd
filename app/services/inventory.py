"""Spare parts on tickets: reserving, waiting, receiving, consuming, returning (备件预留、调拨、采购、领用、退库).

- A needed part is reserved where the engineer draws parts (their warehouse) when it has them; else in the
  nearest warehouse that has them (nearness by the customer's 区/市/省), and a transfer to the engineer's
  warehouse is requested; when no warehouse has them, a purchase is requested. While a request is open the
  part is *waiting* and an accepted or in-progress ticket waits for parts (its SLA clock pauses with that
  reason); it goes back to accepted or in progress when the parts are in.
- The warehouse keeper receives a request: the stock moves (transfer) or comes in (purchase) and is reserved
  for the ticket; when the ticket's last request is in, the ticket goes back to work.
- Resolving consumes what was reserved (free in warranty, the part's price otherwise) and returns what was
  not used; dropping a part or cancelling the ticket releases its reservation.

Every quantity change is a conditional UPDATE on the stock row — never below zero, whatever runs at the same
time (the check constraints are the backstop) — and a StockMove with its reason and ticket. A change that
takes a part's available stock down to its low-stock line tells the warehouse keepers.
"""
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.models import Customer, PartRequest, Stock, StockMove, Ticket, TicketPart, Warehouse
from app.services import parts
from app.services import status as st
from app.services import timeline
from app.services.errors import ConcurrentEdit, ServiceError
from app.timeutil import as_utc

NEEDED, RESERVED, WAITING, CONSUMED, RELEASED = "needed", "reserved", "waiting", "consumed", "released"
HOLDING = frozenset({RESERVED, WAITING})  # states in which stock may be held for the ticket


# ---------------------------------------------------------------- stock rows

def _stock_row(session: Session, warehouse_id: int, part_id: int, *, create: bool) -> Stock | None:
    row = session.scalar(select(Stock).where(Stock.warehouse_id == warehouse_id, Stock.part_id == part_id))
    if row is None and create:  # the first delivery of a part to a warehouse
        row = Stock(warehouse_id=warehouse_id, part_id=part_id, on_hand=0, reserved=0, low_stock_threshold=0)
        session.add(row)
        session.flush()
    return row


def adjust(session: Session, warehouse_id: int, part_id: int, *, on_hand: int, reason: str, now: datetime,
           actor=None) -> bool:
    """A stock count (盘点): on hand changed by `on_hand`, as a StockMove of kind adjust. False when fewer would
    be left than tickets have reserved. No low-stock message: whoever counted is looking at the stock."""
    return _change(session, warehouse_id, part_id, on_hand=on_hand, kind="adjust", ticket=None, reason=reason,
                   now=now, actor=actor, warn=False)


def _change(session: Session, warehouse_id: int, part_id: int, *, on_hand: int = 0, reserved: int = 0,
            kind: str, ticket: Ticket | None, reason: str | None, now: datetime, actor=None,
            warn: bool = True) -> bool:
    """Apply a change to one stock row if it keeps 0 ≤ reserved ≤ on_hand; write its StockMove. False (and
    nothing written) when the stock is not there — e.g. someone reserved the last one a moment ago.

    A move's quantity is signed by what it changes: on hand for receipts, transfers and consumption, the
    reservation for reserve, release and return."""
    stock = _stock_row(session, warehouse_id, part_id, create=on_hand > 0)
    if stock is None:
        return False
    won = session.execute(
        update(Stock).where(Stock.id == stock.id, Stock.on_hand + on_hand >= Stock.reserved + reserved,
                            Stock.reserved + reserved >= 0, Stock.on_hand + on_hand >= 0)
        .values(on_hand=Stock.on_hand + on_hand, reserved=Stock.reserved + reserved)
        .execution_options(synchronize_session=False)).rowcount
    if not won:
        return False
    session.add(StockMove(warehouse_id=warehouse_id, part_id=part_id, kind=kind, ticket=ticket, created_at=now,
                          quantity=on_hand or reserved, reason=reason,
                          actor_user_id=getattr(actor, "id", None)))
    session.flush()
    session.refresh(stock)
    if warn:
        _warn_if_low(session, stock, stock.available - (on_hand - reserved), ticket, now=now)
    return True


def _must(done: bool) -> None:
    """Giving back or using what is reserved cannot fail unless someone changed it at the same moment: then
    this whole change is refused (and rolled back) rather than booked against somebody else's stock."""
    if not done:
        raise ConcurrentEdit(_l("The stock changed while you were working. Reload and try again."))


def _warn_if_low(session: Session, stock: Stock, before: int, ticket: Ticket, *, now: datetime) -> None:
    """Tell the warehouse keepers once, when available stock crosses down to the low-stock line."""
    threshold = stock.low_stock_threshold or 0
    if threshold <= 0 or not (before > threshold >= stock.available):
        return
    from app.services import notify
    from app.services.roles import WAREHOUSE

    data = {"kind": "low_stock", "sku": stock.part.sku, "part": [stock.part.name_zh, stock.part.name_en],
            "warehouse": [stock.warehouse.name_zh, stock.warehouse.name_en], "available": stock.available,
            "threshold": threshold}
    notify.tell_staff(session, ticket, "low_stock", data, now, notify.role_user_ids(session, WAREHOUSE))


# ---------------------------------------------------------------- choosing where

def _by_nearness(ticket: Ticket, warehouses) -> list[Warehouse]:
    """Nearest to the customer first — same district, city, province, then the rest — ties by id."""
    customer: Customer | None = ticket.customer
    region = customer.region if customer is not None else None
    chain = [r.id for r in region.ancestors()] if region is not None else []

    def distance(warehouse: Warehouse) -> int:
        regions = [r.id for r in warehouse.region.ancestors()] if warehouse.region is not None else []
        return min((chain.index(r) for r in regions if r in chain), default=len(chain) + 1)

    return sorted(warehouses, key=lambda w: (distance(w), w.id))


def nearest_with_stock(session: Session, ticket: Ticket, part_id: int, quantity: int,
                       exclude: int | None = None) -> list[int]:
    """Warehouses that have `quantity` available, nearest to the customer first."""
    stocked = session.scalars(
        select(Warehouse).join(Stock, Stock.warehouse_id == Warehouse.id)
        .where(Stock.part_id == part_id, Stock.on_hand - Stock.reserved >= quantity)).all()
    return [w.id for w in _by_nearness(ticket, stocked) if w.id != exclude]


def _home_warehouse(ticket: Ticket) -> int | None:
    engineer = ticket.assignee
    return engineer.warehouse_id if engineer is not None else None


# ---------------------------------------------------------------- reserving

@dataclass
class Outcome:
    item: TicketPart
    state: str  # reserved | transfer | purchase
    warehouse_id: int | None


def reserve(session: Session, item: TicketPart, *, now: datetime, actor=None) -> Outcome:
    """Reserve one needed part (see the module's rules)."""
    now = as_utc(now)
    ticket = item.ticket
    home = _home_warehouse(ticket)
    reason = str(_l("Reserved for %(number)s", number=ticket.number))
    if home is not None and _change(session, home, item.part_id, reserved=item.quantity, kind="reserve",
                                    ticket=ticket, reason=reason, now=now, actor=actor):
        return _reserved(session, item, home, now=now, actor=actor)
    for warehouse_id in nearest_with_stock(session, ticket, item.part_id, item.quantity, exclude=home):
        if _change(session, warehouse_id, item.part_id, reserved=item.quantity, kind="reserve", ticket=ticket,
                   reason=reason, now=now, actor=actor):
            if home is None:
                return _reserved(session, item, warehouse_id, now=now, actor=actor)
            return _request(session, item, "transfer", source=warehouse_id, target=home, now=now, actor=actor)
    target = home or _fallback_warehouse(session, ticket)
    if target is None:
        raise ServiceError(_l("There is no warehouse to order the part for."), field="part")
    return _request(session, item, "purchase", source=None, target=target, now=now, actor=actor)


def _fallback_warehouse(session: Session, ticket: Ticket) -> int | None:
    """Where a purchase arrives when the ticket has no engineer with a warehouse: the nearest warehouse."""
    nearest = _by_nearness(ticket, session.scalars(select(Warehouse)).all())
    return nearest[0].id if nearest else None


def _reserved(session, item: TicketPart, warehouse_id: int, *, now, actor) -> Outcome:
    item.state, item.warehouse_id = RESERVED, warehouse_id
    warehouse = session.get(Warehouse, warehouse_id)
    timeline.record(session, item.ticket, "part_reserved", actor=actor, now=now,
                    data={"sku": item.part.sku, "part": [item.part.name_zh, item.part.name_en],
                          "quantity": item.quantity, "warehouse": [warehouse.name_zh, warehouse.name_en]})
    return Outcome(item, RESERVED, warehouse_id)


def _request(session, item: TicketPart, kind: str, *, source, target, now, actor) -> Outcome:
    item.state, item.warehouse_id = WAITING, source
    session.add(PartRequest(ticket_part=item, ticket=item.ticket, part_id=item.part_id, quantity=item.quantity,
                            kind=kind, source_id=source, warehouse_id=target, state="open", created_at=now))
    names = {w.id: [w.name_zh, w.name_en] for w in session.scalars(
        select(Warehouse).where(Warehouse.id.in_([x for x in (source, target) if x])))}
    timeline.record(session, item.ticket, "part_requested", actor=actor, now=now,
                    data={"sku": item.part.sku, "part": [item.part.name_zh, item.part.name_en],
                          "quantity": item.quantity, "kind": kind, "source": names.get(source),
                          "warehouse": names.get(target)})
    _wait_for_parts(session, item.ticket, now=now, actor=actor)
    return Outcome(item, kind, target)


# A ticket someone has taken on waits for its parts — before the visit (the part is known from the phone call)
# as well as during it — so that its SLA clock is not running down while nobody can act.
WAITS_FOR_PARTS = (st.ACCEPTED, st.IN_PROGRESS)


def _wait_for_parts(session, ticket: Ticket, *, now, actor) -> None:
    from app.services import tickets

    if ticket.status in WAITS_FOR_PARTS:
        tickets.transition(session, ticket, st.WAITING_PARTS, now=now, actor=actor,
                           reason=str(_l("Spare parts requested")))


def _outstanding(session: Session, ticket: Ticket) -> bool:
    session.flush()
    return session.scalar(select(PartRequest.id).where(PartRequest.ticket_id == ticket.id,
                                                       PartRequest.state == "open").limit(1)) is not None


def wait_if_parts_outstanding(session: Session, ticket: Ticket, *, now: datetime, actor=None) -> None:
    """A ticket that becomes workable (accepted, on site) while a part it needs is still on its way waits for
    it — e.g. the part was ordered from the ticket page before the engineer took the ticket."""
    if ticket.status in WAITS_FOR_PARTS and _outstanding(session, ticket):
        _wait_for_parts(session, ticket, now=now, actor=actor)


def need_and_reserve(session: Session, ticket: Ticket, part, quantity, *, now: datetime, actor=None) -> Outcome:
    """What the ticket page's 「需要备件」 does: note the need (app.services.parts) and reserve it at once.
    A changed quantity releases the old reservation first."""
    item = session.scalar(select(TicketPart).where(TicketPart.ticket_id == ticket.id,
                                                   TicketPart.part_id == getattr(part, "id", None),
                                                   TicketPart.state.in_(sorted(HOLDING))))
    if item is not None:
        release(session, item, now=now, actor=actor, reason=str(_l("Quantity changed")))
        item.state = NEEDED  # the same need, with its new quantity
    item = parts.need(session, ticket, part, quantity, now=now, actor=actor)
    session.flush()
    outcome = reserve(session, item, now=now, actor=actor)
    resume_if_ready(session, ticket, now=now, actor=actor)
    return outcome


# ---------------------------------------------------------------- the warehouse keeper receives

def receive(session: Session, request: PartRequest, *, now: datetime, actor=None, expected_version=None) -> None:
    """A transfer or purchase has arrived at its warehouse: booked in, reserved for the ticket; the ticket
    goes back to work when nothing else is outstanding."""
    now = as_utc(now)
    if expected_version not in (None, "") and str(expected_version) != str(request.version):
        raise ConcurrentEdit(_l("Someone else has just handled this request. Reload the list."))
    if request.state != "open":
        raise ServiceError(_l("This request is already closed."), field="request")
    item, ticket = request.ticket_part, request.ticket
    reason = str(_l("For %(number)s", number=ticket.number))
    if request.kind == "transfer":
        ok = _change(session, request.source_id, request.part_id, on_hand=-request.quantity,
                     reserved=-request.quantity, kind="transfer_out", ticket=ticket, reason=reason, now=now,
                     actor=actor)
        if not ok:
            raise ServiceError(_l("The source warehouse no longer holds the reserved parts."), field="request")
        _must(_change(session, request.warehouse_id, request.part_id, on_hand=request.quantity,
                      reserved=request.quantity, kind="transfer_in", ticket=ticket, reason=reason, now=now,
                      actor=actor))
    else:
        _must(_change(session, request.warehouse_id, request.part_id, on_hand=request.quantity, kind="receipt",
                      ticket=ticket, reason=str(_l("Purchased for %(number)s", number=ticket.number)), now=now,
                      actor=actor))
        _must(_change(session, request.warehouse_id, request.part_id, reserved=request.quantity, kind="reserve",
                      ticket=ticket, reason=reason, now=now, actor=actor))
    request.state, request.done_at, request.done_by_id = "received", now, getattr(actor, "id", None)
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise ConcurrentEdit(_l("Someone else has just handled this request. Reload the list.")) from None
    warehouse = request.warehouse
    item.state, item.warehouse_id = RESERVED, request.warehouse_id
    timeline.record(session, ticket, "part_arrived", actor=actor, now=now,
                    data={"sku": item.part.sku, "part": [item.part.name_zh, item.part.name_en],
                          "quantity": request.quantity, "warehouse": [warehouse.name_zh, warehouse.name_en]})
    resume_if_ready(session, ticket, now=now, actor=actor)


def resume_if_ready(session: Session, ticket: Ticket, *, now: datetime, actor=None) -> None:
    """A ticket waiting for parts goes back to work once no request is open (all in, or called off)."""
    from app.services import tickets

    if ticket.status != st.WAITING_PARTS or _outstanding(session, ticket):
        return
    tickets.transition(session, ticket, _status_before_waiting(ticket), now=now, actor=actor,
                       reason=str(_l("Spare parts ready")))


def _status_before_waiting(ticket: Ticket) -> str:
    """Back to where the wait began: accepted while the visit is still to come, in progress once the engineer
    is (or has meanwhile checked in) on site."""
    for event in reversed(ticket.events):
        data = event.data or {}
        if event.kind == "checked_in":
            return st.IN_PROGRESS
        if event.kind == "status" and data.get("to") == st.WAITING_PARTS:
            return st.ACCEPTED if data.get("from") == st.ACCEPTED else st.IN_PROGRESS
    return st.IN_PROGRESS


# ---------------------------------------------------------------- giving back, using up

def release(session: Session, item: TicketPart, *, now: datetime, actor=None, reason: str | None = None) -> None:
    """Give back what is held for this part (a reservation, an open request) without using it."""
    now = as_utc(now)
    ticket = item.ticket
    if item.state not in parts.OPEN_STATES:
        return  # used on an earlier resolution, or already given back
    for request in session.scalars(select(PartRequest).where(PartRequest.ticket_part_id == item.id,
                                                             PartRequest.state == "open")):
        request.state, request.done_at = "cancelled", now
    if item.state in HOLDING and item.warehouse_id is not None:
        _must(_change(session, item.warehouse_id, item.part_id, reserved=-item.quantity, kind="release",
                      ticket=ticket, reason=reason or str(_l("Released from %(number)s", number=ticket.number)),
                      now=now, actor=actor))
    item.state, item.warehouse_id = RELEASED, None


def consume(session: Session, ticket: Ticket, *, now: datetime, actor=None, used: dict | None = None) -> Decimal:
    """On resolution: each reserved part is used (all of it unless `used` says how many), unused ones go back
    to stock, parts still waiting are called off. Charges follow the warranty. Returns the parts charge."""
    now = as_utc(now)
    billable = ticket.warranty_status != "in"
    used_now = []
    for item in list(ticket.parts):
        if item.state == WAITING:
            release(session, item, now=now, actor=actor, reason=str(_l("Not needed: %(number)s was resolved",
                                                                        number=ticket.number)))
            continue
        if item.state != RESERVED:
            continue
        quantity = item.quantity if used is None or item.id not in used else int(used[item.id])
        if not 0 <= quantity <= item.quantity:
            raise ServiceError(_l("Used quantity must be between 0 and %(max)s.", max=item.quantity),
                               field=f"used_{item.id}")
        if quantity:
            _must(_change(session, item.warehouse_id, item.part_id, on_hand=-quantity, reserved=-quantity,
                          kind="consume", ticket=ticket, reason=str(_l("Used on %(number)s", number=ticket.number)),
                          now=now, actor=actor))
        if quantity < item.quantity:
            _must(_change(session, item.warehouse_id, item.part_id, reserved=-(item.quantity - quantity),
                          kind="return", ticket=ticket,
                          reason=str(_l("Unused, back from %(number)s", number=ticket.number)), now=now, actor=actor))
        price = Decimal(item.part.price or 0)
        item.used, item.billable, item.unit_price = quantity, billable, price
        item.charge = (price * quantity) if billable else Decimal("0.00")
        item.state = CONSUMED
        used_now.append(item)
    if used_now:  # a second call (the resolution after the engineer's own count) finds nothing left to use
        ticket.parts_charge = sum((i.charge for i in ticket.parts if i.state == CONSUMED), Decimal("0.00"))
        timeline.record(session, ticket, "parts_consumed", actor=actor, now=now,
                        data={"billable": billable, "warranty": ticket.warranty_status,
                              "charge": str(ticket.parts_charge),
                              "parts": [{"sku": i.part.sku, "used": i.used, "charge": str(i.charge)} for i in used_now]})
    return ticket.parts_charge or Decimal("0.00")


def on_status(session: Session, ticket: Ticket, old: str, new: str, *, now: datetime, actor=None) -> None:
    """Called on every status change: resolving uses the parts, cancelling gives them back. Other changes do
    not touch (or load) the ticket's parts."""
    if new not in (st.RESOLVED, st.CANCELLED) or not ticket.parts:
        return
    if new == st.RESOLVED:
        consume(session, ticket, now=now, actor=actor)
    elif new == st.CANCELLED:
        for item in ticket.parts:
            release(session, item, now=now, actor=actor,
                    reason=str(_l("%(number)s was cancelled", number=ticket.number)))


def drop(session: Session, ticket: Ticket, item_id: int, *, now: datetime, actor=None) -> None:
    """Take a part off the ticket, giving back what was held for it."""
    item = session.get(TicketPart, item_id)
    if item is not None and item.ticket_id == ticket.id:
        if item.state == CONSUMED:
            raise ServiceError(_l("A part used on the ticket stays on its record."), field="part")
        release(session, item, now=now, actor=actor)
    parts.drop(session, ticket, item_id, now=now, actor=actor)
    resume_if_ready(session, ticket, now=now, actor=actor)
