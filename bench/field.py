"""Field service at volume: the engineer's list, reserving parts, and the maintenance job over many devices.

    .venv/bin/python bench/field.py --tickets 1000000 --devices 200000
    .venv/bin/python bench/field.py --tickets 1000000 --devices 200000 --database-url postgresql://postgres@127.0.0.1:5432/bench

Creates a fresh database (drops the PostgreSQL schema it is given!) with N bulk tickets, then times:
- the engineer's workspace list (`my_work`, by deadline and by distance) for the busiest engineer;
- reserving a part for a ticket and committing (`need_and_reserve`), p50/p95, and reservations/s;
- the `maintenance_plans` job over `--devices` devices of one product: the run with nothing due, and a
  run that makes `--due` tickets.
"""
import argparse
import os
import statistics
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.seed import demo_app, percentile  # noqa: E402


def report(name: str, samples: list[float]) -> None:
    print(f"{name:<48} p50 {statistics.median(samples):7.2f} ms   p95 {percentile(samples, 0.95):7.2f} ms")


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--devices", type=int, default=200_000)
    parser.add_argument("--due", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    app, url = demo_app(args.database_url, "bench-field-")
    from sqlalchemy import func, insert, select

    from app.extensions import db
    from app.models import Asset, Engineer, MaintenancePlan, Product, SparePart, Stock, Ticket, Warehouse
    from app.services import demo, field, inventory, maintenance
    from app.services import status as st
    from app.timeutil import to_local, utcnow

    with app.app_context():
        s = db.session
        demo.bulk_tickets(s, args.tickets)
        now = utcnow()
        print(f"{args.tickets:,} tickets in {url.split('@')[-1] if '@' in url else 'SQLite'}")

        busiest_id, open_count = s.execute(
            select(Ticket.assignee_id, func.count()).where(Ticket.status.in_(sorted(st.OPEN_STATUSES)),
                                                           Ticket.assignee_id.is_not(None))
            .group_by(Ticket.assignee_id).order_by(func.count().desc()).limit(1)).one()
        engineer = s.get(Engineer, busiest_id)
        report(f"my work by deadline ({open_count:,} open tickets)",
               timed(lambda: field.my_work(s, engineer, now=now), 30))
        report("my work by distance", timed(lambda: field.my_work(s, engineer, now=now, order="distance"), 30))

        part = SparePart(sku="BENCH-PART", name_zh="压测配件", name_en="Bench part", price=10)
        s.add(part)
        s.flush()
        for warehouse in s.scalars(select(Warehouse)):
            s.add(Stock(warehouse=warehouse, part=part, on_hand=100_000, reserved=0))
        s.commit()
        open_ids = s.scalars(select(Ticket.id).where(Ticket.status == st.IN_PROGRESS).limit(300)).all()
        queue = iter(open_ids)

        def reserve():
            ticket = s.get(Ticket, next(queue))
            inventory.need_and_reserve(s, ticket, part, 1, now=now)
            s.commit()

        samples = timed(reserve, len(open_ids))
        report("reserve a part + commit", samples)
        print(f"{'reservations/s, one process':<48} {1000 / statistics.mean(samples):,.0f}")

        product = s.scalar(select(Product).limit(1))
        plan = MaintenancePlan(code="bench-plan", name_zh="压测保养", name_en="Bench plan", product=product,
                               interval_days=180, lead_days=7)
        s.add(plan)
        today = to_local(now, "Asia/Shanghai").date()
        rows = [{"serial_number": f"BENCH-{i:08d}", "product_id": product.id,
                 "install_date": today - timedelta(days=i % 170), "created_at": now, "updated_at": now}
                for i in range(args.devices - args.due)]
        rows += [{"serial_number": f"BENCH-DUE-{i:06d}", "product_id": product.id,
                  "install_date": today - timedelta(days=175), "created_at": now, "updated_at": now}
                 for i in range(args.due)]
        for start in range(0, len(rows), 20_000):
            s.execute(insert(Asset), rows[start:start + 20_000])
        s.commit()
        if url.startswith("postgresql"):
            s.execute(db.text("ANALYZE"))
            s.commit()
        started = time.perf_counter()
        made = maintenance.run_due(s, now=now, batch=args.due + 100)
        elapsed = time.perf_counter() - started
        # The demo's own devices of that product are in the plan too: a few more tickets than --due.
        print(f"{f'maintenance run over {args.devices:,} devices':<48} {made:,} tickets in {elapsed:.2f} s")
        idle = timed(lambda: maintenance.run_due(s, now=now), 5)
        report("maintenance run, nothing due", idle)


if __name__ == "__main__":
    main()
