"""Rate limits on several web machines (docs/operations.md, "Scaling out"): two apps stand for two machines
behind one load balancer, sharing one database and RATELIMIT_STORAGE_URI. With Redis, wrong passwords and
portal look-ups spread over both are counted once; with memory:// each machine counts alone, so an attacker
gets the limit once per machine (and per gunicorn worker). A storage that is mistyped or goes away never
stops the site: the limits keep applying, counted in each process, and the operator is told once in the log.

The Redis tests use the real server at TEST_REDIS_URL (default redis://127.0.0.1:6379/15, a database of their
own, flushed before and after each test). In CI (CI=true) they must run: a Redis that does not answer fails
them; elsewhere they skip, saying why. The outage test starts a redis-server of its own on a free port."""
import logging
import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager

import pytest
import redis

from app.extensions import db
from tests.conftest import IN_CI, make_app
from tests.portal_world import text_of

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
LIMITS = {"AUTH_RATE_LIMIT": "3 per minute", "PORTAL_TRACK_LIMIT": "3 per minute", "PORTAL_NUMBER_LIMIT": "3 per hour",
          "LOGIN_LOCK_ATTEMPTS": 0}  # the lock (tests/test_security.py) is not what is counted here
TOO_MANY_LOGINS = "登录尝试过于频繁"
TOO_MANY_ATTEMPTS = "尝试次数过多"


def _redis_missing(reason: str):
    if IN_CI:
        pytest.fail(f"CI=true but {reason}: the Redis tests must run in CI (.ci/run starts redis-server)")
    pytest.skip(f"{reason} (start redis-server, or set TEST_REDIS_URL)")


@pytest.fixture(scope="module")
def redis_server():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _redis_missing(f"Redis at {REDIS_URL} does not answer ({exc})")
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def shared_redis(redis_server):
    """The tests' own Redis database, empty before and after each test."""
    redis_server.flushdb()
    yield redis_server
    redis_server.flushdb()


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """The database the machines share, as web machines share PostgreSQL (SQLite here: limits do not care)."""
    first = make_app(tmp_path_factory, "sqlite", "limits")
    result = first.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    yield first.config["SQLALCHEMY_DATABASE_URI"]
    with first.app_context():
        db.engine.dispose()


@pytest.fixture
def machines(tmp_path_factory, database):
    """machines(uri, n=2): n web machines counting their limits in `uri`."""
    made = []

    def build(uri: str, count: int = 2):
        for _ in range(count):
            made.append(make_app(tmp_path_factory, "sqlite", f"machine{len(made)}", SQLALCHEMY_DATABASE_URI=database,
                                 RATELIMIT_STORAGE_URI=uri, **LIMITS))
        return made[-count:]

    yield build
    for application in made:
        with application.app_context():
            db.engine.dispose()


