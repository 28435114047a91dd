"""The customer portal and the satisfaction loop at volume.

    .venv/bin/python bench/portal.py --tickets 1000000
    .venv/bin/python bench/portal.py --tickets 1000000 --database-url postgresql://postgres@127.0.0.1:5432/bench

Creates a fresh database (drops the PostgreSQL schema it is given!) with N bulk tickets, then, in process
through the WSGI app (no network):
- look-ups by number + phone: right phone, wrong phone, missing number — p50/p95 ms each, and how far apart
  the wrong and the missing answers are (they must not be told apart by their time);
- the ticket page opened from a signed link, and a request submitted through the portal (p50/p95 ms);
- the scheduler's survey run: `--surveys` due surveys sent (surveys/s), and the run with nothing due.
Rate limits are lifted for the run (they would stop a benchmark, which is their job).
"""
import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.seed import demo_app, percentile  # noqa: E402

UNLIMITED = {name: "1000000 per second" for name in (
    "PORTAL_SUBMIT_LIMIT", "PORTAL_TRACK_LIMIT", "PORTAL_NUMBER_LIMIT", "PORTAL_ACTION_LIMIT")}


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def report(name: str, samples: list[float]) -> None:
    print(f"{name:<44} p50 {statistics.median(samples):7.2f} ms   p95 {percentile(samples, 0.95):7.2f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--surveys", type=int, default=2000)
    args = parser.parse_args()

    app, url = demo_app(args.database_url, "bench-portal-", **UNLIMITED)
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.models import Survey, Ticket
    from app.services import demo, satisfaction, tracking
    from app.services import status as st
    from app.timeutil import utcnow

    with app.app_context():
        demo.bulk_tickets(db.session, args.tickets)
        if url.startswith("postgresql"):
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        top = db.session.scalar(select(db.func.max(Ticket.id)))
        rng = random.Random(7)
        sample = db.session.execute(select(Ticket.id, Ticket.number, Ticket.contact_phone)
                                    .where(Ticket.id.in_([rng.randint(1, top) for _ in range(args.requests * 2)]),
                                           Ticket.contact_phone.is_not(None))).all()
        print(f"{args.tickets:,} tickets in {url.split('@')[-1] if '@' in url else 'SQLite'}")

    client = app.test_client()
    picks = iter(sample * 3)

    def right():
        _id, number, phone = next(picks)
        assert client.post("/portal/track", data={"number": number, "contact": phone}).status_code == 303

    def wrong():
        _id, number, phone = next(picks)
        assert client.post("/portal/track", data={"number": number, "contact": "13000000000"}).status_code == 200

    def missing():
        _id, number, phone = next(picks)
        assert client.post("/portal/track", data={"number": number[:-6] + "999999", "contact": phone}).status_code == 200

    for fn in (right, wrong, missing):  # warm the caches and the connection pool
        timed(fn, 5)
    samples = {"right": [], "wrong": [], "missing": []}
    for _ in range(args.requests // 10):  # interleaved, so drift in the machine hits all three alike
        for name, fn in (("right", right), ("wrong", wrong), ("missing", missing)):
            samples[name] += timed(fn, 10)
    report("look-up, right number and phone", samples["right"])
    report("look-up, wrong phone", samples["wrong"])
    report("look-up, missing number", samples["missing"])
    gap = statistics.median(samples["wrong"]) - statistics.median(samples["missing"])
    print(f"{'wrong phone minus missing number (p50)':<44} {gap:+.2f} ms")

    secret = app.config["SECRET_KEY"]
    links = ["/portal/t/" + tracking.sign(row[0], secret) for row in sample]
    pages = iter(links * 3)
    report("ticket page from a signed link", timed(lambda: client.get(next(pages)).status_code, args.requests))

    counter = iter(range(10**9))

    def submit():
        i = next(counter)
        response = client.post("/portal/submit", data={
            "name": "压测客户", "phone": f"1350000{i % 10000:04d}", "description": f"热水器不出热水 {i}",
            "form_key": f"bench-{i}"}, content_type="multipart/form-data")
        assert response.status_code == 303, response.status_code

    submits = timed(submit, min(args.requests, 200))
    report("submit a request (intake included)", submits)

    with app.app_context():
        now = utcnow()
        surveyed = select(Survey.id).where(Survey.ticket_id == Ticket.id).exists()
        due = db.session.scalars(select(Ticket.id).where(Ticket.status == st.CLOSED, ~surveyed)
                                 .limit(args.surveys)).all()
        db.session.execute(insert(Survey), [
            {"ticket_id": tid, "round": 1, "state": "pending", "resolved_at": now - timedelta(hours=3),
             "due_at": now - timedelta(hours=1), "created_at": now} for tid in due])
        db.session.commit()
        started = time.perf_counter()
        sent = satisfaction.send_due_surveys(db.session, now=now)
        elapsed = time.perf_counter() - started
        print(f"{'survey run':<44} {sent:,} surveys in {elapsed:.2f} s = {sent / elapsed:,.0f} surveys/s")
        idle = timed(lambda: satisfaction.send_due_surveys(db.session, now=now), 20)
        report("survey run with nothing due", idle)


if __name__ == "__main__":
    main()
