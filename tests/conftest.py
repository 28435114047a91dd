"""One app per database for the whole session (SQLite always; PostgreSQL when TEST_DATABASE_URL is set).

Each app is migrated with `flask init` and filled with the demo operation once; tests create the
tickets they change, so they never depend on each other's leftovers.
"""
import os
import re
import shutil
import threading
import uuid
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db
from app.services import demo

IN_CI = os.environ.get("CI") == "true"
PG_URL = os.environ.get("TEST_DATABASE_URL")
ADMIN_PASSWORD = "Root-Test-2026"
PASSWORDS = {u: p for u, p, _ in demo.DEMO_LOGINS} | {"admin": ADMIN_PASSWORD}


def pytest_configure(config):
    if IN_CI and not PG_URL:
        raise pytest.UsageError("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL tests must run in CI")


def pytest_collection_modifyitems(config, items):
    """@pytest.mark.postgres_only tests run once, on PostgreSQL; without it they skip, saying why."""
    keep, dropped = [], []
    for item in items:
        if item.get_closest_marker("postgres_only"):
            param = getattr(getattr(item, "callspec", None), "params", {}).get("app")
            if not PG_URL:
                item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set TEST_DATABASE_URL"))
            elif param == "sqlite":
                dropped.append(item)
                continue
        keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _database_params():
    params = ["sqlite"]
    if PG_URL:
        params.append("postgresql")
    return params


def _reset_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_app(tmp_path_factory, kind: str, name: str = "main", **overrides):
    instance = tmp_path_factory.mktemp(f"instance-{kind}-{name}")
    if kind == "postgresql":
        _reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{instance}/test.db"
    from config import _sqlalchemy_url

    return create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(url),
        "INSTANCE_DIR": str(instance),
        "SECRET_KEY": "test-secret-key-of-at-least-32-bytes!",
        "WTF_CSRF_ENABLED": False,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BABEL_DEFAULT_LOCALE": "zh",
        # Every test logs in from 127.0.0.1; tests/test_security.py checks the limit with one of its own.
        "AUTH_RATE_LIMIT": "100000 per minute",
        **overrides,
    })


def _forget_last_login():
    """A test holding an app context (the `session` fixture) makes the test client's requests share it, and
    with it what Flask-Login (the user) and Flask-Babel (the locale) cache there: without this, one client's
    login and language would answer for the next client."""
    from flask import g
    from flask_babel import refresh

    g.pop("_login_user", None)
    refresh()


