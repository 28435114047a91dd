"""Web security as a user or an attacker meets it: the headers on every response, the login rate limit, the
login lock with its clock, the password policy wherever a password is set, and the cookies' flags."""
import re
import uuid
from datetime import datetime, timedelta

import pytest
from flask_login import UserMixin, login_user
from sqlalchemy import select

from app import timeutil
from app.extensions import db
from app.models import LoginLock, User
from app.services import demo, passwords
from app.services.roles import CLERK
from tests.conftest import (
    ADMIN_PASSWORD, PASSWORDS, STRONG_PASSWORD, flashes, login, make_app, sign_in,
)

STRONG = STRONG_PASSWORD
LOCKED = "登录已被锁定"
INVALID = "无效的用户名或密码"


def header_values(response):
    return {name: response.headers.get(name) for name in (
        "Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
        "Strict-Transport-Security")}


def directives(policy: str) -> dict:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.fixture
def clock(monkeypatch):
    """The time the login lock reads (app.timeutil.utcnow), moved by the test."""
    now = {"at": datetime(2026, 11, 22, 2, 30)}
    monkeypatch.setattr(timeutil, "utcnow", lambda: now["at"])

    def advance(**delta):
        now["at"] += timedelta(**delta)

    advance.now = lambda: now["at"]
    return advance


def attempt(client, username, password):
    """A console login; returns the message it shows and whether it let the user in."""
    response = client.post("/login/", data={"username": username, "password": password}, follow_redirects=True)
    assert response.status_code == 200
    with client.session_transaction() as flask_session:
        logged_in = "_user_id" in flask_session
    client.get("/logout/")
    return flashes(response.get_data(as_text=True)), logged_in


def api_login(client, username, password):
    return client.post("/api/v1/security/login", json={"username": username, "password": password, "provider": "db"})


# --- headers ---------------------------------------------------------------------------------------------

