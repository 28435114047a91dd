"""A promotion-day burst: N intake requests at concurrency C against gunicorn, the client retrying what
times out or fails — then the database is counted: every report one ticket, no number twice, no 5xx.

    .venv/bin/python bench/burst.py --requests 10000 --concurrency 16 \
        --database-url postgresql://postgres@127.0.0.1:5432/bench      # drops that schema

The client's timeout is short on purpose (--timeout, default 0.5 s): a retry then often reaches the
server while the first attempt is still being worked on, which is what a duplicate would come from.
tests/test_burst.py runs the same burst, smaller, in CI.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.seed import percentile  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXTS = ["热水器漏水了，地上都是水", "空调不制冷，开了一下午还是热", "洗碗机有异响，打了三次电话没人管！",
         "新买的油烟机想预约上门安装", "净水器出水很慢，滤芯是不是该换了", "My water heater won't turn on"]


@dataclass
class Burst:
    requests: int = 0
    seconds: float = 0.0
    latencies_ms: list = field(default_factory=list)  # of the attempt that got the final answer
    statuses: Counter = field(default_factory=Counter)  # every answer, retries included
    retries: int = 0
    timeouts: int = 0
    gave_up: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def reports(n: int, tag: str, seed: int = 11) -> list[dict]:
    """n different customers' reports, each with its own idempotency key (the channel's message id)."""
    rng = random.Random(seed)
    return [{"channel": "app", "customer": {"name": "促销日用户", "phone": f"17{i:09d}"},
             "description": f"{rng.choice(TEXTS)}（订单 {tag}-{i}）", "external_id": f"{tag}-{i}"}
            for i in range(n)]


def _send(url, body, headers, timeout, stats: Burst, attempts: int = 8):
    data = json.dumps(body).encode()
    for attempt in range(attempts):
        request = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/json", **headers})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=timeout * 2 ** attempt) as response:  # backing off
                response.read()
                status = response.status
        except urllib.error.HTTPError as answer:
            status = answer.code
        except (TimeoutError, urllib.error.URLError, ConnectionError):
            with stats.lock:
                stats.timeouts += 1
                stats.retries += 1
            continue
        with stats.lock:
            stats.statuses[status] += 1
        if status in (200, 201):
            with stats.lock:
                stats.latencies_ms.append((time.perf_counter() - started) * 1000)
            return
        if status < 500 and status != 429:
            return  # refused for a reason: retrying the same body cannot change it
        with stats.lock:
            stats.retries += 1
    with stats.lock:
        stats.gave_up += 1


def burst(base: str, headers: dict, bodies: list[dict], *, concurrency: int, timeout: float) -> Burst:
    stats = Burst(requests=len(bodies))
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda b: _send(base + "/api/v1/intake/", b, headers, timeout, stats), bodies))
    stats.seconds = time.perf_counter() - started
    return stats


def count_tickets(session, tag: str) -> tuple[int, int, int]:
    """(tickets made by the burst, distinct numbers among them, idempotency keys used twice)."""
    from sqlalchemy import func, select

    from app.models import Ticket

    mine = select(Ticket).where(Ticket.external_ref.like(f"{tag}-%")).subquery()
    tickets = session.scalar(select(func.count()).select_from(mine))
    numbers = session.scalar(select(func.count(func.distinct(mine.c.number))))
    twice = session.scalar(select(func.count()).select_from(
        select(mine.c.external_ref).group_by(mine.c.external_ref).having(func.count() > 1).subquery()))
    return tickets, numbers, twice


def start_gunicorn(port: int, workers: int, env: dict) -> subprocess.Popen:
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--preload", "--timeout", "60", "run:app"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=1)
            return server
        except Exception:
            time.sleep(0.2)  # not listening yet
    server.kill()
    raise RuntimeError("gunicorn did not start")


def stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


def main():
    from bench.intake import free_port
    from bench.seed import demo_app

    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=0.5, help="client timeout of the first attempt (s)")
    args = parser.parse_args()

    app, url = demo_app(args.database_url, "bench-burst-")
    from app.extensions import db
    from app.models import IntegrationToken
    from app.services import tokens
    from app.timeutil import utcnow

    with app.app_context():
        raw = tokens.issue(db.session, IntegrationToken(name="burst", channel="app", created_at=utcnow()))
        db.session.commit()
    port = free_port()
    server = start_gunicorn(port, args.workers, os.environ.copy())
    try:
        tag = f"burst{int(time.time())}"
        stats = burst(f"http://127.0.0.1:{port}", {"X-Channel-Token": raw}, reports(args.requests, tag),
                      concurrency=args.concurrency, timeout=args.timeout)
    finally:
        stop(server)
    with app.app_context():
        tickets, numbers, twice = count_tickets(db.session, tag)
    print(f"database: {url.split(':', 1)[0]}; gunicorn {args.workers} workers; {args.requests:,} reports at "
          f"concurrency {args.concurrency}, first timeout {args.timeout} s")
    print(f"{stats.requests / stats.seconds:,.0f} reports/s; answered p50 {percentile(stats.latencies_ms, 0.5):.0f} ms, "
          f"p95 {percentile(stats.latencies_ms, 0.95):.0f} ms; {stats.retries:,} retries ({stats.timeouts:,} "
          f"timeouts); answers {dict(sorted(stats.statuses.items()))}; gave up {stats.gave_up}")
    print(f"tickets {tickets:,} (lost {args.requests - tickets:,}), distinct numbers {numbers:,}, "
          f"idempotency keys used twice {twice}, server errors {stats.server_errors}")


if __name__ == "__main__":
    main()
