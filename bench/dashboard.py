"""The dashboards (报表) at volume: p50 / p95 of every chart's query and of the whole page.

    .venv/bin/python bench/dashboard.py --tickets 1000000                                  # SQLite file
    .venv/bin/python bench/dashboard.py --tickets 1000000 --database-url postgresql://postgres@127.0.0.1:5432/bench_dash

Creates a fresh database (drops the PostgreSQL schema it is given!), runs `init` and `demo seed`, bulk-generates N
tickets over the last year, then adds what the bulk generator leaves out and the dashboards read: SLA deadlines
(each priority's promise in wall-clock hours, so some are met and some breached), a second resolution round for
one resolved ticket in eleven, ratings for a third of the closed tickets with low-score cases for the poor ones,
weekly shifts for the engineers and a hands-on stretch for every resolved ticket. PostgreSQL is then vacuumed and
analysed (what autovacuum does on a live system).

Times each chart's query for the last 30 and the last 365 days, for all teams and for one team, then the requests a
manager's browser makes (in process, through the WSGI app): the page's frame and each query's figures (the page asks
for them all at once and draws each chart as it comes; bench/scale.py times the whole page over HTTP), and two
charts' Excel exports.
`--instance DIR` keeps the SQLite file there and `--reuse` measures an existing one again without seeding.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.seed import demo_app, percentile  # noqa: E402

# Wall-clock promises for the bench's deadlines (hours): respond, resolve.
PROMISES = {"urgent": (0.5, 8), "high": (2, 24), "medium": (4, 48), "low": (24, 120)}
CAUSES = ("attitude", "skill", "process", "product", "other")


def _plus_hours(dialect, column, hours_sql):
    if dialect == "postgresql":
        return f"{column} + ({hours_sql}) * INTERVAL '1 hour'"
    return f"datetime({column}, printf('%+d minutes', CAST(({hours_sql}) * 60 AS INTEGER)))"


def enrich(session):
    """What the bulk generator leaves out and the dashboards read, written with set-based statements."""
    from datetime import time as clock

    from sqlalchemy import text

    from app.models import EngineerShift
    from app.services import status as st

    dialect = session.get_bind().dialect.name
    priorities = dict(session.execute(text("SELECT code, id FROM priority")).all())
    for code, (respond, resolve) in PROMISES.items():
        if code not in priorities:
            continue
        session.execute(text(
            f"UPDATE ticket SET first_response_due_at = {_plus_hours(dialect, 'created_at', respond)}, "
            f"resolution_due_at = {_plus_hours(dialect, 'created_at', resolve)} WHERE priority_id = :p"),
            {"p": priorities[code]})
    session.execute(text("UPDATE ticket SET resolution_round = 2 WHERE resolution_round = 1 AND id % 11 = 0"))
    score = ("CASE WHEN id % 20 = 0 THEN 1 WHEN id % 20 = 3 THEN 2 WHEN id % 20 IN (6, 9) THEN 3 "
             "WHEN id % 20 IN (1, 4, 7, 10, 13) THEN 4 ELSE 5 END")
    session.execute(text(
        "INSERT INTO survey (ticket_id, round, state, resolved_at, due_at, sent_at, score, rated_at, rated_via, "
        f"created_at) SELECT id, resolution_round, 'rated', resolved_at, {_plus_hours(dialect, 'resolved_at', 2)}, "
        f"{_plus_hours(dialect, 'resolved_at', 2)}, {score}, {_plus_hours(dialect, 'resolved_at', 5)}, 'portal', "
        f"resolved_at FROM ticket WHERE status = '{st.CLOSED}' AND id % 3 = 0 "
        "AND id NOT IN (SELECT ticket_id FROM survey)"))  # the demo's own tickets were rated already
    cause = "CASE t.id % 5 " + " ".join(f"WHEN {i} THEN '{c}'" for i, c in enumerate(CAUSES)) + " END"
    session.execute(text(
        "INSERT INTO low_score_review (ticket_id, round, trigger, score, team_id, engineer_id, state, root_cause, "
        "created_at) SELECT s.ticket_id, s.round, 'low_rating', s.score, t.team_id, t.assignee_id, "
        f"CASE WHEN t.id % 7 = 0 THEN 'open' ELSE 'done' END, CASE WHEN t.id % 7 = 0 THEN NULL ELSE {cause} END, "
        "s.rated_at FROM survey s JOIN ticket t ON t.id = s.ticket_id WHERE s.score <= 2 "
        "AND s.ticket_id NOT IN (SELECT ticket_id FROM low_score_review)"))
    # Hands-on work: one to four hours before each resolution; in-progress tickets are being worked on now.
    session.execute(text(
        "INSERT INTO work_stretch (ticket_id, engineer_id, started_at, ended_at, seconds) "
        f"SELECT id, assignee_id, {_plus_hours(dialect, 'resolved_at', '-1 - id % 4')}, resolved_at, "
        "(1 + id % 4) * 3600 FROM ticket WHERE resolved_at IS NOT NULL AND assignee_id IS NOT NULL"))
    session.execute(text(
        "INSERT INTO work_stretch (ticket_id, engineer_id, started_at, ended_at) "
        f"SELECT id, assignee_id, updated_at, NULL FROM ticket WHERE status = '{st.IN_PROGRESS}'"))
    for engineer_id in session.scalars(text("SELECT id FROM engineer")).all():
        for weekday in range(6):
            session.add(EngineerShift(engineer_id=engineer_id, weekday=weekday, starts=clock(8, 30),
                                      ends=clock(17, 30)))
    session.commit()


def timed(function, repeat):
    function()  # warm-up: plans and caches, as on a live system
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        function()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), percentile(samples, 0.95)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--instance", default=None, help="keep the SQLite database in this folder")
    parser.add_argument("--reuse", action="store_true", help="measure the existing database again, no seeding")
    args = parser.parse_args()

    if args.reuse:
        app, url = _existing_app(args)
    else:
        if args.instance and not args.database_url:
            os.makedirs(args.instance, exist_ok=True)
            path = os.path.join(args.instance, "bench.db")
            if os.path.exists(path):
                os.remove(path)
            args.database_url = f"sqlite:///{path}"
        app, url = demo_app(args.database_url, "bench-dash-")
        _seed(app, url, args.tickets)

    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Team, Ticket
    from app.services import analytics
    from app.timeutil import utcnow

    dialect = url.split(":", 1)[0]
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Ticket))
        team_id = db.session.scalar(select(Team.id).order_by(Team.id))
    print(f"database: {dialect}, {total:,} tickets")
    tz = app.config["TIMEZONE"]
    now = utcnow()
    scopes = {}
    for days in (30, 365):
        first, last = analytics.default_period(now, tz, days)
        scopes[f"{days} d, all teams"] = analytics.make_scope(first, last, tz=tz, now=now)
        scopes[f"{days} d, one team"] = analytics.make_scope(first, last, tz=tz, now=now, team_id=team_id)

    print(f"\nper chart query, ms (p50 / p95 of {args.repeat})")
    print(f"{'query':<18}" + "".join(f"{name:>22}" for name in scopes))
    with app.app_context():
        for name in analytics.QUERIES:
            cells = []
            for scope in scopes.values():
                # Through figures(), as the page runs them (with its memory setting for sorts on PostgreSQL).
                p50, p95 = timed(lambda: analytics.figures(db.session, scope, only={name}), args.repeat)
                cells.append(f"{p50:9.1f} / {p95:7.1f}")
            print(f"{name:<18}" + "".join(f"{c:>22}" for c in cells))
            db.session.rollback()

    client = app.test_client()
    response = client.post("/login/", data={"username": "manager", "password": "demo-mgr-2026"})
    assert response.status_code == 302, "manager login failed"
    from app.services import analytics_charts

    print(f"\nthe page's requests and exports (in process), ms (p50 / p95 of {args.repeat})")
    for label, days in (("30 d", 30), ("365 d", 365)):
        first, last = analytics.default_period(now, tz, days)
        query = f"from={first.isoformat()}&to={last.isoformat()}"
        requests_ = [("page frame", f"/dashboard/?{query}")]
        requests_ += [(f"figures: {group}", f"/dashboard/data/{group}?{query}") for group in analytics_charts.GROUPS]
        requests_ += [(f"figures: {group}, one team", f"/dashboard/data/{group}?{query}&team={team_id}")
                      for group in analytics_charts.GROUPS]
        requests_ += [("export volume by day", f"/dashboard/export/volume_day?{query}"),
                      ("export engineers", f"/dashboard/export/engineers?{query}")]
        for what, url_ in requests_:
            def get():
                result = client.get(url_)
                assert result.status_code == 200, (url_, result.status_code)
            p50, p95 = timed(get, args.repeat)
            print(f"{label:>6} {what:<32} {p50:8.1f} / {p95:7.1f}")


def _seed(app, url, tickets):
    from sqlalchemy import text

    from app.extensions import db
    from app.services import demo

    with app.app_context():
        t0 = time.perf_counter()
        demo.bulk_tickets(db.session, tickets)
        print(f"bulk seed: {tickets:,} tickets in {time.perf_counter() - t0:,.1f} s")
        t0 = time.perf_counter()
        enrich(db.session)
        print(f"deadlines, rounds, ratings, shifts and work stretches: {time.perf_counter() - t0:,.1f} s")
        if url.startswith("postgresql"):
            db.session.commit()
            connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text("VACUUM ANALYZE"))
            connection.close()


def _existing_app(args):
    from app import create_app
    from config import _sqlalchemy_url

    if args.database_url:
        url, instance = args.database_url, args.instance or "/tmp/bench-dash-reuse"
    else:
        url, instance = f"sqlite:///{os.path.join(args.instance, 'bench.db')}", args.instance
    os.makedirs(instance, exist_ok=True)
    app = create_app({"WTF_CSRF_ENABLED": False, "SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(url),
                      "INSTANCE_DIR": instance, "SECRET_KEY": "bench-secret-key-bench-secret-key"})
    return app, url


if __name__ == "__main__":
    main()
