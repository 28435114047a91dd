from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.timeutil import utcnow


def current_language() -> str:
    """The language of the current request or `force_locale` block; zh outside any context."""
    try:
        from flask_babel import get_locale

        locale = get_locale()
    except (RuntimeError, KeyError, AttributeError):
        locale = None
    return locale.language if locale is not None else "zh"


def localized(name_zh: str | None, name_en: str | None) -> str:
    """The reader's half of a name kept in both languages (Chinese when there is no English)."""
    return name_en if current_language() == "en" and name_en else (name_zh or "")


class LocalizedNameMixin:
    """A name kept in both languages; `name` answers in the reader's language."""

    name_zh: Mapped[str] = mapped_column(String(100), nullable=False)
    name_en: Mapped[str] = mapped_column(String(100), nullable=False)

    @property
    def name(self) -> str:
        return localized(self.name_zh, self.name_en)

    def __str__(self) -> str:
        return self.name or ""


class BilingualNameMixin(LocalizedNameMixin):
    """Reference data with a stable code and a manager-editable name in both languages."""

    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)


class ReferenceMixin(BilingualNameMixin):
    sort_order: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
