"""Similar resolved tickets (相似案例): how a problem like this one was fixed before.

Every resolved ticket has a `ticket_search` row holding the segmented words of its subject and description
(`text.search_terms`), indexed by the database's own full-text search (FTS5 on SQLite, a GIN tsvector index on
PostgreSQL; see migration 0011). A search asks the index for the most recently resolved tickets sharing at
least one word with this one (bounded, so a common word such as 「空调」 costs no more than a rare one) plus
those sharing all of its words however old, then ranks them here:

    score = cosine(words) × (1 + 0.5 same product + 0.2 same category) × recency

where recency halves every RECENCY_HALF_LIFE_DAYS. Cosine over word sets rewards sharing many words and
penalises long texts that share a few by chance.
"""
import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, Integer, Text, delete, select, text
from sqlalchemy.orm import Session, selectinload

from app.models import Ticket, TicketSearch
from app.services import status as st
from app.services import text as tx
from app.timeutil import as_utc, utcnow

INDEXED_STATUSES = frozenset({st.RESOLVED, st.CLOSED})
RECENCY_HALF_LIFE_DAYS = 365.0
# How many of the most recent matches one search reads; beyond them an old ticket is found only if it shares
# every word (the all-words query has its own, smaller bound).
RECENT_CANDIDATES = 800
ALL_WORDS_CANDIDATES = 200
MAX_QUERY_WORDS = 12
PRODUCT_BOOST = 0.5
CATEGORY_BOOST = 0.2


@dataclass(frozen=True)
class SimilarCase:
    ticket: Ticket
    score: float
    shared: tuple[str, ...]


def ticket_text(ticket: Ticket) -> str:
    return f"{ticket.subject or ''} {ticket.description or ''}"


def index_ticket(session: Session, ticket: Ticket) -> None:
    """Bring the ticket's search row in line with its state: present while resolved or closed, else gone."""
    if ticket.id is None:
        session.flush()
    row = session.get(TicketSearch, ticket.id)
    if ticket.status not in INDEXED_STATUSES or ticket.resolved_at is None or ticket.duplicate_of_id is not None:
        if row is not None:
            session.delete(row)
        return
    values = {"product_id": ticket.product_id, "category_id": ticket.category_id,
              "resolved_at": ticket.resolved_at, "terms": " ".join(tx.search_words(ticket.subject, ticket.description))}
    if row is None:
        session.add(TicketSearch(ticket_id=ticket.id, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)


def on_status(session: Session, ticket: Ticket, old: str, new: str) -> None:
    if (old in INDEXED_STATUSES) != (new in INDEXED_STATUSES) or new == st.RESOLVED:
        index_ticket(session, ticket)


_INDEXED_FIELDS = frozenset({"subject", "description", "product", "category", "duplicate_of"})


def on_edit(session: Session, ticket: Ticket, changed: set[str]) -> None:
    """A resolved ticket whose text, product or category was corrected is re-indexed (a duplicate leaves)."""
    if ticket.status in INDEXED_STATUSES and changed & _INDEXED_FIELDS:
        index_ticket(session, ticket)


def search_row(ticket_id: int, product_id, category_id, resolved_at, words) -> dict:
    """A ticket_search row for bulk writers (the demo generator), the same as index_ticket would write."""
    return {"ticket_id": ticket_id, "product_id": product_id, "category_id": category_id,
            "resolved_at": resolved_at, "terms": " ".join(words)}


def reindex(session: Session, *, batch: int = 2000, only_missing: bool = True, progress=None) -> int:
    """(Re)build the rows of resolved and closed tickets; `only_missing` keeps the rows already there."""
    if not only_missing:
        session.execute(delete(TicketSearch))
    done, last_id = 0, 0
    while True:
        query = (select(Ticket.id, Ticket.subject, Ticket.description, Ticket.product_id, Ticket.category_id,
                        Ticket.resolved_at)
                 .where(Ticket.id > last_id, Ticket.status.in_(INDEXED_STATUSES), Ticket.resolved_at.is_not(None),
                        Ticket.duplicate_of_id.is_(None))
                 .order_by(Ticket.id).limit(batch))
        if only_missing:
            query = query.where(~select(TicketSearch.ticket_id).where(TicketSearch.ticket_id == Ticket.id).exists())
        rows = session.execute(query).all()
        if not rows:
            break
        session.execute(TicketSearch.__table__.insert(), [
            search_row(r.id, r.product_id, r.category_id, r.resolved_at,
                       tx.search_words(r.subject, r.description))
            for r in rows])
        session.commit()
        done += len(rows)
        last_id = rows[-1].id
        if progress:
            progress(len(rows))
    return done


def find(session: Session, ticket: Ticket, *, limit: int = 3, now: datetime | None = None) -> list[SimilarCase]:
    """The resolved tickets most like this one, best first (never the ticket itself)."""
    return find_for_text(session, ticket_text(ticket), product_id=ticket.product_id,
                         category_id=ticket.category_id, exclude=ticket.id, limit=limit, now=now)


def find_for_text(session: Session, query_text: str, *, product_id=None, category_id=None, exclude=None,
                  limit: int = 3, now: datetime | None = None) -> list[SimilarCase]:
    words = tx.search_terms(query_text)[:MAX_QUERY_WORDS]
    if not words:
        return []
    now = as_utc(now) if now else utcnow()
    wanted = frozenset(words)
    norm = math.sqrt(len(wanted))
    overlap_of: dict[str, float] = {}  # texts repeat (templates, merged reports): each is compared once
    scored, seen = [], set()
    for ticket_id, terms, resolved_at, row_product, row_category in _candidates(session, words, exclude, limit):
        if ticket_id in seen:
            continue
        seen.add(ticket_id)
        overlap = overlap_of.get(terms)
        if overlap is None:
            doc = terms.split()  # distinct words already
            overlap = overlap_of[terms] = sum(1 for w in doc if w in wanted) / (norm * math.sqrt(len(doc) or 1))
        if not overlap:
            continue
        boost = 1 + (PRODUCT_BOOST if product_id and row_product == product_id else 0) + (
            CATEGORY_BOOST if category_id and row_category == category_id else 0)
        age_days = max(0.0, (now - resolved_at).total_seconds() / 86400)
        scored.append((overlap * boost * 0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS), ticket_id, terms))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    best = scored[:limit]
    if not best:
        return []
    tickets = {t.id: t for t in session.scalars(
        select(Ticket).where(Ticket.id.in_([s[1] for s in best]))
        .options(selectinload(Ticket.resolution_code), selectinload(Ticket.assignee)))}
    return [SimilarCase(tickets[tid], score, tuple(w for w in words if w in terms.split()))
            for score, tid, terms in best if tid in tickets]


