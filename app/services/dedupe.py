"""The same problem reported twice: find the open ticket a new report belongs to.

Candidates are the open tickets of the same customer or the same device, of the same category, active
within the window. Two reports are compared word by word (jieba words, stop words dropped): the share of
the shorter report's words found in the other, where words closer than 85 % (rapidfuzz) count as the
same — 「漏水」 and 「漏水了」, "leak" and "leaking".
"""
from datetime import datetime, timedelta

from rapidfuzz import fuzz, process
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.models import Ticket
from app.services import status as st
from app.services import text as tx


def _same_owner(customer_id, asset_id) -> list:
    """Conditions for "this customer's or this device's tickets" (empty when neither is known)."""
    owner = []
    if customer_id is not None:
        owner.append(Ticket.customer_id == customer_id)
    if asset_id is not None:
        owner.append(Ticket.asset_id == asset_id)
    return owner


def similarity(a: str, b: str) -> int:
    """0–100."""
    wa, wb = set(tx.content_words(a)), set(tx.content_words(b))
    if not wa or not wb:
        return 0
    short, long_ = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    long_list = list(long_)
    shared = sum(1 for w in short if w in long_ or process.extractOne(w, long_list, scorer=fuzz.ratio,
                                                                      score_cutoff=85) is not None)
    return round(100 * shared / len(short))


def find_duplicate(session: Session, *, customer_id, asset_id, category_id, text: str, now: datetime,
                   window_hours: int, threshold: int) -> tuple[Ticket | None, int]:
    """The best matching open ticket and its similarity, or (None, best score seen)."""
    owner = _same_owner(customer_id, asset_id)
    if category_id is None or not owner:
        return None, 0
    since = now - timedelta(hours=window_hours)
    candidates = session.scalars(
        select(Ticket).where(
            or_(*owner), Ticket.category_id == category_id, Ticket.status.in_(st.OPEN_STATUSES),
            Ticket.duplicate_of_id.is_(None),
            func.coalesce(Ticket.last_reported_at, Ticket.created_at) >= since,
        ).order_by(Ticket.created_at.desc()).limit(20)
    ).all()
    best, best_score = None, 0
    for ticket in candidates:
        score = similarity(text, f"{ticket.subject}\n{ticket.description or ''}")
        if score > best_score:
            best, best_score = ticket, score
    if best is not None and best_score >= threshold:
        return best, best_score
    return None, best_score


def recent_reports(session: Session, *, customer_id, asset_id, now: datetime, days: int) -> int:
    """Earlier tickets of this customer or device in the last `days` days (any status)."""
    owner = _same_owner(customer_id, asset_id)
    if not owner:
        return 0
    return session.scalar(select(func.count()).select_from(Ticket).where(
        or_(*owner), Ticket.created_at >= now - timedelta(days=days), Ticket.created_at <= now))
