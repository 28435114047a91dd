"""The rule simulator (规则试算) at volume: how long a preview of a draft rule or draft weights takes.

    .venv/bin/python bench/simulate.py --tickets 1000000
    .venv/bin/python bench/simulate.py --tickets 1000000 --database-url postgresql://postgres@127.0.0.1:5432/bench_sim

Creates a fresh database (drops the PostgreSQL schema it is given!): the demo catalogue, 2,000 more engineers
(as bench/assign.py), N bulk tickets over a year. The bulk generator writes no intake decision, so the last
90 days' tickets are given the `classified` timeline event intake writes (without its recorded facts, like
tickets from before it recorded them) and a description of their own — the generator's dozen texts would
otherwise be cut once and then served from the tokenizer's cache, which real reports are not.

Prints, for 7 and 30 days: tickets in the period, replayed, changed, the preview's time, and tickets
replayed per second — first uncapped (the whole period: what decides the caps), then as the console runs it
(capped at app.services.simulate.RULES_CAP / DISPATCH_CAP).
"""
import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.assign import add_engineers  # noqa: E402
from bench.seed import demo_app  # noqa: E402


def mark_as_intake(session, days: int, now) -> int:
    """Give the period's bulk tickets what intake leaves behind: a `classified` event, and texts of their own."""
    from datetime import timedelta

    from sqlalchemy import func, insert, select, update

    from app.models import Ticket, TicketEvent
    from app.services import demo

    since = now - timedelta(days=days)
    rows = session.execute(select(Ticket.id, Ticket.created_at).where(Ticket.created_at >= since)).all()
    events = [{"ticket_id": ticket_id, "kind": "classified", "created_at": created_at, "actor_user_id": None,
               "reason": None, "data": {"reasons": [{"code": "sentiment", "score": 0.0}]}}
              for ticket_id, created_at in rows]
    if session.get_bind().dialect.name == "postgresql":
        demo._copy(session, TicketEvent.__table__, events)
    else:
        session.execute(insert(TicketEvent.__table__), events)
    tail = func.coalesce(Ticket.contact_name, "") + "来电，工单" + Ticket.number
    session.execute(update(Ticket).where(Ticket.created_at >= since)
                    .values(description=Ticket.description + "（" + tail + "）")
                    .execution_options(synchronize_session=False))
    session.commit()
    return len(rows)


def run(label, preview, *, cap=None):
    from app.services import simulate

    saved = simulate.RULES_CAP, simulate.DISPATCH_CAP
    if cap is not None:
        simulate.RULES_CAP = simulate.DISPATCH_CAP = cap
    try:
        result = preview()
    finally:
        simulate.RULES_CAP, simulate.DISPATCH_CAP = saved
    changed = ", ".join(f"{name} {count:,}" for name, count in result.changed.items())
    rate = result.replayed / result.seconds if result.seconds else float("inf")
    print(f"{label:<40} {result.days:>2} days: {result.in_period:>7,} in period, {result.replayed:>7,} replayed"
          f"{' (capped)' if result.capped else ''}, changed {result.changed_tickets:,} ({changed}): "
          f"{result.seconds:6.2f} s = {rate:,.0f} tickets/s")
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--engineers", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    app, url = demo_app(args.database_url, "bench-simulate-")

    from sqlalchemy import select

    from app.extensions import db
    from app.models import ClassificationRule, Priority
    from app.services import demo, rules, simulate
    from app.services import text as tx
    from app.timeutil import utcnow

    with app.app_context():
        session = db.session
        add_engineers(session, args.engineers, random.Random(11))
        started = time.perf_counter()
        demo.bulk_tickets(session, args.tickets)
        now = utcnow()
        marked = mark_as_intake(session, 90, now)
        if url.startswith("postgresql"):
            session.execute(db.text("ANALYZE"))
            session.commit()
        print(f"{args.tickets:,} tickets ({marked:,} of the last 90 days marked as intake's) in "
              f"{url.split('@')[-1] if '@' in url else 'SQLite'}, set up in {time.perf_counter() - started:,.0f} s")

        urgent, low = (session.scalar(select(Priority).where(Priority.code == code)) for code in ("urgent", "low"))
        fault = session.scalar(select(ClassificationRule).where(ClassificationRule.code == "fault"))
        # An edit: general faults become low priority (changes many tickets' priority).
        edited = ClassificationRule(**{c.key: getattr(fault, c.key) for c in ClassificationRule.__table__.columns
                                       if c.key not in ("id", "code")})
        edited.priority_id = low.id
        # The worst case: a rule without a word to look for (here: every phone report one level up) must
        # classify every report twice.
        broad = ClassificationRule(name="电话加急 Phone reports up", position=90, active=True, stop=False,
                                   all_keywords=False, channels="phone", raise_priority=1, confidence=0.9)
        # A new rule with a word jieba does not know yet (the private tokenizer's path).
        new = ClassificationRule(name="电话报修 Phone reports", position=5, active=True, stop=False,
                                 all_keywords=False, keywords="水温不稳定, 外机不转", raise_priority=0, confidence=0.9,
                                 priority_id=urgent.id)
        weights = rules.current(session).dispatch
        far_is_fine = rules.DispatchWeights(**{**weights.__dict__, "weight_distance": 0.0, "weight_load": 1.0})

        rules.current(session)  # a web worker has its rules compiled and jieba's dictionary loaded
        tx.words("热水器")
        for days in (7, 30):
            for cap, how in ((10**9, "uncapped"), (None, "as the console runs it")):
                run(f"rule edit, {how}", lambda: simulate.preview_rules(
                    session, edited, days=days, now=now, replacing_id=fault.id), cap=cap)
                run(f"new rule with new words, {how}", lambda: simulate.preview_rules(
                    session, new, days=days, now=now), cap=cap)
                run(f"new rule without words, {how}", lambda: simulate.preview_rules(
                    session, broad, days=days, now=now), cap=cap)
                run(f"dispatch weights, {how}", lambda: simulate.preview_dispatch(
                    session, far_is_fine, days=days, now=now), cap=cap)
                session.rollback()


if __name__ == "__main__":
    main()