def test_console_portal_api_and_static_files_carry_the_security_headers(client):
    for url, status in (("/login/", 200), ("/portal/", 200), ("/api/v1/ticket/", 401),
                        ("/static/portal/portal.css", 200), ("/no-such-page", 404)):
        response = client.get(url)
        assert response.status_code == status, url
        headers = header_values(response)
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["Referrer-Policy"] == "same-origin", url
        assert headers["Strict-Transport-Security"] is None, url  # plain HTTP, cookies not secure
        policy = directives(headers["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
        assert policy["script-src"][0] == "'self'" and policy["script-src"][1].startswith("'nonce-")
        assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
        # Nothing is loaded from anywhere else: every source is the app itself (or an inline data: image).
        sources = {s for values in policy.values() for s in values if not s.startswith("'nonce-")}
        assert sources <= {"'self'", "'none'", "'unsafe-inline'", "data:"}, url


def test_every_script_of_a_page_carries_the_nonce_of_its_response(login_as):
    clerk = login_as("clerk")
    nonces, inline_scripts = set(), 0
    for url in ("/", "/intake/phone/", "/ticketview/list/", "/ticketview/add", "/customerview/list/"):
        response = clerk.get(url)
        assert response.status_code == 200, url
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        html = response.get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")([^>]*)>", html)
        assert all(f'nonce="{nonce}"' in attributes for attributes in inline), url
        inline_scripts += len(inline)
        nonces.add(nonce)
    assert inline_scripts >= 3  # the phone registration's, FAB's search and form widgets'
    assert len(nonces) == 5  # a new one for every response


def test_the_portal_back_link_needs_no_inline_script(client):
    html = client.get("/portal/").get_data(as_text=True)
    assert "javascript:" not in html
    from flask import render_template

    with client.application.test_request_context("/portal/"):
        page = render_template("portal/message.html", title="t", text="x", back=True)
    assert "javascript:" not in page and "data-history-back" in page


# --- the rate limit -----------------------------------------------------------------------------------------

def test_logins_from_one_address_are_limited_on_the_form_and_the_api(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUTH_RATE_LIMIT", "3 per minute")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    for _ in range(3):
        response = attacker.post("/login/", data={"username": "nobody-here", "password": "guess-1234"})
        assert response.status_code == 302
    refused = attacker.post("/login/", data={"username": "nobody-here", "password": "guess-1234"})
    assert refused.status_code == 429
    assert "登录尝试过于频繁" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0
    # Looking at the login page is not an attempt.
    assert attacker.get("/login/").status_code == 200

    for _ in range(3):
        assert api_login(attacker, "nobody-here", "guess-1234").status_code == 401
    refused = api_login(attacker, "nobody-here", "guess-1234")
    assert refused.status_code == 429 and "登录尝试过于频繁" in refused.get_json()["message"]
    english = attacker.post("/api/v1/security/login", headers={"Accept-Language": "en"},
                            json={"username": "nobody-here", "password": "x", "provider": "db"})
    assert english.status_code == 429 and "Too many login attempts" in english.get_json()["message"]

    colleague = app.test_client()
    colleague.environ_base["REMOTE_ADDR"] = "203.0.113.8"
    login(colleague, "clerk")


# --- the login lock -----------------------------------------------------------------------------------------

def test_five_wrong_passwords_lock_the_login_even_against_the_right_one_until_the_lock_ends(app, new_login, clock):
    name = new_login()
    client = app.test_client()
    for _ in range(4):
        message, logged_in = attempt(client, name, "wrong-pass-1")
        assert INVALID in message and not logged_in
    message, logged_in = attempt(client, name, "wrong-pass-1")
    assert LOCKED in message and "2026-11-22 10:45" in message and not logged_in  # 15 minutes, Shanghai time

    clock(minutes=14, seconds=59)
    message, logged_in = attempt(client, name, STRONG)
    assert LOCKED in message and not logged_in
    assert api_login(client, name, STRONG).status_code == 401

    clock(seconds=1)
    message, logged_in = attempt(client, name, STRONG)
    assert logged_in and LOCKED not in message
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == name))
        assert user.fail_login_count == 0 and db.session.get(LoginLock, user.id) is None
    assert api_login(client, name, STRONG).status_code == 200


def test_the_lock_message_follows_the_language(app, new_login, clock):
    name = new_login()
    client = app.test_client()
    client.get("/lang/en")
    for _ in range(5):
        response = client.post("/login/", data={"username": name, "password": "wrong-pass-1"}, follow_redirects=True)
    assert "this login is locked until 2026-11-22 10:45" in flashes(response.get_data(as_text=True))


def test_a_right_password_starts_the_count_afresh_and_a_wrong_one_after_the_lock_relocks(app, new_login, clock):
    name = new_login()
    client = app.test_client()
    for _ in range(4):
        attempt(client, name, "wrong-pass-1")
    assert attempt(client, name, STRONG)[1]
    for _ in range(4):
        message, _in = attempt(client, name, "wrong-pass-1")
        assert INVALID in message
    assert attempt(client, name, STRONG)[1]

    for _ in range(5):
        attempt(client, name, "wrong-pass-1")
    clock(minutes=16)
    message, logged_in = attempt(client, name, "wrong-pass-1")  # the count is still at five: locked at once
    assert LOCKED in message and not logged_in
    assert not attempt(client, name, STRONG)[1]


def test_an_admin_unlocks_a_login_with_the_unlock_action_or_a_new_password(app, new_login, clock, login_as):
    name = new_login()
    client = app.test_client()
    for _ in range(5):
        attempt(client, name, "wrong-pass-1")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == name))
    admin = login_as("admin")
    listing = admin.get(f"/users/list/?_flt_0_username={name}").get_data(as_text=True)
    assert "失败的登录次数" in listing and "解锁" in listing
    answer = admin.post("/users/action_post", data={"action": "unlock", "rowid": [str(user_id)]},
                        follow_redirects=True)
    assert answer.status_code == 200 and "已解锁 1 个登录" in flashes(answer.get_data(as_text=True))
    assert attempt(client, name, STRONG)[1]

    for _ in range(5):
        attempt(client, name, "wrong-pass-1")
    assert not attempt(client, name, STRONG)[1]
    answer = admin.post(f"/resetpassword/form?pk={user_id}",
                        data={"password": "Brand-new-2026", "conf_password": "Brand-new-2026"}, follow_redirects=True)
    assert "密码已更改" in flashes(answer.get_data(as_text=True))
    assert attempt(client, name, "Brand-new-2026")[1]


