"""Recurring problems (重复问题): groups of a product model's tickets that describe the same fault, for root-cause
work (问题管理).

Each ticket of the period is reduced to its segmented words (the similar-case index's words where the ticket
is resolved, segmented here otherwise). Per product model:

1. words in more than GENERIC_SHARE of the model's tickets say nothing (「热水器」 on every water-heater
   ticket), and words in fewer than `min_size` tickets cannot make a group: both are set aside;
2. pairs of the remaining words are counted over the tickets; the most common pair not yet explained
   becomes a group — the tickets sharing both words and not already in a bigger group — if it still has
   `min_size` tickets;
3. the group is named by the words most of its tickets share (the pair, plus any word in LABEL_SHARE of
   them), and compared with the period before, of the same length.

Groups are ranked by size, then by growth. The result is deterministic for the same tickets, so the list, its
drill-down and "link to a problem" all see the same group.
"""
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from app.models import Product, Ticket, TicketSearch
from app.models.problem import ProblemTicket
from app.services import status as st
from app.services import text as tx

GENERIC_SHARE = 0.5
LABEL_SHARE = 0.8
MAX_LABEL_WORDS = 4
MAX_WORDS_PER_TICKET = 12
MAX_PAIRS = 2000
# Bounds one product's work on a web request; a model with more tickets than this in the period is grouped
# over its newest ones (the page says so).
MAX_TICKETS_PER_PRODUCT = 20000


@dataclass
class Cluster:
    product_id: int
    words: tuple[str, ...]
    ticket_ids: list[int]  # newest first
    first_at: datetime
    last_at: datetime
    product_tickets: int  # the model's tickets in the period
    previous: int = 0  # the model's tickets of the period before with the group's two core words
    problems: dict[int, int] = field(default_factory=dict)  # problem id -> tickets of the group linked to it

    @property
    def size(self) -> int:
        return len(self.ticket_ids)

    @property
    def share(self) -> float:
        return self.size / self.product_tickets if self.product_tickets else 0.0

    @property
    def growth(self) -> float | None:
        """How many times the period before (None when there were none then: new)."""
        return self.size / self.previous if self.previous else None

    @property
    def key(self) -> str:
        return " ".join(self.words)


@dataclass
class Grouping:
    clusters: list[Cluster]
    truncated_products: list[int]  # models grouped over their newest MAX_TICKETS_PER_PRODUCT tickets only


def _documents(session: Session, start: datetime, end: datetime, product_id=None):
    """(ticket id, product id, created_at, words) of the period's tickets with a product, newest first. The text
    is read only for tickets the similar-case index has no words for."""
    unindexed = TicketSearch.terms.is_(None)
    query = (select(Ticket.id, Ticket.product_id, Ticket.created_at, TicketSearch.terms,
                    case((unindexed, Ticket.subject)), case((unindexed, Ticket.description)))
             .outerjoin(TicketSearch, TicketSearch.ticket_id == Ticket.id)
             .where(Ticket.created_at >= start, Ticket.created_at < end, Ticket.product_id.is_not(None),
                    Ticket.status != st.CANCELLED, Ticket.duplicate_of_id.is_(None))
             .order_by(Ticket.id.desc()))
    if product_id is not None:
        query = query.where(Ticket.product_id == product_id)
    shared: dict[str, frozenset] = {}  # templated texts (IoT alarms, forms) give the same words: one set each
    for ticket_id, product, created_at, terms, subject, description in session.execute(query):
        if terms is not None:
            words = shared.get(terms)
            if words is None:
                words = shared[terms] = frozenset(terms.split())
        else:
            words = frozenset(tx.search_words(subject, description))
        yield ticket_id, product, created_at, words


def find(session: Session, *, start: datetime, end: datetime, product_id=None, min_size: int = 3) -> Grouping:
    """The recurring-problem groups of the period [start, end), all models or one, biggest first."""
    by_product: dict[int, list] = {}
    truncated = set()
    for doc in _documents(session, start, end, product_id):
        docs = by_product.setdefault(doc[1], [])
        if len(docs) < MAX_TICKETS_PER_PRODUCT:
            docs.append(doc)
        else:
            truncated.add(doc[1])
    clusters = []
    for product, docs in by_product.items():
        clusters += _group(product, docs, min_size)
    if clusters:
        _compare_with_before(session, clusters, start, end)
        _linked_problems(session, clusters, start, end)
    clusters.sort(key=lambda c: (-c.size, -(c.growth or float("inf")), c.product_id, c.key))
    return Grouping(clusters, sorted(truncated))


