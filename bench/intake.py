"""Intake throughput: through the service, and over HTTP (gunicorn, 2 workers) against a bare FAB
ModelRestApi POST of the same row, with N tickets already stored.

    .venv/bin/python bench/intake.py --tickets 1000000
    .venv/bin/python bench/intake.py --tickets 1000000 --database-url postgresql://postgres@127.0.0.1:5432/bench

Creates a fresh database (drops the PostgreSQL schema it is given!). Reports are realistic Chinese and
English feedback from fresh phone numbers, so each one runs the whole path (recognition, rules,
sentiment, duplicate search, numbering, timeline) and creates a ticket.
"""
import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.seed import demo_app, percentile  # noqa: E402

TEXTS = ["热水器漏水了，地上都是水", "空调不制冷，开了一下午还是热", "请问净水器滤芯多久换一次",
         "洗碗机有异响，打了三次电话没人管，太差劲了！", "新买的油烟机想预约上门安装",
         "My water heater won't turn on", "How do I set the timer?", "熱水器無法開機，請派師傅"]


def report(rng, i):
    return {"channel": "app", "customer": {"name": "压测用户", "phone": f"19{rng.randrange(10**9):09d}"},
            "description": rng.choice(TEXTS), "external_id": f"bench-{i}-{rng.randrange(10**12)}"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body, headers):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        assert response.status in (200, 201), response.status
    return (time.perf_counter() - started) * 1000


def run_http(url, bodies, headers, concurrency):
    """(seconds, latency samples in ms) for posting every body."""
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        samples = list(pool.map(lambda b: post(url, b, headers), bodies))
    return time.perf_counter() - started, samples


def as_bare(body):
    """The same report as a plain ticket row, for FAB's own ModelRestApi."""
    return {"channel": "app", "subject": body["description"], "description": body["description"],
            "contact_name": body["customer"]["name"], "contact_phone": body["customer"]["phone"],
            "external_ref": body["external_id"] + "-bare"}


def compare(base, rng, requests, rounds, concurrency, token_headers, jwt_headers):
    """Intake and bare POST in alternating rounds, so that drift on a shared machine hits both alike."""
    totals = {"intake": [0.0, []], "bare": [0.0, []]}
    for _ in range(rounds):
        bodies = [report(rng, i) for i in range(requests // rounds)]
        for kind, url, batch, headers in (("intake", "/api/v1/intake/", bodies, token_headers),
                                          ("bare", "/api/v1/ticket/", [as_bare(b) for b in bodies], jwt_headers)):
            seconds, samples = run_http(base + url, batch, headers, concurrency)
            totals[kind][0] += seconds
            totals[kind][1] += samples
    return {kind: (len(samples) / seconds, percentile(samples, 0.5), percentile(samples, 0.95))
            for kind, (seconds, samples) in totals.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--requests", type=int, default=1200)
    parser.add_argument("--rounds", type=int, default=4, help="alternating intake / bare rounds per concurrency")
    args = parser.parse_args()

    app, url = demo_app(args.database_url, "bench-intake-")

    from app.extensions import db
    from app.models import IntegrationToken
    from app.services import demo, tokens
    from app.services.intake import IntakeRequest, intake
    from app.timeutil import utcnow

    rng = random.Random(7)
    with app.app_context():
        demo.bulk_tickets(db.session, args.tickets)
        if url.startswith("postgresql"):
            db.session.execute(db.text("ANALYZE"))
        raw_token = tokens.issue(db.session, IntegrationToken(name="bench", channel="app", created_at=utcnow()))
        db.session.commit()

        intake(db.session, IntakeRequest(channel="app", description="预热", phone="19900000000"), now=utcnow())
        db.session.commit()  # loads jieba and the lexicons once, as a running worker has
        samples = []
        started = time.perf_counter()
        for i in range(args.requests):
            body = report(rng, i)
            t0 = time.perf_counter()
            intake(db.session, IntakeRequest(channel="app", description=body["description"],
                                             customer_name="压测用户", phone=body["customer"]["phone"],
                                             message_key=body["external_id"]), now=utcnow())
            db.session.commit()
            samples.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - started
    print(f"database: {url.split(':', 1)[0]}, {args.tickets:,} tickets stored")
    print(f"service intake: {args.requests / elapsed:,.0f} tickets/s, p50 {percentile(samples, 0.5):.1f} ms, "
          f"p95 {percentile(samples, 0.95):.1f} ms")

    port = free_port()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
         "--preload", "run:app"], cwd=root, env=os.environ.copy(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/login/", timeout=1)
                break
            except Exception:
                time.sleep(0.3)
        login = urllib.request.Request(base + "/api/v1/security/login", method="POST", data=json.dumps(
            {"username": "admin", "password": "Bench-Root-2026", "provider": "db"}).encode(),
            headers={"Content-Type": "application/json"})
        jwt = json.loads(urllib.request.urlopen(login).read())["access_token"]
        token_headers = {"X-Channel-Token": raw_token}
        jwt_headers = {"Authorization": f"Bearer {jwt}"}
        warm = [report(rng, -i) for i in range(20)]
        run_http(base + "/api/v1/intake/", warm, token_headers, 2)
        run_http(base + "/api/v1/ticket/", [as_bare(b) for b in warm], jwt_headers, 2)
        for concurrency in (1, 8):
            figures = compare(base, rng, args.requests, args.rounds, concurrency, token_headers, jwt_headers)
            (intake_rate, p50, p95), (bare_rate, b50, b95) = figures["intake"], figures["bare"]
            print(f"HTTP concurrency {concurrency}: intake {intake_rate:,.0f} tickets/s "
                  f"(p50 {p50:.1f} / p95 {p95:.1f} ms); bare ModelRestApi POST {bare_rate:,.0f}/s (p50 {b50:.1f} / p95 {b95:.1f} ms)"
                  f"; intake costs {bare_rate / intake_rate:.2f}× the bare POST")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
