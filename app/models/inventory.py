from datetime import datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import (
    CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, Numeric, String, Table, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder import Model

from app.models.mixins import BilingualNameMixin, LocalizedNameMixin
from app.timeutil import utcnow

part_product = Table(
    "part_product",
    Model.metadata,
    Column("part_id", ForeignKey("spare_part.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", ForeignKey("product.id", ondelete="CASCADE"), primary_key=True),
)

STOCK_MOVE_KINDS = ("receipt", "reserve", "release", "consume", "return", "transfer_out", "transfer_in", "adjust")


class Warehouse(BilingualNameMixin, Model):
    __tablename__ = "warehouse"
    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[Optional[int]] = mapped_column(ForeignKey("service_region.id"), index=True)
    region = relationship("ServiceRegion")
    address: Mapped[Optional[str]] = mapped_column(String(300))


class SparePart(LocalizedNameMixin, Model):
    __tablename__ = "spare_part"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    unit: Mapped[str] = mapped_column(String(10), default="个", nullable=False)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=0, nullable=False)
    products = relationship("Product", secondary=part_product)

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Stock(Model):
    """Warehouse × part. Available = on_hand − reserved; the constraints keep it from going negative."""

    __tablename__ = "stock"
    __table_args__ = (
        UniqueConstraint("warehouse_id", "part_id", name="uq_stock_warehouse_part"),
        CheckConstraint("on_hand >= 0", name="ck_stock_on_hand"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="ck_stock_reserved"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"), nullable=False)
    warehouse: Mapped[Warehouse] = relationship()
    part_id: Mapped[int] = mapped_column(ForeignKey("spare_part.id"), nullable=False, index=True)
    part: Mapped[SparePart] = relationship()
    on_hand: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    reserved: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    @property
    def available(self) -> int:
        return (self.on_hand or 0) - (self.reserved or 0)

    def __str__(self) -> str:
        return f"{self.warehouse} · {self.part}"


class StockMove(Model):
    """Every change of a stock row, signed quantity, with its reason and ticket. Append-only."""

    __tablename__ = "stock_move"
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"), nullable=False, index=True)
    warehouse: Mapped[Warehouse] = relationship()
    part_id: Mapped[int] = mapped_column(ForeignKey("spare_part.id"), nullable=False, index=True)
    part: Mapped[SparePart] = relationship()
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[Optional[str]] = mapped_column(Text)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id"), index=True)
    ticket = relationship("Ticket")
    actor_user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    actor = relationship("User")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False, index=True)


class PartRequest(Model):
    """调拨/采购申请: a ticket's part that no warehouse in reach could reserve. The warehouse keeper receives
    it (app.services.inventory.receive); the ticket waits for parts until every request is in."""

    __tablename__ = "part_request"
    __table_args__ = (Index("ix_part_request_state_created", "state", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_part_id: Mapped[int] = mapped_column(ForeignKey("ticket_part.id", ondelete="CASCADE"), nullable=False,
                                                index=True)
    ticket_part = relationship("TicketPart")
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False, index=True)
    ticket = relationship("Ticket")
    part_id: Mapped[int] = mapped_column(ForeignKey("spare_part.id"), nullable=False)
    part: Mapped[SparePart] = relationship()
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # transfer | purchase
    # A transfer's stock is reserved at `source` until it arrives at `warehouse`; a purchase has no source.
    source_id: Mapped[Optional[int]] = mapped_column(ForeignKey("warehouse.id"))
    source = relationship("Warehouse", foreign_keys=[source_id])
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"), nullable=False)
    warehouse = relationship("Warehouse", foreign_keys=[warehouse_id])
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="open")  # open | received | cancelled
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    done_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    done_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    done_by = relationship("User")
    # Two keepers receiving the same request: the second is told, stock is not booked twice.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    def __str__(self) -> str:
        return f"{self.part} × {self.quantity}"