@pytest.fixture
def logged():
    """What the rate-limit code says in the log (its own logger and Flask-Limiter's), whatever else changes the
    root logger's handlers (alembic's configuration during `init` does)."""
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep(logging.INFO)
    loggers = [logging.getLogger(name) for name in ("app.limit_storage", "flask-limiter")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    yield records
    for lg, level in zip(loggers, levels):
        lg.removeHandler(handler)
        lg.setLevel(level)


def from_address(application, address: str):
    client = application.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def wrong_login(client):
    return client.post("/login/", data={"username": "admin", "password": "Wrong-Guess-2026"})


def wrong_api_login(client):
    return client.post("/api/v1/security/login", json={"username": "admin", "password": "Wrong-Guess-2026",
                                                        "provider": "db"})


def look_up(client, number=None, contact=None):
    """A look-up on the portal. Without a number and phone the form is refused (400) before any database work,
    but counted against PORTAL_TRACK_LIMIT all the same; with them, a failed one counts against the number's."""
    data = {"number": number, "contact": contact} if number else {}
    return client.post("/portal/track", data=data)


def statuses(*requests) -> list[int]:
    return [request().status_code for request in requests]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------- shared through Redis

def test_wrong_passwords_spread_over_two_machines_are_limited_together(shared_redis, machines):
    one, two = machines(REDIS_URL)
    at_one, at_two = from_address(one, "203.0.113.7"), from_address(two, "203.0.113.7")

    assert statuses(lambda: wrong_login(at_one), lambda: wrong_login(at_two), lambda: wrong_login(at_one)) == [302] * 3
    refused = wrong_login(at_two)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert TOO_MANY_LOGINS in text_of(refused.get_data(as_text=True))
    assert wrong_login(at_one).status_code == 429
    # Counted in Redis, per address: a colleague at another address is not held up.
    assert any(b"203.0.113.7" in key for key in shared_redis.keys("*"))
    assert wrong_login(from_address(two, "203.0.113.8")).status_code == 302

    # The REST login likewise (its own count, as on one machine).
    assert statuses(lambda: wrong_api_login(at_two), lambda: wrong_api_login(at_one),
                    lambda: wrong_api_login(at_two)) == [401] * 3
    refused = wrong_api_login(at_one)
    assert refused.status_code == 429 and TOO_MANY_LOGINS in refused.get_json()["message"]


def test_portal_look_ups_over_two_machines_are_limited_together(shared_redis, machines):
    one, two = machines(REDIS_URL)
    at_one, at_two = from_address(one, "198.51.100.20"), from_address(two, "198.51.100.20")
    assert statuses(lambda: look_up(at_one), lambda: look_up(at_two), lambda: look_up(at_one)) == [400] * 3
    refused = look_up(at_two)
    assert refused.status_code == 429 and TOO_MANY_ATTEMPTS in text_of(refused.get_data(as_text=True))
    assert look_up(at_one).status_code == 429

    # Guessing one ticket's phone from many addresses, over both machines: the number is locked after
    # PORTAL_NUMBER_LIMIT failures in all.
    guesses = [look_up(from_address((one, two)[i % 2], f"10.20.0.{i}"), "SR20260101-000777", f"1380000{i:04d}")
               for i in range(4)]
    assert [g.status_code for g in guesses] == [200, 200, 200, 429]


# --------------------------------------------------------------- why: memory:// counts per machine

def test_with_memory_storage_each_machine_counts_alone(machines):
    one, two = machines("memory://")
    at_one, at_two = from_address(one, "203.0.113.9"), from_address(two, "203.0.113.9")
    # Twice the limit gets through before either machine refuses.
    assert statuses(*[lambda c=c: wrong_login(c) for c in (at_one, at_two) * 3]) == [302] * 6
    assert statuses(lambda: wrong_login(at_one), lambda: wrong_login(at_two)) == [429, 429]
    assert statuses(*[lambda c=c: look_up(c) for c in (at_one, at_two) * 3]) == [400] * 6
    assert statuses(lambda: look_up(at_one), lambda: look_up(at_two)) == [429, 429]


# --------------------------------------------------------------- a storage mistyped, down, or gone for a while

@pytest.mark.parametrize("uri", ["redis//:s3cret@127.0.0.1:6379/0", "redis://:s3cret@127.0.0.1:six/0",
                                 "rdis://127.0.0.1:6379/0"])
def test_a_mistyped_storage_uri_is_said_once_and_the_limits_still_apply(machines, logged, uri):
    (one,) = machines(uri, count=1)
    errors = [r for r in logged if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "RATELIMIT_STORAGE_URI=" in errors[0].getMessage()
    assert "cannot be used" in errors[0].getMessage() and "s3cret" not in errors[0].getMessage()
    attacker = from_address(one, "203.0.113.30")
    assert statuses(*[lambda: wrong_login(attacker)] * 4) == [302, 302, 302, 429]
    assert statuses(*[lambda: look_up(attacker)] * 4) == [400, 400, 400, 429]
    assert not any(r.exc_info for r in logged)


def test_a_redis_that_does_not_answer_at_start_is_said_once_and_the_limits_still_apply(machines, logged):
    (one,) = machines(f"redis://127.0.0.1:{free_port()}/0", count=1)
    errors = [r for r in logged if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "does not answer" in errors[0].getMessage()
    assert "refused" in errors[0].getMessage().lower()
    attacker = from_address(one, "203.0.113.31")
    assert statuses(*[lambda: wrong_login(attacker)] * 4) == [302, 302, 302, 429]
    assert statuses(*[lambda: look_up(attacker)] * 4) == [400, 400, 400, 429]
    # One line per limiter (the login's, the portal's) when it falls back, never a stack trace per request.
    assert not any(r.exc_info for r in logged)
    assert len([r for r in logged if r.levelno == logging.WARNING]) == 2


@contextmanager
def own_redis_server(directory):
    """A redis-server of the test's own on a free port, which the test stops and starts again."""
    binary = shutil.which("redis-server")
    if binary is None:
        _redis_missing("redis-server is not installed")
    port = free_port()
    running = {}

    def start():
        running["process"] = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=port, socket_connect_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                return client
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server on port {port} did not start")

    def stop():
        running["process"].terminate()
        running["process"].wait(timeout=10)

    start.stop = stop
    try:
        yield f"redis://127.0.0.1:{port}/0", start
    finally:
        if running.get("process") and running["process"].poll() is None:
            stop()


def test_redis_going_away_and_coming_back(machines, logged, tmp_path):
    with own_redis_server(tmp_path) as (uri, start):
        server = start()
        one, two = machines(uri)
        assert not [r for r in logged if r.levelno >= logging.ERROR]
        at_one, at_two = from_address(one, "203.0.113.40"), from_address(two, "203.0.113.40")
        assert statuses(lambda: wrong_login(at_one), lambda: wrong_login(at_two)) == [302, 302]

        start.stop()
        # Gone: every request is still answered and the limits still apply, each machine counting alone.
        assert statuses(*[lambda: wrong_login(at_one)] * 4) == [302, 302, 302, 429]
        assert statuses(*[lambda: wrong_login(at_two)] * 4) == [302, 302, 302, 429]
        assert statuses(*[lambda: look_up(at_one)] * 4) == [400, 400, 400, 429]
        assert statuses(*[lambda: look_up(at_two)] * 4) == [400, 400, 400, 429]
        assert not any(r.exc_info for r in logged)
        said = [r.getMessage() for r in logged if r.levelno == logging.WARNING]
        assert len(said) == 4, said  # the login's and the portal's limiter on each machine, once

        server = start()
        # Back (and empty: it kept nothing): within its retry interval each machine counts in Redis again.
        deadline, address = time.monotonic() + 45, 0
        while time.monotonic() < deadline:
            address += 1
            addresses = {one: f"192.0.2.{address}", two: f"198.51.100.{address}"}
            for machine, probe in addresses.items():
                wrong_login(from_address(machine, probe))
                look_up(from_address(machine, probe))
            keys = b" ".join(server.keys("*"))
            if all(f"{kind}{probe}/".encode() in keys
                   for kind in ("LIMITER/", "LIMITER/track/") for probe in addresses.values()):
                break
            time.sleep(0.25)
        else:
            raise AssertionError(f"the machines did not go back to Redis: {keys!r}")
        shared_one, shared_two = from_address(one, "203.0.113.41"), from_address(two, "203.0.113.41")
        assert statuses(lambda: wrong_login(shared_one), lambda: wrong_login(shared_two),
                        lambda: wrong_login(shared_one), lambda: wrong_login(shared_two)) == [302, 302, 302, 429]
        assert statuses(lambda: look_up(shared_two), lambda: look_up(shared_one),
                        lambda: look_up(shared_two), lambda: look_up(shared_one)) == [400, 400, 400, 429]
        server.close()
