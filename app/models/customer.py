from datetime import date
from typing import Optional

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder import Model

from app.models.mixins import BilingualNameMixin, LocalizedNameMixin, TimestampMixin

CUSTOMER_TIERS = ("vip", "normal")
LANGUAGES = ("zh", "en")
CONTACT_CHANNELS = ("phone", "sms", "email", "wechat")
CONTACT_KINDS = ("phone", "email", "wechat")


class Customer(TimestampMixin, Model):
    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    # The primary phone and e-mail are what clerks search by; further ones live in CustomerContact.
    phone: Mapped[Optional[str]] = mapped_column(String(30), index=True)
    email: Mapped[Optional[str]] = mapped_column(String(200), index=True)
    wechat_openid: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    tier: Mapped[str] = mapped_column(String(10), default="normal", nullable=False)
    preferred_language: Mapped[str] = mapped_column(String(5), default="zh", nullable=False)
    preferred_channel: Mapped[str] = mapped_column(String(10), default="sms", nullable=False)
    address: Mapped[Optional[str]] = mapped_column(String(300))
    region_id: Mapped[Optional[int]] = mapped_column(ForeignKey("service_region.id"), index=True)
    region = relationship("ServiceRegion")
    latitude: Mapped[Optional[float]] = mapped_column(Float)
    longitude: Mapped[Optional[float]] = mapped_column(Float)
    notes: Mapped[Optional[str]] = mapped_column(Text)
    # False for customers intake created from an unknown sender: a clerk should confirm who they are.
    verified: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    # Channels the customer asked not to be messaged on (退订); service calls by phone are not affected.
    sms_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    email_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    wechat_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    contacts: Mapped[list["CustomerContact"]] = relationship(
        back_populates="customer", cascade="all, delete-orphan"
    )
    assets: Mapped[list["Asset"]] = relationship(back_populates="customer")

    def __str__(self) -> str:
        return f"{self.name} ({self.phone})" if self.phone else self.name


class CustomerContact(Model):
    """Further phones, e-mails and WeChat ids of a customer, looked up when feedback arrives."""

    __tablename__ = "customer_contact"
    __table_args__ = (
        UniqueConstraint("customer_id", "kind", "value", name="uq_customer_contact"),
        Index("ix_customer_contact_lookup", "kind", "value"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), nullable=False)
    customer: Mapped[Customer] = relationship(back_populates="contacts")
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    value: Mapped[str] = mapped_column(String(200), nullable=False)
    label: Mapped[Optional[str]] = mapped_column(String(50))

    def __str__(self) -> str:
        return self.value


class ProductLine(BilingualNameMixin, Model):
    """产品线 (water heaters, air conditioners…): skills and spare parts are organised by it."""

    __tablename__ = "product_line"
    id: Mapped[int] = mapped_column(primary_key=True)


class Product(LocalizedNameMixin, Model):
    __tablename__ = "product"
    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(60), unique=True, nullable=False)
    product_line_id: Mapped[int] = mapped_column(ForeignKey("product_line.id"), nullable=False, index=True)
    product_line: Mapped[ProductLine] = relationship()
    warranty_months: Mapped[int] = mapped_column(default=12, nullable=False)

    def __str__(self) -> str:
        return f"{self.model} {self.name}"


class Asset(TimestampMixin, Model):
    """A device a customer owns, known by its serial number."""

    __tablename__ = "asset"
    id: Mapped[int] = mapped_column(primary_key=True)
    serial_number: Mapped[str] = mapped_column(String(60), unique=True, nullable=False)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), nullable=False, index=True)
    product: Mapped[Product] = relationship()
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customer.id"), index=True)
    customer: Mapped[Optional[Customer]] = relationship(back_populates="assets")
    install_date: Mapped[Optional[date]] = mapped_column(Date)
    warranty_end: Mapped[Optional[date]] = mapped_column(Date, index=True)
    location: Mapped[Optional[str]] = mapped_column(String(300))
    latitude: Mapped[Optional[float]] = mapped_column(Float)
    longitude: Mapped[Optional[float]] = mapped_column(Float)

    def under_warranty(self, on: date) -> bool:
        """`on` is a local calendar date: whose "today" it is depends on the time zone."""
        return self.warranty_end is not None and on <= self.warranty_end

    def __str__(self) -> str:
        return self.serial_number
