"""Dispatch decision time with 2,000 engineers and 1M tickets of which about 100k are open.

    .venv/bin/python bench/assign.py
    .venv/bin/python bench/assign.py --database-url postgresql://postgres@127.0.0.1:5432/bench

Creates a fresh database (drops the PostgreSQL schema it is given!): the demo catalogue, 2,000 engineers
spread over the demo's districts with random skills, then 1M tickets handed out among them — most of a year
old and closed, the last week's mostly open. Reports: the full load recount, `decide()` (the read-only
decision) for open tickets, and `dispatch()` + commit for new ones.
"""
import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.seed import demo_app, percentile  # noqa: E402


def add_engineers(session, count, rng):
    from sqlalchemy import select

    from app.models import Engineer, ServiceRegion, Skill, Team, Warehouse

    districts = session.scalars(select(ServiceRegion).where(ServiceRegion.level == "district")).all()
    skills = session.scalars(select(Skill)).all()
    teams = session.scalars(select(Team).where(Team.code != "remote_support")).all()
    warehouses = session.scalars(select(Warehouse)).all()
    service = [s for s in skills if s.code in ("installation", "hardware_repair")]
    lines = [s for s in skills if s not in service and s.code != "software_guidance"]
    for i in range(count):
        covered = rng.sample(districts, rng.choice([1, 1, 2]))
        session.add(Engineer(
            # ~50 open tickets each (100k open over 2,000 engineers): capacities around that, so that
            # some are full and some have room, as in a busy season.
            name=f"工程师{i:04d}", team=rng.choice(teams), capacity=rng.randint(40, 80),
            skills=rng.sample(service, rng.choice([1, 2])) + rng.sample(lines, rng.choice([2, 3])),
            regions=covered, warehouse=rng.choice(warehouses),
            base_latitude=31 + rng.uniform(-8, 9), base_longitude=116 + rng.uniform(-3, 5)))
    session.commit()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--open-share", type=float, default=0.13,
                        help="share of tickets created in the last week (about 78%% of those are open)")
    parser.add_argument("--engineers", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--decisions", type=int, default=1000)
    args = parser.parse_args()

    app, url = demo_app(args.database_url, "bench-assign-")

    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Engineer, Ticket
    from app.services import assign, demo, load, tickets
    from app.services import status as st
    from app.timeutil import utcnow

    rng = random.Random(11)
    with app.app_context():
        session = db.session
        add_engineers(session, args.engineers, rng)
        recent = int(args.tickets * args.open_share)
        demo.bulk_tickets(session, args.tickets - recent, random_seed=2)
        demo.bulk_tickets(session, recent, random_seed=3, days=7)
        if url.startswith("postgresql"):
            session.execute(db.text("ANALYZE"))
        session.commit()
        t0 = time.perf_counter()
        load.recount(session)
        session.commit()
        recount_ms = (time.perf_counter() - t0) * 1000
        open_count = session.scalar(select(func.count(Ticket.id)).where(Ticket.status.in_(sorted(st.OPEN_STATUSES))))
        engineers = session.scalar(select(func.count(Engineer.id)))
        print(f"database: {url.split(':', 1)[0]}, {engineers:,} engineers, "
              f"{session.scalar(select(func.count(Ticket.id))):,} tickets, {open_count:,} open")
        print(f"full load recount (every engineer): {recount_ms:,.0f} ms")

        now = utcnow()
        ids = session.scalars(select(Ticket.id).where(Ticket.status.in_(sorted(st.OPEN_STATUSES)))
                              .order_by(func.random()).limit(args.decisions)).all()
        samples, candidates, pooled = [], [], []
        for ticket_id in ids:
            ticket = session.get(Ticket, ticket_id)
            t0 = time.perf_counter()
            outcome = assign.decide(session, ticket, now=now)
            elapsed = (time.perf_counter() - t0) * 1000
            (samples if outcome.chosen else pooled).append(elapsed)
            candidates.append(len(outcome.candidates))
            session.rollback()  # read-only: nothing to keep, and a fresh identity map each time
        print(f"decide() on {len(samples)} open tickets with a candidate: p50 {percentile(samples, 0.5):.1f} ms, "
              f"p95 {percentile(samples, 0.95):.1f} ms (candidates per ticket: median "
              f"{percentile(candidates, 0.5)}, max {max(candidates)})")
        if pooled:
            print(f"decide() on {len(pooled)} with nobody (pool, with the reason counted): "
                  f"p50 {percentile(pooled, 0.5):.1f} ms, p95 {percentile(pooled, 0.95):.1f} ms")
        every = samples + pooled
        print(f"decide() on all {len(every)}: p50 {percentile(every, 0.5):.1f} ms, "
              f"p95 {percentile(every, 0.95):.1f} ms")

        samples = []
        for _ in range(200):
            like = session.get(Ticket, rng.choice(ids))  # a new report like one of the open ones
            ticket, _ = tickets.create_ticket(
                session, channel="phone", subject=like.subject, now=now, customer=like.customer,
                asset=like.asset, product=like.product, service_type=like.service_type, priority=like.priority)
            session.commit()
            t0 = time.perf_counter()
            assign.dispatch(session, ticket, now=now)
            session.commit()
            samples.append((time.perf_counter() - t0) * 1000)
        print(f"dispatch() + commit on 200 new tickets: p50 {percentile(samples, 0.5):.1f} ms, "
              f"p95 {percentile(samples, 0.95):.1f} ms")


if __name__ == "__main__":
    main()
