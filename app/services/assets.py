"""A device's service history (设备服务档案): every ticket on it, who worked on it, how it was fixed, which
parts were replaced and whether that was under warranty."""
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Ticket, TicketPart


@dataclass
class HistoryRow:
    ticket: Ticket
    engineer: str
    resolution: str
    parts: list = field(default_factory=list)  # consumed TicketParts


def history(session: Session, asset_id: int, limit: int = 200) -> list[HistoryRow]:
    tickets = session.scalars(
        select(Ticket).where(Ticket.asset_id == asset_id).order_by(Ticket.created_at.desc()).limit(limit)
        .options(selectinload(Ticket.assignee), selectinload(Ticket.resolution_code),
                 selectinload(Ticket.category), selectinload(Ticket.parts).selectinload(TicketPart.part))).all()
    return [HistoryRow(t, t.assignee.name if t.assignee else "", t.resolution_code.name if t.resolution_code else "",
                       [p for p in t.parts if p.state == "consumed"]) for t in tickets]
