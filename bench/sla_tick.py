"""One SLA scheduler tick: does its time depend on the due work only, not on how many tickets are open?

    .venv/bin/python bench/sla_tick.py
    .venv/bin/python bench/sla_tick.py --database-url postgresql://postgres@127.0.0.1:5432/bench

Creates fresh databases (drops the PostgreSQL schema it is given!) and times one tick of the `sla_steps`
job in two worlds: 1,000,000 open tickets of which 10,000 are due (the rest are checked later), and
10,000 open tickets, all due. Each due ticket is an urgent one whose first 50 % reminder has come: the tick
works out its clock from the policy, records the step, the timeline event and the notification request.
Target: each tick under 5 s, the two within 1.3× of each other (due work is found through the indexed
next-check time, never by scanning open tickets).
"""
import argparse
import os
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.seed import demo_app  # noqa: E402


def open_tickets(session, *, total: int, due: int, now, chunk: int = 20_000) -> None:
    """`total` open, accepted urgent tickets; `due` of them reached their 50 % reminder a minute ago."""
    from sqlalchemy import case, insert, literal, select

    from app.models import Engineer, Priority, ServiceType, SlaCheck, Ticket
    from app.services import demo

    urgent = session.scalar(select(Priority.id).where(Priority.code == "urgent"))
    remote = session.scalar(select(ServiceType.id).where(ServiceType.code == "software_guidance"))
    engineers = session.execute(select(Engineer.id, Engineer.team_id)).all()
    postgres = session.get_bind().dialect.name == "postgresql"
    for start in range(0, total, chunk):
        rows = []
        for i in range(start, min(total, start + chunk)):
            is_due = i < due
            # Urgent = 8 h to resolve on the 24×7 calendar: the 50 % reminder falls 4 h after creation.
            created = now - timedelta(hours=4, minutes=1) if is_due else now - timedelta(minutes=5)
            engineer_id, team_id = engineers[i % len(engineers)]
            rows.append({
                "number": f"BENCH{i:08d}", "channel": "phone", "status": "accepted", "subject": "热水器不出热水",
                "priority_id": urgent, "service_type_id": remote, "assignee_id": engineer_id, "team_id": team_id,
                "created_at": created, "updated_at": created, "responded_at": created,
                "sla_due_at": created + timedelta(hours=8), "version": 1, "escalation_level": 0,
                "assignment_round": 1, "report_count": 1, "needs_review": False,
            })
        if postgres:
            demo._copy(session, Ticket.__table__, rows)
        else:
            session.execute(insert(Ticket.__table__), rows)
        # The next check: due a minute ago, or later (the others' 50 % point is still to come).
        session.execute(insert(SlaCheck).from_select(["ticket_id", "next_at"], select(
            Ticket.id, case((Ticket.created_at < now - timedelta(hours=4), literal(now - timedelta(minutes=1))),
                            else_=literal(now + timedelta(minutes=10)))).where(
            Ticket.number.in_([r["number"] for r in rows]))))
        session.commit()
        print(f"  {min(total, start + chunk):,} / {total:,} tickets", end="\r", flush=True)
    print()
    if postgres:
        session.execute(__import__("sqlalchemy").text("ANALYZE"))
        session.commit()


def one_world(database_url, *, total: int, due: int) -> dict:
    from sqlalchemy import func, select

    app, url = demo_app(database_url, "bench-sla-")
    from app.extensions import db
    from app.models import SlaStep
    from app.services import escalate
    from app.timeutil import utcnow

    with app.app_context():
        now = utcnow().replace(microsecond=0)
        escalate.run_due(db.session, now=now)  # the demo's own tickets first
        steps_before = db.session.scalar(select(func.count(SlaStep.id)))
        started = time.perf_counter()
        open_tickets(db.session, total=total, due=due, now=now)
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        taken = escalate.run_due(db.session, now=now)
        tick = time.perf_counter() - started
        steps = db.session.scalar(select(func.count(SlaStep.id))) - steps_before
        assert taken == steps == due, (taken, steps, due)
        started = time.perf_counter()
        idle = escalate.run_due(db.session, now=now)  # nothing left: the cost of a tick with no work
        idle_time = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return {"dialect": url.split(":", 1)[0], "total": total, "due": due, "seed_s": seeded, "tick_s": tick,
            "idle_s": idle_time, "idle_steps": idle}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    big = one_world(args.database_url, total=args.open, due=args.due)
    small = one_world(args.database_url, total=args.due, due=args.due)
    print(f"database: {big['dialect']}")
    for world in (big, small):
        print(f"{world['total']:>9,} open, {world['due']:,} due: one tick {world['tick_s']:.2f} s "
              f"({world['due'] / world['tick_s']:,.0f} steps/s); "
              f"next tick with nothing due {world['idle_s'] * 1000:.0f} ms"
              f"  [seeded in {world['seed_s']:.0f} s]")
    ratio = big["tick_s"] / small["tick_s"]
    print(f"ratio big/small: {ratio:.2f}× (target ≤ 1.3×); slowest tick {max(big['tick_s'], small['tick_s']):.2f} s "
          f"(target < 5 s)")


if __name__ == "__main__":
    main()
