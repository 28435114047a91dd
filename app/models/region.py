from typing import Optional

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder import Model

from app.models.mixins import BilingualNameMixin

REGION_LEVELS = ("province", "city", "district")


class ServiceRegion(BilingualNameMixin, Model):
    """省/市/区 hierarchy; code is the national administrative division code (e.g. 110105)."""

    __tablename__ = "service_region"
    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(10), nullable=False)
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("service_region.id"), index=True)
    parent: Mapped[Optional["ServiceRegion"]] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["ServiceRegion"]] = relationship(back_populates="parent")

    def ancestors(self) -> list["ServiceRegion"]:
        """Self first, then parent, grandparent… (dispatch falls back up this chain)."""
        chain, node = [], self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    @property
    def full_name(self) -> str:
        return " / ".join(r.name for r in reversed(self.ancestors()))
