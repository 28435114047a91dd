from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from app.extensions import db
from app.services import numbering
from tests.helpers import new_ticket


def test_number_is_local_date_plus_daily_sequence(session):
    # 2026-11-22 17:30 UTC is already the 23rd in Shanghai.
    late = new_ticket(session, now=datetime(2026, 11, 22, 17, 30))
    assert late.number.startswith("SR20261123-")
    a = new_ticket(session, now=datetime(2030, 1, 5, 1, 0))
    b = new_ticket(session, now=datetime(2030, 1, 5, 2, 0))
    assert (a.number, b.number) == ("SR20300105-000001", "SR20300105-000002")
    c = new_ticket(session, now=datetime(2030, 1, 6, 1, 0))
    assert c.number == "SR20300106-000001"
    assert sorted([c.number, b.number, a.number]) == [a.number, b.number, c.number]


def test_reserve_hands_out_consecutive_blocks(session):
    day = date(2031, 3, 1)
    assert list(numbering.reserve(session, day, 3)) == [1, 2, 3]
    assert list(numbering.reserve(session, day, 2)) == [4, 5]
    session.rollback()


@pytest.mark.postgres_only
def test_concurrent_reservations_never_collide(app):
    """SQLite serialises writers; the race is real only on PostgreSQL."""
    day = date(2032, 6, 1)

    def grab(_):
        with app.app_context(), Session(db.engine) as s:
            got = list(numbering.reserve(s, day, 5))
            s.commit()
            return got

    with ThreadPoolExecutor(max_workers=8) as pool:
        blocks = list(pool.map(grab, range(40)))
    numbers = [n for block in blocks for n in block]
    assert sorted(numbers) == list(range(1, 201))
