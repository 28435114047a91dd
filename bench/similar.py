"""Similar-case search and knowledge-base suggestions at volume.

    .venv/bin/python bench/similar.py --tickets 1000000
    .venv/bin/python bench/similar.py --tickets 1000000 --database-url postgresql://postgres@127.0.0.1:5432/bench

Creates a fresh database (drops the PostgreSQL schema it is given!) with N bulk tickets — the resolved and
closed ones indexed as the generator writes them — then prints:
- similar-case search (`similar.find`) for open tickets: the demo's problem texts, where every word is shared
  by tens of thousands of resolved tickets (the worst case: the recency bound does the work), and texts with
  rare words (a model code of their own), p50/p95 ms;
- the clerk's ticket page, which shows the three similar cases and the articles (p50/p95 ms, in process);
- knowledge-base suggestions over `--articles` published articles (p50/p95 ms);
- recurring-problem groups over the last 30 days, all models and one model (ms per run);
- indexing throughput: `--reindex` rows dropped and rebuilt by `flask search reindex` (tickets/s).
"""
import argparse
import os
import random
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.portal import report, timed  # noqa: E402
from bench.seed import demo_app  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--reindex", type=int, default=50_000)
    args = parser.parse_args()

    app, url = demo_app(args.database_url, "bench-similar-")
    from sqlalchemy import delete, func, select

    from app.extensions import db
    from app.models import Category, KbArticle, Product, Ticket, TicketSearch
    from app.services import demo, kb, recurring, similar
    from app.services import demo_data as D
    from app.timeutil import utcnow

    rng = random.Random(11)
    with app.app_context():
        session = db.session
        demo.bulk_tickets(session, args.tickets)
        products = session.scalars(select(Product)).all()
        categories = session.scalars(select(Category)).all()
        for i in range(args.articles):
            problem = rng.choice(D.PROBLEMS)
            article = KbArticle(title=f"{problem[3]}（{i}）", body=f"{problem[4]} 处理方法 {rng.randint(1, 10**6)}",
                                language="zh", categories=[rng.choice(categories)], products=[rng.choice(products)])
            kb.prepare(article)
            kb.publish(article, now=utcnow())
            session.add(article)
        session.commit()
        if url.startswith("postgresql"):
            session.execute(db.text("ANALYZE"))
            session.commit()
        indexed = session.scalar(select(func.count()).select_from(TicketSearch))
        print(f"{args.tickets:,} tickets ({indexed:,} resolved and indexed) in "
              f"{url.split('@')[-1] if '@' in url else 'SQLite'}")
        open_ids = session.scalars(select(Ticket.id).where(Ticket.resolved_at.is_(None)).limit(args.queries)).all()
        similar.find_for_text(session, "热身", now=utcnow())  # jieba loads its dictionary once per process

        def common():
            ticket = session.get(Ticket, rng.choice(open_ids))
            assert len(similar.find(session, ticket, now=utcnow())) == 3

        def rare():
            problem = rng.choice(D.PROBLEMS)
            similar.find_for_text(session, f"{problem[3]} 型号XQ{rng.randint(1, 10**6)} 报警", now=utcnow())

        def suggest():
            problem = rng.choice(D.PROBLEMS)
            kb.suggest(session, f"{problem[3]} {problem[4]}", language="zh", product_id=rng.choice(products).id)

        report("similar cases, common words", timed(common, args.queries))
        report("similar cases, with a rare word", timed(rare, args.queries))
        report(f"article suggestions ({args.articles} articles)", timed(suggest, args.queries))

        client = app.test_client()
        client.post("/login/", data={"username": "clerk", "password": "demo-clk-2026"})

        def page():
            assert client.get(f"/ticketview/show/{rng.choice(open_ids)}").status_code == 200

        report("ticket page with suggestions (clerk)", timed(page, min(args.queries, 200)))

        end = utcnow()
        start = end - timedelta(days=30)

        def groups_all():
            assert recurring.find(session, start=start, end=end).clusters

        def groups_one():
            recurring.find(session, start=start, end=end, product_id=products[0].id)

        report("recurring groups, 30 days, all models", timed(groups_all, 10))
        report("recurring groups, 30 days, one model", timed(groups_one, 10))

        drop = session.scalars(select(TicketSearch.ticket_id).order_by(TicketSearch.ticket_id.desc())
                               .limit(args.reindex)).all()
        session.execute(delete(TicketSearch).where(TicketSearch.ticket_id >= min(drop)))
        session.commit()
        started = time.perf_counter()
        done = similar.reindex(session)
        elapsed = time.perf_counter() - started
        print(f"{'reindex of missing rows':<44} {done:,} tickets in {elapsed:.1f} s — {done / elapsed:,.0f} tickets/s")


if __name__ == "__main__":
    main()