def _candidates(session: Session, words: list[str], exclude, limit: int):
    """The latest matches of any word, then, if few of those share every word, the latest that do.

    "Latest" is by ticket id, which follows creation: both indexes can walk their matches newest first and stop
    after `n` (FTS5 reads its doclists backwards; PostgreSQL walks the primary key backwards for common words
    and takes the GIN bitmap for rare ones), so a word shared by half the tickets costs no more than a rare one.
    The all-words search finds an old exact match behind many recent partial ones; when recent tickets already
    share every word it is not needed — and it would be the costly one then, as the database cannot know that
    the words come together (templated reports, IoT alarms) and reads every match.
    """
    rows = list(session.execute(_statement(session, words, " OR ", exclude, RECENT_CANDIDATES)))
    if len(words) > 1 and len(rows) == RECENT_CANDIDATES:
        wanted = set(words)
        complete = sum(1 for row in rows if wanted <= set(row.terms.split()))
        if complete < limit:
            rows += session.execute(_statement(session, words, " AND ", exclude, ALL_WORDS_CANDIDATES)).all()
    return rows


def _statement(session: Session, words: list[str], joiner: str, exclude, limit: int):
    """The query with its words and bounds written in, not bound: PostgreSQL must plan it for these words (a
    prepared statement's generic plan cannot tell a common word from a rare one and reads every match).
    Words hold only letters and digits (text.search_terms), and quotes are doubled all the same."""
    exclude, limit = int(exclude or 0), int(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = {" OR ": " | ", " AND ": " & "}[joiner].join("'%s'" % w.replace("'", "''") for w in words)
        matches = ("SELECT s.ticket_id FROM ticket_search s "
                   "WHERE array_to_tsvector(string_to_array(s.terms, ' ')) @@ CAST('%s' AS tsquery) "
                   "AND s.ticket_id != %d ORDER BY s.ticket_id DESC LIMIT %d") % (query.replace("'", "''"), exclude,
                                                                                   limit)
    else:
        query = joiner.join('"%s"' % w.replace('"', '""') for w in words)
        matches = ("SELECT rowid AS ticket_id FROM ticket_search_fts WHERE ticket_search_fts MATCH '%s' "
                   "AND rowid != %d ORDER BY rowid DESC LIMIT %d") % (query.replace("'", "''"), exclude, limit)
    return text(
        "SELECT s.ticket_id, s.terms, s.resolved_at, s.product_id, s.category_id FROM ticket_search s "
        f"JOIN ({matches}) m ON m.ticket_id = s.ticket_id"
    ).columns(ticket_id=Integer, terms=Text, resolved_at=DateTime, product_id=Integer, category_id=Integer)
