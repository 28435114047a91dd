"""Knowledge (知识库) and the search index of resolved tickets that similar-case suggestions read."""
from datetime import datetime
from typing import Optional

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder import Model

from app.timeutil import utcnow

kb_article_category = Table(
    "kb_article_category", Model.metadata,
    Column("article_id", Integer,
           ForeignKey("kb_article.id", ondelete="CASCADE", name="fk_kb_article_category_article"), primary_key=True),
    Column("category_id", Integer,
           ForeignKey("category.id", ondelete="CASCADE", name="fk_kb_article_category_category"), primary_key=True),
)

kb_article_product = Table(
    "kb_article_product", Model.metadata,
    Column("article_id", Integer, ForeignKey("kb_article.id", ondelete="CASCADE", name="fk_kb_article_product_article"),
           primary_key=True),
    Column("product_id", Integer, ForeignKey("product.id", ondelete="CASCADE", name="fk_kb_article_product_product"),
           primary_key=True),
)


class KbArticle(Model):
    """A how-to or known fix, in one language. Clerks write drafts; managers publish them, and only published
    articles are suggested to staff and shown to customers."""

    __tablename__ = "kb_article"
    __table_args__ = (
        Index("ix_kb_article_state_language", "state", "language"),
        # Writing up a ticket twice (a double click, a retry) opens the draft already written, per language.
        UniqueConstraint("source_ticket_id", "language", name="uq_kb_article_source_language"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str] = mapped_column(String(5), nullable=False, default="zh")
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="draft")
    categories = relationship("Category", secondary=kb_article_category)
    products = relationship("Product", secondary=kb_article_product)
    # The resolved ticket whose fix it was written from, if any.
    source_ticket_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("ticket.id", ondelete="SET NULL", name="fk_kb_article_source_ticket"))
    source_ticket = relationship("Ticket")
    # Segmented words of title and body (app.services.search_terms), kept on every save for matching.
    terms: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", name="fk_kb_article_created_by"))
    created_by = relationship("User", foreign_keys=[created_by_id])
    published_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)

    def __str__(self) -> str:
        return self.title or ""


class TicketSearch(Model):
    """One row per resolved (or closed) ticket: what similar-case search matches against.

    The full-text index over `terms` is the database's own, created by migration 0011 and invisible to the
    models: an FTS5 table kept in step by triggers on SQLite, a GIN index on the terms as a tsvector on
    PostgreSQL. A reopened ticket's row is removed: its fix did not hold.
    """

    __tablename__ = "ticket_search"
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE", name="fk_ticket_search_ticket"), primary_key=True)
    product_id: Mapped[Optional[int]] = mapped_column(Integer)
    category_id: Mapped[Optional[int]] = mapped_column(Integer)
    # Recency ranks the matches (how many are read is bounded by ticket id, newest first).
    resolved_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    terms: Mapped[str] = mapped_column(Text, nullable=False)


# Indexes only one database has, made by their migrations and not in the models: the full-text index of
# resolved tickets on PostgreSQL (0011: an expression GIN index), the phone-prefix indexes (0015:
# varchar_pattern_ops, which LIKE 'prefix%' can walk whatever the database's collation) and the open-ticket
# queue's partial index (0017).
DATABASE_ONLY_INDEXES = frozenset({"ix_ticket_search_terms_fts", "ix_ticket_contact_phone_prefix",
                                   "ix_customer_phone_prefix", "ix_ticket_open_resolution_due"})


def schema_names(name, type_, parent_names) -> bool:
    """Alembic's include_name for comparing models with the database: what a migration made for one database
    alone (SQLite's FTS5 table and its shadow tables, the indexes above) is not a difference."""
    if type_ == "table":
        return not (name or "").startswith("ticket_search_fts")
    if type_ == "index":
        return name not in DATABASE_ONLY_INDEXES
    return True
