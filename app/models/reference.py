"""Classification vocabularies: codes are stable (APIs and rules use them), names are editable."""
from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from flask_appbuilder import Model

from app.models.mixins import ReferenceMixin


class Category(ReferenceMixin, Model):
    """问题分类: fault, inquiry, parts, complaint, installation."""

    __tablename__ = "category"
    id: Mapped[int] = mapped_column(primary_key=True)


class ServiceType(ReferenceMixin, Model):
    """服务类别: installation, hardware_repair, software_guidance."""

    __tablename__ = "service_type"
    id: Mapped[int] = mapped_column(primary_key=True)


class Priority(ReferenceMixin, Model):
    """urgent/high/medium/low; a lower rank is more urgent."""

    __tablename__ = "priority"
    id: Mapped[int] = mapped_column(primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