def cluster(session: Session, *, start: datetime, end: datetime, product_id: int, words: tuple[str, ...],
            min_size: int = 3) -> Cluster | None:
    """The group of that model named by those words, as `find` gives it now (None if it no longer is one)."""
    for found in find(session, start=start, end=end, product_id=product_id, min_size=min_size).clusters:
        if found.words == tuple(words):
            return found
    return None


def _group(product: int, docs: list, min_size: int) -> list[Cluster]:
    # Tickets with the same words always go together: the counting is done once per distinct set of words
    # ("shape"), weighted by how many tickets have it.
    shapes: dict[frozenset, list[int]] = {}
    for i, doc in enumerate(docs):
        shapes.setdefault(doc[3], []).append(i)
    df: dict[str, int] = {}
    for words, members in shapes.items():
        for w in words:
            df[w] = df.get(w, 0) + len(members)
    generic = GENERIC_SHARE * len(docs)
    useful = {w for w, n in df.items() if min_size <= n <= generic}
    shape_list = list(shapes.items())
    postings: dict[str, set[int]] = {}
    pairs: dict[tuple[str, str], int] = {}
    for k, (words, members) in enumerate(shape_list):
        kept = sorted((w for w in words if w in useful), key=lambda w: (-df[w], w))[:MAX_WORDS_PER_TICKET]
        for w in kept:
            postings.setdefault(w, set()).add(k)
        for pair in combinations(sorted(kept), 2):
            pairs[pair] = pairs.get(pair, 0) + len(members)
    ranked = sorted((p for p, n in pairs.items() if n >= min_size), key=lambda p: (-pairs[p], p))[:MAX_PAIRS]
    taken: set[int] = set()
    found = []
    for a, b in ranked:
        chosen = (postings[a] & postings[b]) - taken
        if sum(len(shape_list[k][1]) for k in chosen) < min_size:
            continue
        taken |= chosen
        found.append(_cluster(product, docs, [shape_list[k] for k in sorted(chosen)], (a, b), df, len(docs)))
    return found


def _cluster(product: int, docs: list, shapes: list, core: tuple[str, str], df: dict, total: int) -> Cluster:
    size = sum(len(members) for _, members in shapes)
    counts: dict[str, int] = {}
    for words, members in shapes:
        for w in words:
            counts[w] = counts.get(w, 0) + len(members)
    extra = sorted((w for w, n in counts.items()
                    if w not in core and n >= LABEL_SHARE * size and df[w] <= GENERIC_SHARE * total),
                   key=lambda w: (-counts[w], w))
    words = tuple(sorted(core, key=lambda w: (-counts[w], w))) + tuple(extra[:MAX_LABEL_WORDS - 2])
    members = sorted(i for _, indices in shapes for i in indices)  # docs are newest first
    times = [docs[i][2] for i in members]
    return Cluster(product_id=product, words=words, ticket_ids=[docs[i][0] for i in members],
                   first_at=min(times), last_at=max(times), product_tickets=total)


def _compare_with_before(session: Session, clusters: list[Cluster], start: datetime, end: datetime) -> None:
    before = start - (end - start)
    products = {c.product_id for c in clusters}
    only = next(iter(products)) if len(products) == 1 else None
    earlier: dict[int, dict[frozenset, int]] = {}  # product -> word set -> tickets
    for _, product, _, words in _documents(session, before, start, only):
        if product in products:
            shapes = earlier.setdefault(product, {})
            shapes[words] = shapes.get(words, 0) + 1
    for c in clusters:
        core = frozenset(c.words[:2])
        c.previous = sum(n for words, n in earlier.get(c.product_id, {}).items() if core <= words)


def _linked_problems(session: Session, clusters: list[Cluster], start: datetime, end: datetime) -> None:
    # Links are few: read the period's, rather than ask about every ticket of every group.
    owner = dict(session.execute(
        select(ProblemTicket.ticket_id, ProblemTicket.problem_id).join(Ticket, Ticket.id == ProblemTicket.ticket_id)
        .where(Ticket.created_at >= start, Ticket.created_at < end)).all())
    if not owner:
        return
    for c in clusters:
        for t in c.ticket_ids:
            if t in owner:
                c.problems[owner[t]] = c.problems.get(owner[t], 0) + 1


def product_names(session: Session, clusters: list[Cluster]) -> dict[int, Product]:
    ids = {c.product_id for c in clusters}
    return {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids)))} if ids else {}
