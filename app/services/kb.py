"""Knowledge base (知识库): articles in Chinese or English, drafted by clerks, published by managers.

Published articles are suggested beside a ticket and on the portal's submit form. A knowledge base is small
(hundreds to a few thousand articles), so suggestions score every published article of the language here,
with the same segmented words as similar-case search: cosine over word sets, raised when the article is
linked to the ticket's category or product. An article linked to other products only is not suggested for a
ticket whose product is known: a water heater's fix is no answer for a dishwasher.
"""
import math
from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import KbArticle, Ticket
from app.models.knowledge import kb_article_category, kb_article_product
from app.services import status as st
from app.services import text as tx
from app.services.errors import ServiceError
from app.timeutil import as_utc

LANGUAGES = ("zh", "en")
DRAFT, PUBLISHED = "draft", "published"
STATES = {DRAFT: _l("Draft"), PUBLISHED: _l("Published")}
LANGUAGE_LABELS = {"zh": _l("Chinese"), "en": _l("English")}
LINK_BOOST = 0.5
MIN_SCORE = 0.08  # below this, a shared word or two is chance, not an answer
# One shared word is chance too once the question has a few (「水器」 is in both 热水器 and 净水器).
MIN_SHARED = 2


@dataclass(frozen=True)
class Suggestion:
    article: KbArticle
    score: float


def prepare(article: KbArticle) -> None:
    """Check an article before it is saved and refresh the words it is matched by."""
    article.title = (article.title or "").strip()
    article.body = (article.body or "").strip()
    if not article.title:
        raise ServiceError(_l("Title is required."), field="title")
    if not article.body:
        raise ServiceError(_l("Write the article's text."), field="body")
    if article.language not in LANGUAGES:
        raise ServiceError(_l("Choose Chinese or English."), field="language")
    article.state = article.state or DRAFT
    article.terms = " ".join(tx.search_terms(f"{article.title} {article.body}"))


def publish(article: KbArticle, *, now: datetime) -> None:
    prepare(article)
    article.state = PUBLISHED
    article.published_at = as_utc(now)


def unpublish(article: KbArticle) -> None:
    article.state = DRAFT


def draft_from_ticket(session: Session, ticket: Ticket, *, language: str, now: datetime, actor=None) -> KbArticle:
    """A draft written from a resolved ticket's problem and fix, linked to its category and product.

    Asking again for the same ticket and language opens the draft already written (also under a race: the
    unique key decides).
    """
    if ticket.status not in (st.RESOLVED, st.CLOSED):
        raise ServiceError(_l("Only a resolved ticket's fix can become an article."), field="status")
    language = language if language in LANGUAGES else "zh"
    existing = _from_ticket(session, ticket.id, language)
    if existing is not None:
        return existing
    with force_locale(language):
        parts = [gettext("Problem: %(text)s", text=ticket.description or ticket.subject)]
        if ticket.resolution_code is not None:
            parts.append(gettext("Fix: %(fix)s", fix=ticket.resolution_code.name))
        if ticket.resolution_note:
            parts.append(ticket.resolution_note)
        title = ticket.subject
    article = KbArticle(title=title, body="\n\n".join(parts), language=language, state=DRAFT,
                        source_ticket_id=ticket.id, created_by_id=getattr(actor, "id", None),
                        created_at=as_utc(now), updated_at=as_utc(now))
    if ticket.category is not None:
        article.categories.append(ticket.category)
    if ticket.product is not None:
        article.products.append(ticket.product)
    prepare(article)
    try:
        with session.begin_nested():
            session.add(article)
    except IntegrityError:
        existing = _from_ticket(session, ticket.id, language)
        if existing is None:
            raise
        return existing
    return article


def _from_ticket(session: Session, ticket_id: int, language: str) -> KbArticle | None:
    return session.scalar(select(KbArticle).where(KbArticle.source_ticket_id == ticket_id,
                                                  KbArticle.language == language))


def suggest(session: Session, query_text: str, *, language: str, category_id=None, product_id=None,
            limit: int = 3) -> list[Suggestion]:
    """Published articles in `language` that answer this text best, best first.

    Scores plain rows (id, words and links), then loads only the winners."""
    words = set(tx.search_terms(query_text))
    if not words:
        return []
    published_here = select(KbArticle.id).where(KbArticle.state == PUBLISHED, KbArticle.language == language)
    products, categories = {}, {}
    for article_id, product in session.execute(select(kb_article_product.c.article_id, kb_article_product.c.product_id)
                                               .where(kb_article_product.c.article_id.in_(published_here))):
        products.setdefault(article_id, set()).add(product)
    for article_id, category in session.execute(
            select(kb_article_category.c.article_id, kb_article_category.c.category_id)
            .where(kb_article_category.c.article_id.in_(published_here))):
        categories.setdefault(article_id, set()).add(category)
    scored = []
    rows = session.execute(select(KbArticle.id, KbArticle.terms).where(KbArticle.id.in_(published_here)))
    for article_id, terms in rows:
        linked_products = products.get(article_id, set())
        if product_id and linked_products and product_id not in linked_products:
            continue
        doc = set(terms.split())
        shared = len(words & doc)
        if shared < min(MIN_SHARED, len(words)):
            continue
        score = shared / math.sqrt(len(words) * len(doc))
        if product_id and product_id in linked_products:
            score *= 1 + LINK_BOOST
        if category_id and category_id in categories.get(article_id, ()):
            score *= 1 + LINK_BOOST
        if score >= MIN_SCORE:
            scored.append((score, article_id))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    best = scored[:limit]
    articles = {a.id: a for a in session.scalars(select(KbArticle).where(KbArticle.id.in_([i for _, i in best])))}
    return [Suggestion(articles[i], score) for score, i in best if i in articles]


def published(session: Session, article_id: int) -> KbArticle | None:
    """An article a customer may read: published, else nothing (a draft's id reveals nothing)."""
    article = session.get(KbArticle, article_id)
    return article if article is not None and article.state == PUBLISHED else None


def paragraphs(body: str) -> list[str]:
    """The body as the paragraphs its author separated with blank lines."""
    return [p.strip() for p in (body or "").replace("\r\n", "\n").split("\n\n") if p.strip()]
