"""A burst of intake reports against real gunicorn workers on the test database, the client retrying what
times out (bench/burst.py, smaller): every report becomes exactly one ticket, no number is given twice, no
answer is a server error — the retries included, which often reach the server while the first attempt is
still being worked on."""
import os

from app.models import IntegrationToken
from app.services import tokens
from app.timeutil import utcnow
from bench.burst import burst, count_tickets, reports, start_gunicorn, stop
from bench.intake import free_port
from tests.conftest import PG_URL

REPORTS, CONCURRENCY, WORKERS = 400, 16, 4


def test_a_burst_with_retries_makes_one_ticket_per_report_and_no_server_error(app, session):
    raw = tokens.issue(session, IntegrationToken(name="burst test", channel="app", created_at=utcnow()))
    session.commit()
    database_url = PG_URL if app.config["DB_KIND"] == "postgresql" else app.config["SQLALCHEMY_DATABASE_URI"]
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_DIR": app.config["INSTANCE_DIR"],
           "SECRET_KEY": app.config["SECRET_KEY"]}
    port = free_port()
    server = start_gunicorn(port, WORKERS, env)
    tag = f"bursttest{app.config['DB_KIND']}"
    try:
        # A first timeout far below the answer time under this load: many reports are sent two or more times.
        stats = burst(f"http://127.0.0.1:{port}", {"X-Channel-Token": raw}, reports(REPORTS, tag),
                      concurrency=CONCURRENCY, timeout=0.05)
    finally:
        stop(server)
    session.expire_all()
    tickets, numbers, twice = count_tickets(session, tag)
    assert stats.retries > 0, "no retry happened: the test would prove nothing about them"
    assert stats.server_errors == 0 and stats.gave_up == 0, (stats.statuses, stats.gave_up)
    assert (tickets, numbers, twice) == (REPORTS, REPORTS, 0)