@contextmanager
def seeded_app(tmp_path_factory, kind: str, name: str = "main", **overrides):
    """An app on a fresh database, initialised and seeded with the demo, disposed of afterwards: the shared
    `app`, and the apps of tests whose requests change data at random (the route matrix, the API fuzzer)."""
    application = make_app(tmp_path_factory, kind, name, **overrides)
    runner = application.test_cli_runner()
    for args in (["init"], ["demo", "seed"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@contextmanager
def serving(application):
    """The app behind a real HTTP server on a loopback port, for a browser or an HTTP client; yields its URL."""
    httpd = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()


@pytest.fixture(scope="session", params=_database_params())
def app(request, tmp_path_factory):
    with seeded_app(tmp_path_factory, request.param) as application:
        application.config["DB_KIND"] = request.param
        application.before_request_funcs.setdefault(None, []).insert(0, _forget_last_login)
        yield application


@pytest.fixture(scope="session")
def protected_app(tmp_path_factory):
    """A SQLite app with CSRF protection on, as in production (the main apps switch it off for brevity)."""
    with seeded_app(tmp_path_factory, "sqlite", "csrf", WTF_CSRF_ENABLED=True) as application:
        yield application


def csrf_token_of(html: str) -> str:
    """The CSRF token a page's form carries."""
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


def login(client, username: str, password: str | None = None):
    response = client.post("/login/", data={"username": username, "password": password or PASSWORDS[username]})
    assert response.status_code == 302, f"login failed for {username}"
    return client


@pytest.fixture
def login_as(app):
    def _login(username: str):
        return login(app.test_client(), username)

    return _login


STRONG_PASSWORD = "Kettle-7-Lamp"  # meets the password policy


@pytest.fixture
def new_login(app):
    """A clerk login of its own, made outside any request: locking it, or reading its audit trail, disturbs no
    other test."""
    from app.services.roles import CLERK

    def make(password=STRONG_PASSWORD):
        name = f"tmp{uuid.uuid4().hex[:8]}"
        with app.app_context():
            sm = app.appbuilder.sm
            assert sm.add_user(name, "测试", "临时", f"{name}@example.com", sm.find_role(CLERK), password=password)
        return name

    return make


@pytest.fixture
def api_token(client):
    def _token(username: str) -> dict:
        response = client.post("/api/v1/security/login", json={
            "username": username, "password": PASSWORDS[username], "provider": "db"})
        assert response.status_code == 200, response.get_data(as_text=True)
        return {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    return _token


def flashes(html: str) -> str:
    """The text of FAB's flash messages in a page."""
    return " ".join(re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S))


@pytest.fixture
def channels(app, monkeypatch):
    """Point the outside channels at loopback servers for one test; its leftover messages go with it."""
    def configure(smtp=None, http=None):
        if smtp is not None:
            monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
            monkeypatch.setitem(app.config, "SMTP_PORT", smtp.port)
            monkeypatch.setitem(app.config, "MAIL_FROM", "售后服务中心 <service@example.com>")
        if http is not None:
            monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", http.url("/sms"))
            monkeypatch.setitem(app.config, "SMS_GATEWAY_TOKEN", "gw-token")
            monkeypatch.setitem(app.config, "WECHAT_APP_ID", "wx-app")
            monkeypatch.setitem(app.config, "WECHAT_APP_SECRET", "wx-secret")
            monkeypatch.setitem(app.config, "WECHAT_API_BASE", http.url(""))
        monkeypatch.setitem(app.config, "TRACKING_URL", "https://service.example.com/track?no={number}")
    yield configure
    from app.models import Notification, NotifyEndpoint

    with app.app_context():
        db.session.execute(Notification.__table__.update().where(Notification.state == "pending")
                           .values(state="dead", last_error="left over by a test"))
        db.session.execute(NotifyEndpoint.__table__.update().values(active=False))
        db.session.commit()


# --- the browser tests' chromium and a real HTTP server around the app -------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "test-artifacts")

def _watch_content_security_policy(browser, violations: list) -> None:
    """Every tab the test opens reports what the Content-Security-Policy refused (an inline script without
    the nonce, a javascript: link, another host): chromium says so on the console. (It refuses eval too:
    give Playwright's wait_for_function a function, "() => …", not a bare expression.)"""
    def watch(page):
        page.on("console", lambda message: "Content Security Policy" in message.text
                and violations.append(f"{page.url}: {message.text}"))

    def new_context(*args, **kwargs):
        context = plain_new_context(*args, **kwargs)
        context.on("page", watch)
        return context

    def new_page(*args, **kwargs):
        page = plain_new_page(*args, **kwargs)
        watch(page)
        return page

    plain_new_context, plain_new_page = browser.new_context, browser.new_page
    browser.new_context, browser.new_page = new_context, new_page


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail("chromium is missing in CI (scripts/ensure-test-packages.sh installs it)")
        pytest.skip("Debian's chromium is not installed (run scripts/ensure-test-packages.sh as root)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    violations = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        _watch_content_security_policy(browser, violations)
        yield browser
        browser.close()
    assert violations == [], "the Content-Security-Policy refused:\n" + "\n".join(violations)


def sign_in(page, server: str, username: str) -> None:
    """Log a browser tab in through the login form (a demo login or the admin)."""
    page.goto(f"{server}/login/")
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.click("[type=submit]")


@pytest.fixture
def server(app):
    with serving(app) as url:
        yield url
