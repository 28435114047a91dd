"""The spare parts a ticket needs. Dispatch prefers an engineer whose warehouse has them; reserving and
consuming stock is the field-service work that builds on this."""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import SparePart, Ticket, TicketPart
from app.models.inventory import part_product
from app.services import status as st
from app.services import timeline
from app.services.errors import ServiceError
from app.timeutil import as_utc

# A part still to be found for the ticket: not used on an earlier resolution, not removed (app.services.inventory
# moves it on from here; dispatch looks for these).
OPEN_STATES = ("needed", "reserved", "waiting")


def choices_for(session: Session, ticket: Ticket) -> list[SparePart]:
    """Parts that fit the ticket's product (all parts when the product is not known)."""
    query = select(SparePart).order_by(SparePart.sku)
    product_id = ticket.product_id or (ticket.asset.product_id if ticket.asset is not None else None)
    if product_id is not None:
        query = query.join(part_product, part_product.c.part_id == SparePart.id).where(
            part_product.c.product_id == product_id)
    return session.scalars(query).all()


def need(session: Session, ticket: Ticket, part: SparePart | None, quantity, *, now: datetime,
         actor=None) -> TicketPart:
    """Add a part to the ticket's needs (or change how many), noted on the timeline."""
    if ticket.status not in st.OPEN_STATUSES:
        raise ServiceError(_l("A ticket that is %(status)s needs no parts.", status=st.label(ticket.status)),
                           field="part")
    if part is None:
        raise ServiceError(_l("Choose a spare part."), field="part")
    try:
        quantity = int(quantity)
    except (TypeError, ValueError):
        quantity = 0
    if not 1 <= quantity <= 999:
        raise ServiceError(_l("The quantity must be between 1 and 999."), field="quantity")
    # The part's open need, if any; one used on an earlier resolution stays as it was, and a new need starts.
    item = session.scalar(select(TicketPart).where(TicketPart.ticket_id == ticket.id, TicketPart.part_id == part.id,
                                                   TicketPart.state.in_(OPEN_STATES)))
    if item is None:
        item = TicketPart(ticket=ticket, part=part, quantity=quantity, created_at=as_utc(now))
        session.add(item)
    else:
        item.quantity = quantity
    timeline.record(session, ticket, "part_needed", actor=actor, now=as_utc(now),
                    data={"sku": part.sku, "part": [part.name_zh, part.name_en], "quantity": quantity})
    return item


def drop(session: Session, ticket: Ticket, item_id: int, *, now: datetime, actor=None) -> None:
    """The ticket no longer needs the part. The row stays (released) with its requests and stock movements:
    the history of what was asked for is kept."""
    item = session.get(TicketPart, item_id)
    if item is None or item.ticket_id != ticket.id:
        raise ServiceError(_l("That part is not on this ticket."), field="part")
    timeline.record(session, ticket, "part_dropped", actor=actor, now=as_utc(now),
                    data={"sku": item.part.sku, "part": [item.part.name_zh, item.part.name_en]})
    item.state, item.warehouse_id = "released", None
