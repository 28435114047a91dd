"""The staff's pages at a million tickets, over HTTP through gunicorn, at concurrency 1 and 8; then the memory of
the web workers and of the scheduler (issue 10's figures; README "Performance").

    .venv/bin/python bench/scale.py --tickets 1000000 --database-url postgresql://postgres@127.0.0.1:5432/bench_scale
    .venv/bin/python bench/scale.py --reuse --database-url postgresql://…    # measure an existing database again

Without --reuse the database is made afresh (drops the PostgreSQL schema it is given!): `init`, `demo seed
--tickets N` as a user would run it, then what the bulk generator leaves out and the dashboards read (bench/
dashboard.py's `enrich`: deadlines, ratings, hands-on time), then VACUUM ANALYZE (what autovacuum does on a live
system). `--reuse` takes a database made by this script or by bench/dashboard.py.

gunicorn runs with the shipped settings (deploy/gunicorn.conf.py, --workers of them) on a loopback port; the
client logs in through the login form like a browser (CSRF token and all) and sends each page `--samples`
times in all from C client threads (concurrency C), every thread its own login:

- clerk: the open-ticket queue as it opens (在办工单: open statuses, by resolution deadline), a filtered search
  (phone prefix; status + priority + team), a ticket page (random ticket of the last 5,000);
- manager: the dashboard page (its frame), each of its figure requests, and the whole dashboard as a browser
  loads it — the frame, then its figure requests six at a time (a browser's connections per host) — until the
  last chart's figures are in.

Then the resident memory (VmRSS) of every gunicorn worker after the run, and the peak memory (VmHWM) of a
`flask scheduler tick` process that runs every job once against the same database.
"""
import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.seed import fresh_database, percentile  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
LOGINS = {"clerk": "demo-clk-2026", "manager": "demo-mgr-2026"}


def flask(env, *args, check=True):
    return subprocess.run([os.path.join(BIN, "flask"), "--app", "app", *args], cwd=ROOT, env=env, check=check,
                          capture_output=True, text=True)


def seed(env, url, tickets):
    from bench.dashboard import enrich

    for args in (["init"], ["demo", "seed", "--tickets", str(tickets)]):
        t0 = time.perf_counter()
        flask(env, *args)
        print(f"flask {' '.join(args)}: {time.perf_counter() - t0:,.0f} s")
    app = make_app(env)
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        t0 = time.perf_counter()
        enrich(db.session)
        db.session.commit()
        if url.startswith("postgresql"):
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
        print(f"deadlines, ratings, hands-on time, analyse: {time.perf_counter() - t0:,.0f} s")


def make_app(env):
    os.environ.update(env)
    from app import create_app
    from config import _sqlalchemy_url

    return create_app({"SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(env["DATABASE_URL"]),
                       "INSTANCE_DIR": env["INSTANCE_DIR"]})


def start_web(env, port, workers):
    web_env = {**env, "WEB_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers)}
    server = subprocess.Popen([os.path.join(BIN, "gunicorn"), "-c", "deploy/gunicorn.conf.py",
                               "--access-logfile", "/dev/null", "run:app"],
                              cwd=ROOT, env=web_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/login/", timeout=1)
            return server
        except requests.RequestException:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def logged_in(base, username) -> requests.Session:
    """A browser-like session: the login form's CSRF token, then the form."""
    client = requests.Session()
    form = client.get(f"{base}/login/").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    answer = client.post(f"{base}/login/", data={"username": username, "password": LOGINS[username],
                                                 "csrf_token": token}, allow_redirects=False)
    assert answer.status_code == 302, f"{username} could not log in"
    return client


def get(client, url):
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.status_code)
    return answer


def whole_dashboard(client, base):
    """The frame, then its figure requests six at a time, as a browser does; ms until the last answer."""
    started = time.perf_counter()
    page = get(client, f"{base}/dashboard/").text
    urls = [u.replace("\\u0026", "&") for u in re.findall(r'"url": ?"(/dashboard/data/[^"]+)"', page)]
    assert len(urls) >= 8, "the page names no figure requests"
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda u: get(client, base + u), urls))
    return (time.perf_counter() - started) * 1000


def measure(clients, job, each):
    """Each client thread runs the job `each` times (after one warm-up); ms of every run."""
    samples, lock = [], threading.Lock()

    def run(client):
        job(client)
        for _ in range(each):
            t0 = time.perf_counter()
            job(client)
            with lock:
                samples.append((time.perf_counter() - t0) * 1000)

    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(run, clients))
    return samples


