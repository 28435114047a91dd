"""Bulk demo generation and the clerk's first pages at volume.

    .venv/bin/python bench/seed.py --tickets 1000000                                  # SQLite file
    .venv/bin/python bench/seed.py --tickets 1000000 --database-url postgresql://postgres@127.0.0.1:5432/bench

Creates a fresh database (drops the PostgreSQL schema it is given!), runs `init` and `demo seed`,
bulk-generates N tickets and prints tickets/s, times one scheduler tick (now, and 30 days on, when the
recent resolutions are due for auto-close), then times the ticket list and ticket pages as a clerk.
"""
import argparse
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def percentile(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def fresh_database(database_url, prefix):
    """A new instance folder and an empty database: SQLite inside it, or the PostgreSQL URL given,
    whose public schema is dropped."""
    instance = tempfile.mkdtemp(prefix=prefix)
    url = database_url or f"sqlite:///{instance}/bench.db"
    if url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    return instance, url


def demo_app(database_url, prefix, **environment):
    """A fresh database with the demo catalogue, and the app on it (the benches' common start)."""
    instance, url = fresh_database(database_url, prefix)
    os.environ.update(DATABASE_URL=url, INSTANCE_DIR=instance, ADMIN_PASSWORD="Bench-Root-2026",
                      SECRET_KEY="bench-secret-key-bench-secret-key", **environment)
    from app import create_app
    from config import _sqlalchemy_url

    # config.py reads the environment once, at import: a second world in the same process passes its own.
    app = create_app({"WTF_CSRF_ENABLED": False, "SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(url),
                      "INSTANCE_DIR": instance})
    runner = app.test_cli_runner()
    for command in (["init"], ["demo", "seed"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output
    return app, url


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    app, url = demo_app(args.database_url, "bench-")

    from app.extensions import db
    from app.models import Ticket
    from app.services import demo

    with app.app_context():
        started = time.perf_counter()
        rate = demo.bulk_tickets(db.session, args.tickets)
        elapsed = time.perf_counter() - started
        if url.startswith("postgresql"):
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        ids = [row[0] for row in db.session.execute(db.select(Ticket.id).order_by(Ticket.id.desc()).limit(5000))]
    dialect = url.split(":", 1)[0]
    print(f"database: {dialect}")
    print(f"bulk seed: {args.tickets:,} tickets in {elapsed:,.1f} s = {rate:,.0f} tickets/s")

    from datetime import timedelta

    from app.scheduler import tick
    from app.timeutil import utcnow

    for label, when in (("now", utcnow()), ("in 30 days", utcnow() + timedelta(days=30))):
        t0 = time.perf_counter()
        handled = tick(app, when)
        print(f"scheduler tick ({label}): {(time.perf_counter() - t0) * 1000:,.0f} ms, handled {handled}")

    client = app.test_client()
    client.post("/login/", data={"username": "clerk", "password": "demo-clk-2026"})
    rng = random.Random(1)
    pages = {
        "ticket list (default)": lambda: "/ticketview/list/",
        "ticket list, filtered by phone prefix": lambda: "/ticketview/list/?_flt_0_contact_phone=1380",
        "ticket page": lambda: f"/ticketview/show/{rng.choice(ids)}",
    }
    for name, make_url in pages.items():
        client.get(make_url())  # warm-up
        samples = []
        for _ in range(args.requests):
            t0 = time.perf_counter()
            response = client.get(make_url())
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.status_code
        print(f"{name}: p50 {statistics.median(samples):.0f} ms, p95 {percentile(samples, 0.95):.0f} ms "
              f"({args.requests} requests, concurrency 1)")


if __name__ == "__main__":
    main()