def test_unlocking_is_the_admins_alone(app, new_login, clock, login_as):
    name = new_login()
    for _ in range(5):
        attempt(app.test_client(), name, "wrong-pass-1")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == name))
    manager = login_as("manager")
    response = manager.post("/users/action_post", data={"action": "unlock", "rowid": [str(user_id)]},
                            follow_redirects=True)
    assert "已解锁" not in flashes(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(LoginLock, user_id) is not None
    assert not attempt(app.test_client(), name, STRONG)[1]


# --- the password policy ------------------------------------------------------------------------------------

@pytest.mark.parametrize("password, username, expected", [
    ("Kettle-7-Lamp", "zhangwei", []),
    ("short1", "zhangwei", ["至少需要 10 个字符"]),
    ("onlyletters-here", "zhangwei", ["字母和数字"]),
    ("1234567890123", "zhangwei", ["字母和数字"]),
    ("ZhangWei-2026", "zhangwei", ["不能包含登录名"]),
    ("zhangwei", "zhangwei", ["至少需要 10 个字符", "字母和数字", "不能包含登录名"]),
    ("li-2026-spring", "li", []),  # a two-letter login name is in too many words to forbid
    ("", None, ["至少需要 10 个字符", "字母和数字"]),
])
def test_the_password_policy_says_what_is_missing(app, password, username, expected):
    with app.test_request_context("/"):
        found = passwords.problems(password, username)
    assert len(found) == len(expected)
    assert all(part in sentence for part, sentence in zip(expected, found))


def test_generated_demo_and_test_passwords_meet_the_policy(app):
    with app.app_context():
        for _ in range(300):
            assert passwords.problems(passwords.generate("admin"), "admin") == []
        for username, password, _role in demo.DEMO_LOGINS:
            assert passwords.problems(password, username) == []
        assert passwords.problems(ADMIN_PASSWORD, "admin") == []
        assert passwords.problems(passwords.generate(min_length=24), min_length=24) == []


def add_user_form(app, username, password):
    with app.app_context():
        role_id = app.appbuilder.sm.find_role(CLERK).id
    return {"first_name": "新", "last_name": "同事", "username": username, "active": "y",
            "email": f"{username}@example.com", "roles": [str(role_id)], "password": password,
            "conf_password": password}


def test_an_admin_creating_a_login_is_told_what_the_password_lacks(app, login_as):
    admin = login_as("admin")
    name = f"new{uuid.uuid4().hex[:6]}"
    page = admin.get("/users/add").get_data(as_text=True)
    assert "至少 10 个字符，包含字母和数字，不能包含登录名" in page
    for weak, reason in (("abc123", "至少需要 10 个字符"), ("no-digits-at-all", "字母和数字"),
                         (f"{name}-2026-x", "不能包含登录名")):
        response = admin.post("/users/add", data=add_user_form(app, name, weak))
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert re.search(r'id="password".{0,600}' + reason, html, re.S), weak
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == name)) is None
    response = admin.post("/users/add", data=add_user_form(app, name, STRONG))
    assert response.status_code == 302
    assert attempt(app.test_client(), name, STRONG)[1]