def rss_kb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def workers_of(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def scheduler_peak_kb(env):
    """Peak memory of a process running every scheduler job once: Linux keeps it in the exiting process's
    VmHWM, read here just before it exits (the tick's own code paths, imports and all)."""
    probe = ("import os, atexit\n"
             "atexit.register(lambda: print('VmHWM', [l for l in open('/proc/self/status') "
             "if l.startswith('VmHWM')][0].split()[1]))\n"
             "from flask.cli import main\nmain()\n")
    result = subprocess.run([sys.executable, "-c", probe, "--app", "app", "scheduler", "tick"], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=True)
    return int(re.search(r"VmHWM (\d+)", result.stdout).group(1))


def main():
    from bench.intake import free_port

    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--samples", type=int, default=64, help="timed requests per page and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()

    if args.reuse:
        url, instance = args.database_url, tempfile.mkdtemp(prefix="bench-scale-")
    else:
        instance, url = fresh_database(args.database_url, "bench-scale-")
    env = {**os.environ, "DATABASE_URL": url, "INSTANCE_DIR": instance, "ADMIN_PASSWORD": "Bench-Root-2026",
           "SECRET_KEY": "bench-secret-key-bench-secret-key", "AUTH_RATE_LIMIT": "1000 per minute"}
    if not args.reuse:
        seed(env, url, args.tickets)

    app = make_app(env)
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Priority, Team, Ticket
    from app.services import analytics_charts

    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Ticket))
        ids = db.session.scalars(select(Ticket.id).order_by(Ticket.id.desc()).limit(5000)).all()
        team = db.session.scalar(select(Team.id).order_by(Team.id))
        priority = db.session.scalar(select(Priority.id).where(Priority.code == "high"))
        prefix = db.session.scalar(select(func.substr(Ticket.contact_phone, 1, 5)).where(Ticket.id == ids[0]))
    print(f"database: {url.split(':', 1)[0]}, {total:,} tickets; gunicorn {args.workers} workers "
          f"(deploy/gunicorn.conf.py); {args.samples} timed requests per figure; {os.cpu_count()} cores, client "
          "and server on the same machine")

    rng = random.Random(7)
    pages = {
        "clerk: open tickets by deadline (在办工单)": ("clerk", lambda: "/openticketview/list/"),
        "clerk: search, phone prefix": ("clerk", lambda: f"/ticketview/list/?_flt_0_contact_phone={prefix}"),
        "clerk: search, status + priority + team": (
            "clerk", lambda: f"/ticketview/list/?_flt_0_status=waiting_parts&_flt_0_priority={priority}&_flt_0_team={team}"),
        "clerk: ticket page": ("clerk", lambda: f"/ticketview/show/{rng.choice(ids)}"),
        "manager: dashboard frame": ("manager", lambda: "/dashboard/"),
        **{f"manager: dashboard figures, {group}": ("manager", lambda g=group: f"/dashboard/data/{g}")
           for group in analytics_charts.GROUPS},
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_web(env, port, args.workers)
    try:
        width = max(map(len, pages)) + 2
        print(f"\n{'page (ms)':<{width}}" + "".join(f"{f'c{c} p50 / p95':>20}" for c in args.concurrency))
        sessions = {role: [logged_in(base, role) for _ in range(max(args.concurrency))] for role in LOGINS}
        for name, (role, make) in pages.items():
            cells = []
            for concurrency in args.concurrency:
                samples = measure(sessions[role][:concurrency], lambda c: get(c, base + make()),
                                  -(-args.samples // concurrency))
                cells.append(f"{statistics.median(samples):8.1f} / {percentile(samples, 0.95):7.1f}")
            print(f"{name:<{width}}" + "".join(f"{c:>20}" for c in cells))
        cells = []
        for concurrency in args.concurrency:
            samples = measure(sessions["manager"][:concurrency], lambda c: whole_dashboard(c, base),
                              -(-args.samples // concurrency))
            cells.append(f"{statistics.median(samples):8.1f} / {percentile(samples, 0.95):7.1f}")
        print(f"{'manager: whole dashboard loaded':<{width}}" + "".join(f"{c:>20}" for c in cells))
        workers = workers_of(server.pid)
        memory = sorted(rss_kb(pid) / 1024 for pid in workers)
        print(f"\nweb workers' resident memory after the run: {', '.join(f'{m:.0f}' for m in memory)} MB "
              f"(master {rss_kb(server.pid) / 1024:.0f} MB)")
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"scheduler, every job once (`flask scheduler tick`): peak {scheduler_peak_kb(env) / 1024:.0f} MB")


if __name__ == "__main__":
    main()