def test_a_new_password_of_ones_own_follows_the_policy(app, new_login):
    name = new_login()
    client = app.test_client()
    login(client, name, STRONG)
    page = client.get("/resetmypassword/form").get_data(as_text=True)
    assert "至少 10 个字符" in page and "this application does not check" not in page
    response = client.post("/resetmypassword/form", data={"password": f"{name}12345", "conf_password": f"{name}12345"})
    assert response.status_code == 200 and "不能包含登录名" in response.get_data(as_text=True)
    response = client.post("/resetmypassword/form", data={"password": "Garden-42-Gate", "conf_password": "Garden-42-Gate"},
                           follow_redirects=True)
    assert "密码已更改" in flashes(response.get_data(as_text=True))
    client.get("/logout/")
    assert attempt(client, name, "Garden-42-Gate")[1]


def test_setting_a_password_for_a_missing_user_is_refused_not_a_server_error(login_as):
    admin = login_as("admin")
    response = admin.post("/resetpassword/form?pk=999999", data={"password": STRONG, "conf_password": STRONG},
                          follow_redirects=True)
    assert response.status_code == 200 and "没有这个用户" in flashes(response.get_data(as_text=True))


# --- a fresh installation behind HTTPS ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def https_app(tmp_path_factory):
    application = make_app(tmp_path_factory, "sqlite", "https", SESSION_COOKIE_SECURE=True, ADMIN_PASSWORD=None)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_init_refuses_a_weak_admin_password_and_generates_a_good_one(https_app):
    runner = https_app.test_cli_runner()
    https_app.config["ADMIN_PASSWORD"] = "admin12345"
    result = runner.invoke(args=["init"])
    assert result.exit_code == 1 and "ADMIN_PASSWORD" in result.output and "不能包含登录名" in result.output
    https_app.config["ADMIN_PASSWORD"] = None
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    generated = re.search(r"Admin login created: admin / (\S+)", result.output).group(1)
    with https_app.app_context():
        assert passwords.problems(generated, "admin") == []
    client = https_app.test_client()
    response = client.post("/login/", data={"username": "admin", "password": generated},
                           base_url="https://localhost")
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]


def test_behind_https_browsers_are_told_to_keep_to_it(https_app):
    client = https_app.test_client()
    over_https = client.get("/static/portal/portal.css", base_url="https://localhost")
    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000"
    proxied = client.get("/static/portal/portal.css", headers={"X-Forwarded-Proto": "https"})
    assert proxied.headers["Strict-Transport-Security"] == "max-age=31536000"
    # Plain HTTP never carries it (a browser would ignore it there anyway), and nothing is redirected here:
    # the proxy in front does that.
    plain = client.get("/static/portal/portal.css")
    assert plain.status_code == 200 and "Strict-Transport-Security" not in plain.headers


class _Somebody(UserMixin):
    id = "1"


def remember_cookie(application):
    with application.test_request_context("/", base_url="https://localhost"):
        login_user(_Somebody(), remember=True)
        response = application.process_response(application.make_response("ok"))
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token="))


def test_the_remember_cookie_is_as_guarded_as_the_session_cookie(app, https_app):
    secure = remember_cookie(https_app)
    assert "Secure" in secure and "HttpOnly" in secure and "SameSite=Lax" in secure
    plain = remember_cookie(app)
    assert "Secure" not in plain and "HttpOnly" in plain and "SameSite=Lax" in plain
    response = app.test_client().post("/login/", data={"username": "clerk", "password": PASSWORDS["clerk"]})
    session_cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie and "Secure" not in session_cookie


# --- the pages still work under the policy (the browser fixture fails a test on any refusal) ---------------

@pytest.mark.browser
def test_the_admins_pages_run_their_scripts_under_the_policy(app, browser, server):
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    sign_in(page, server, "admin")
    page.wait_for_selector("#open-counts")
    # Swagger UI: FAB's bundle, and an inline script that starts it (with the response's nonce).
    page.goto(f"{server}/swagger/v1")
    page.wait_for_selector("#swagger-ui .swagger-ui")
    # The users list: Bootstrap's dropdown offers the unlock action.
    page.goto(f"{server}/users/list/")
    page.locator(".dropdown-toggle", has_text="操作").click()
    assert page.locator(".dropdown-menu a", has_text="解锁").is_visible()
