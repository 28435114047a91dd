"""The audit trail as an administrator meets it (用户权限 → 审计日志): who changed which user, role, token or
setting, when, from where and what changed — secrets never written, nothing logged that was rolled back,
no way to change or remove an entry, and the hot paths untouched."""
import json
import re
import uuid
from datetime import datetime, timedelta

import pytest
from flask_appbuilder.models.sqla.filters import FilterEqual
from sqlalchemy import event, func, select, text
from werkzeug.middleware.proxy_fix import ProxyFix

from app import timeutil
from app.extensions import db
from app.models import AuditLog, DispatchSettings, IntegrationToken, NotifyEndpoint, User
from app.services import audit, tokens
from app.services.roles import CLERK, MANAGER
from app.views.audit import AuditLogView
from app.views.ticket_filters import filter_position
from tests.conftest import STRONG_PASSWORD, flashes, login
from tests.helpers import new_ticket

STRONG = STRONG_PASSWORD
LIST = "/auditlogview/list/"


def last_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.max(AuditLog.id), 0)))


def entries(app, since: int, object_type: str | None = None, object_id: int | None = None) -> list[AuditLog]:
    """The audit rows written after `since`, oldest first (detached, safe to read after the context)."""
    with app.app_context():
        query = select(AuditLog).where(AuditLog.id > since).order_by(AuditLog.id)
        if object_type is not None:
            query = query.where(AuditLog.object_type == object_type)
        if object_id is not None:
            query = query.where(AuditLog.object_id == object_id)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return rows


def user_id_of(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def role_id(app, name: str) -> int:
    with app.app_context():
        return app.appbuilder.sm.find_role(name).id


def attempt(client, username, password) -> bool:
    client.post("/login/", data={"username": username, "password": password}, follow_redirects=True)
    with client.session_transaction() as flask_session:
        logged_in = "_user_id" in flask_session
    client.get("/logout/")
    return logged_in


# --- users, roles, passwords --------------------------------------------------------------------------------

def test_creating_and_editing_a_user_in_the_console_records_who_what_and_old_to_new(app, login_as):
    admin = login_as("admin")
    name = f"aud{uuid.uuid4().hex[:8]}"
    since = last_id(app)
    response = admin.post("/users/add", data={
        "first_name": "晓明", "last_name": "王", "username": name, "active": "y", "email": f"{name}@example.com",
        "roles": [str(role_id(app, CLERK))], "password": STRONG, "conf_password": STRONG})
    assert response.status_code == 302
    uid = user_id_of(app, name)
    [created] = entries(app, since, "user", uid)
    assert (created.action, created.actor_name, created.actor_id) == ("create", "admin", user_id_of(app, "admin"))
    assert created.address == "127.0.0.1" and created.object_label == name
    assert created.changes["username"] == [None, name]
    assert created.changes["email"] == [None, f"{name}@example.com"]
    assert created.changes["roles"] == {"added": [CLERK], "removed": []}
    assert created.changes["password"] == {"secret": "set"}
    assert abs(created.at - timeutil.utcnow()) < timedelta(minutes=1)  # stored in UTC

    since = last_id(app)
    response = admin.post(f"/users/edit/{uid}", data={
        "first_name": "晓明", "last_name": "王", "username": name, "email": f"{name}@example.net",
        "roles": [str(role_id(app, MANAGER))]})  # 是否激活 unticked
    assert response.status_code == 302
    # FAB's form writes the fields and the roles in two flushes of one transaction: one row each, like a
    # history with a line per field.
    edits = entries(app, since, "user", uid)
    assert {(e.action, e.actor_name) for e in edits} == {("update", "admin")}
    assert {k: v for e in edits for k, v in e.changes.items()} == {
        "active": [True, False], "email": [f"{name}@example.com", f"{name}@example.net"],
        "roles": {"added": [MANAGER], "removed": [CLERK]}}
    edited = next(e for e in edits if "active" in e.changes)
    roles_row = next(e for e in edits if "roles" in e.changes)

    # The administrator reads it in their language, newest first.
    page = admin.get(f"{LIST}?_l_=zh").get_data(as_text=True)
    assert "审计日志" in page
    row = page[page.index(f"{name}@example.net") - 1500:page.index(f"{name}@example.net") + 200]
    assert f"<strong>电子邮箱</strong>: {name}@example.com → {name}@example.net" in row
    assert page.index(f"{name}@example.net") < page.index(f"{name}@example.com</li>")  # the edit above the creation
    shown = admin.get(f"/auditlogview/show/{edited.id}?_l_=en").get_data(as_text=True)
    assert "Is Active?" in shown and "Yes → No" in shown
    shown = admin.get(f"/auditlogview/show/{roles_row.id}?_l_=en").get_data(as_text=True)
    assert "<strong>Role</strong>: added: Manager; removed: Clerk" in shown

    since = last_id(app)
    admin.post(f"/users/delete/{uid}")
    [deleted] = entries(app, since, "user", uid)
    assert deleted.action == "delete" and deleted.changes["username"] == [name, None]
    assert deleted.changes["roles"] == {"added": [], "removed": [MANAGER]}


def test_a_change_to_a_roles_permissions_is_recorded(app, login_as):
    name = f"审计角色{uuid.uuid4().hex[:6]}"
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.add_role(name)
        pv_list = sm.find_permission_view_menu("can_list", "Customer").id
        pv_show = sm.find_permission_view_menu("can_show", "Customer").id
        rid = role.id
    admin = login_as("admin")
    since = last_id(app)
    response = admin.post(f"/roles/edit/{rid}", data={"name": name, "permissions": [str(pv_list), str(pv_show)]})
    assert response.status_code == 302
    [granted] = entries(app, since, "role", rid)
    assert (granted.action, granted.actor_name, granted.object_label) == ("update", "admin", name)
    assert granted.changes == {"permissions": {"added": ["can list on Customer", "can show on Customer"],
                                               "removed": []}}
    since = last_id(app)
    admin.post(f"/roles/edit/{rid}", data={"name": name, "permissions": [str(pv_show)]})
    [revoked] = entries(app, since, "role", rid)
    assert revoked.changes == {"permissions": {"added": [], "removed": ["can list on Customer"]}}
    page = admin.get(f"/auditlogview/show/{revoked.id}").get_data(as_text=True)
    assert "权限" in page and "移除：can list on Customer" in page


def test_a_password_set_by_an_admin_or_by_oneself_is_recorded_without_the_password(app, new_login, login_as):
    name = new_login()
    uid = user_id_of(app, name)
    since = last_id(app)
    admin = login_as("admin")
    answer = admin.post(f"/resetpassword/form?pk={uid}", data={"password": "Brand-new-2026",
                                                                "conf_password": "Brand-new-2026"})
    assert answer.status_code == 302
    client = login(app.test_client(), name, "Brand-new-2026")
    answer = client.post("/resetmypassword/form", data={"password": "Garden-42-Gate",
                                                         "conf_password": "Garden-42-Gate"})
    assert answer.status_code == 302
    rows = entries(app, since, "user", uid)
    assert [(r.action, r.actor_name) for r in rows] == [("password", "admin"), ("password", name)]
    with app.app_context():
        digest = db.session.get(User, uid).password
    stored = json.dumps([[r.changes, r.object_label] for r in rows], ensure_ascii=False)
    for secret in ("Brand-new-2026", "Garden-42-Gate", digest, digest.split("$")[-1]):
        assert secret not in stored
    admin_view = admin.get(f"/auditlogview/show/{rows[0].id}").get_data(as_text=True)
    own_view = admin.get(f"/auditlogview/show/{rows[1].id}").get_data(as_text=True)
    assert "为该登录设置了新密码" in admin_view and "修改了自己的密码" in own_view


def test_a_lock_out_and_an_unlock_are_recorded(app, new_login, login_as, monkeypatch):
    now = datetime(2026, 11, 22, 2, 30)
    monkeypatch.setattr(timeutil, "utcnow", lambda: now)
    name = new_login()
    uid = user_id_of(app, name)
    since = last_id(app)
    guesser = app.test_client()
    for _ in range(5):
        assert not attempt(guesser, name, "wrong-pass-1")
    [locked] = entries(app, since, "user", uid)
    assert (locked.action, locked.actor_id, locked.actor_name, locked.address) == ("lock", None, "", "127.0.0.1")
    assert locked.changes == {"failures": 5, "until": "2026-11-22T02:45:00Z"}

    admin = login_as("admin")
    since = last_id(app)
    admin.post("/users/action_post", data={"action": "unlock", "rowid": [str(uid)]})
    [unlocked] = entries(app, since, "user", uid)
    assert (unlocked.action, unlocked.actor_name) == ("unlock", "admin")
    assert unlocked.changes == {"failures": 5, "locked": True}
    assert attempt(app.test_client(), name, STRONG)

    page = admin.get(f"{LIST}?_flt_0_object_id={uid}").get_data(as_text=True)
    assert "匿名" in page and "连续 5 次密码错误后锁定，直到 2026-11-22 10:45:00" in page  # Shanghai time
    assert "解锁登录" in page and "锁定登录" in page

    # A good password later is nobody's action: no row.
    since = last_id(app)
    assert attempt(app.test_client(), name, STRONG)
    assert entries(app, since, "user", uid) == []


# --- tokens, settings, connections -------------------------------------------------------------------------

def test_issuing_and_revoking_a_token_is_recorded_without_the_secret(app, login_as, client):
    admin = login_as("admin")
    since = last_id(app)
    label = f"审计令牌{uuid.uuid4().hex[:6]}"
    response = admin.post("/integrationtokenview/add", data={"name": label, "channel": "chat"},
                          follow_redirects=True)
    raw = re.search(r"sit_[A-Za-z0-9_-]{20,}", flashes(response.get_data(as_text=True))).group(0)
    with app.app_context():
        token = db.session.scalar(select(IntegrationToken).where(IntegrationToken.name == label))
        token_id, digest, prefix = token.id, token.token_hash, token.prefix
    [issued] = entries(app, since, "integration_token", token_id)
    assert (issued.action, issued.actor_name) == ("create", "admin")
    assert issued.changes == {"name": [None, label], "channel": [None, "chat"], "prefix": [None, prefix],
                              "active": [None, True]}
    stored = json.dumps([issued.changes, issued.object_label])
    assert raw not in stored and digest not in stored and raw[len(prefix):] not in stored

    # Using the token (its last use is written) is not an administrative action.
    since = last_id(app)
    answer = client.post("/api/v1/intake/", headers={"X-Channel-Token": raw}, json={
        "channel": "chat", "customer": {"phone": "13900001111"}, "description": "洗碗机漏水"})
    assert answer.status_code == 201
    assert entries(app, since) == []

    admin.post(f"/integrationtokenview/edit/{token_id}", data={"name": label})  # 启用 unticked: revoked
    [revoked] = entries(app, since, "integration_token", token_id)
    assert (revoked.action, revoked.changes) == ("update", {"active": [True, False]})
    page = admin.get(f"{LIST}?_flt_0_object_type=integration_token").get_data(as_text=True)
    assert "接入令牌" in page and label in page and "<td>修改</td>" in page.replace(" ", "").replace("\n", "")


def test_a_settings_edit_records_the_diff(app, login_as):
    manager = login_as("manager")
    with app.app_context():
        before = db.session.get(DispatchSettings, 1).candidates_shown
    since = last_id(app)
    form = {"auto_dispatch": "y", "weight_load": "0.35", "weight_distance": "0.3", "weight_parts": "0.2",
            "weight_previous": "0.15", "distance_half_km": "10", "location_fresh_hours": "4",
            "candidates_shown": str(before + 2), "accept_remind_minutes": "15", "accept_redispatch_minutes": "30"}
    assert manager.post("/dispatchsettingsview/edit/1", data=form).status_code == 302
    try:
        [changed] = entries(app, since, "dispatch_settings", 1)
        assert (changed.action, changed.actor_name) == ("update", "manager")
        assert changed.changes["candidates_shown"] == [before, before + 2]
        page = login_as("admin").get(f"/auditlogview/show/{changed.id}").get_data(as_text=True)
        assert "派单设置" in page and f"<strong>工单上显示的候选人数</strong>: {before} → {before + 2}" in page
    finally:
        form["candidates_shown"] = str(before)
        manager.post("/dispatchsettingsview/edit/1", data=form)


def test_a_robot_address_and_secret_are_masked(app, login_as):
    admin = login_as("admin")
    key, secret = uuid.uuid4().hex + "AbCd", f"SEC{uuid.uuid4().hex}"
    name = f"审计机器人{uuid.uuid4().hex[:6]}"
    since = last_id(app)
    response = admin.post("/notifyendpointview/add", data={
        "name": name, "kind": "dingtalk", "url": f"https://oapi.dingtalk.com/robot/send?access_token={key}",
        "secret": secret, "events": ["sla_escalation"], "language": "zh"})
    assert response.status_code == 302
    with app.app_context():
        endpoint = db.session.scalar(select(NotifyEndpoint).where(NotifyEndpoint.name == name))
        endpoint_id = endpoint.id
    [created] = entries(app, since, "notify_endpoint", endpoint_id)
    assert created.changes["url"] == [None, "https://oapi.dingtalk.com/robot/send?access_token=***"]
    assert created.changes["secret"] == {"secret": "set"}
    assert key not in json.dumps(created.changes) and secret not in json.dumps(created.changes)
    with app.app_context():
        db.session.delete(db.session.get(NotifyEndpoint, endpoint_id))
        db.session.commit()
    [gone] = entries(app, created.id, "notify_endpoint", endpoint_id)
    assert (gone.action, gone.actor_name) == ("delete", "system")  # outside a request: the CLI, the scheduler
    assert key not in json.dumps(gone.changes) and secret not in json.dumps(gone.changes)


def test_the_address_is_the_clients_as_the_proxy_setting_says(app, login_as, monkeypatch):
    admin = login_as("admin")
    with app.app_context():
        before = db.session.get(DispatchSettings, 1).location_fresh_hours
    form = {"auto_dispatch": "y", "weight_load": "0.35", "weight_distance": "0.3", "weight_parts": "0.2",
            "weight_previous": "0.15", "distance_half_km": "10", "candidates_shown": "3",
            "accept_remind_minutes": "15", "accept_redispatch_minutes": "30"}
    since = last_id(app)
    # PROXY_FIX_HOPS=0 (the tests' setting): a forwarded address is a claim anyone can make, not believed.
    admin.post("/dispatchsettingsview/edit/1", data={**form, "location_fresh_hours": str(before + 1)},
               headers={"X-Forwarded-For": "203.0.113.9"}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    # Behind one proxy (PROXY_FIX_HOPS=1 wraps the app so): the client the proxy names.
    monkeypatch.setattr(app, "wsgi_app", ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1))
    admin.post("/dispatchsettingsview/edit/1", data={**form, "location_fresh_hours": str(before)},
               headers={"X-Forwarded-For": "203.0.113.9"}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert [r.address for r in entries(app, since, "dispatch_settings")] == ["192.0.2.7", "203.0.113.9"]


# --- append-only, transactional, for admins only ----------------------------------------------------------

def test_a_rolled_back_change_leaves_no_audit_row(app, login_as):
    since = last_id(app)
    with app.app_context():
        settings = db.session.get(DispatchSettings, 1)
        settings.candidates_shown += 1
        db.session.flush()  # the row is written with the change…
        assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.id > since)) == 1
        db.session.rollback()  # …and goes with it
    assert entries(app, since) == []

    # A refused console form changes nothing and logs nothing.
    admin = login_as("admin")
    taken = user_id_of(app, "clerk")
    with app.app_context():
        email = db.session.get(User, taken).email
    name = f"aud{uuid.uuid4().hex[:8]}"
    response = admin.post("/users/add", data={
        "first_name": "重", "last_name": "复", "username": name, "active": "y", "email": email,
        "roles": [str(role_id(app, CLERK))], "password": STRONG, "conf_password": STRONG})
    assert response.status_code == 200 and user_id_of(app, name) is None
    assert entries(app, since) == []


def test_no_one_can_change_or_remove_an_audit_row(app, login_as):
    rules = {r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("AuditLogView.")}
    assert rules == {"/auditlogview/list/", "/auditlogview/show/<pk>"}
    assert not [r.rule for r in app.url_map.iter_rules() if "audit" in r.rule.lower() and r.rule.startswith("/api/")]
    entry_id = last_id(app)
    admin = login_as("admin")
    for method, url in (("POST", "/auditlogview/add"), ("POST", f"/auditlogview/edit/{entry_id}"),
                        ("POST", f"/auditlogview/delete/{entry_id}"), ("GET", f"/auditlogview/delete/{entry_id}"),
                        ("POST", "/auditlogview/action_post"), ("POST", f"/auditlogview/show/{entry_id}")):
        assert admin.open(url, method=method, data={"action_name": "x"}).status_code in (404, 405), url
    # Nor behind the console's back: the database refuses it (triggers of migration 0016).
    with app.app_context():
        before = db.session.get(AuditLog, entry_id).changes
        statements = [f"UPDATE audit_log SET actor_name = 'someone' WHERE id = {entry_id}",
                      f"DELETE FROM audit_log WHERE id = {entry_id}"]
        if db.engine.dialect.name == "postgresql":
            statements.append("TRUNCATE audit_log")
        for statement in statements:
            with pytest.raises(Exception, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.get(AuditLog, entry_id).changes == before


@pytest.mark.parametrize("username", ["manager", "clerk", "engineer", "warehouse"])
def test_the_audit_log_is_the_admins_alone(app, login_as, username):
    entry_id = last_id(app)
    client = login_as(username)
    assert client.get(LIST).status_code == 403
    assert client.get(f"/auditlogview/show/{entry_id}").status_code == 403
    assert "/auditlogview/" not in client.get("/").get_data(as_text=True)  # not in their menu
    assert app.test_client().get(LIST).status_code == 302  # anonymous: to the login page


def test_admins_find_it_under_security_and_filter_it(app, login_as, new_login):
    name = new_login()
    admin = login_as("admin")
    home = admin.get("/?_l_=zh").get_data(as_text=True)
    assert "用户权限" in home and "审计日志" in home and "/auditlogview/list/" in home
    view = next(v for v in app.appbuilder.baseviews if isinstance(v, AuditLogView))
    by_name = filter_position(view, "actor_name", FilterEqual)
    listing = admin.get(f"{LIST}?_flt_0_object_type=user&_flt_{by_name}_actor_name=system"
                        f"&_flt_0_at=2000-01-01&_flt_1_at=2999-01-01").get_data(as_text=True)
    assert name in listing and "系统" in listing and "审计日志" in listing
    assert admin.get(f"{LIST}?_flt_0_object_type=user&_flt_1_at=2000-01-01").get_data(as_text=True).count(
        "/auditlogview/show/") == 0
    english = admin.get(f"{LIST}?_l_=en&_flt_0_object_type=user").get_data(as_text=True)
    assert "Audit log" in english and "Created" in english and "System" in english
    admin.get("/?_l_=zh")


# --- what it costs ----------------------------------------------------------------------------------------

def test_flushes_without_audited_objects_write_nothing_and_ask_nothing(app, session, monkeypatch):
    """Intake, the timeline, a token's last use: the listener returns before it looks for an actor or writes."""
    def no_actor():
        raise AssertionError("the audit listener went past its first check")

    monkeypatch.setattr(audit, "_actor", no_actor)
    statements = []
    listen = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        ticket = new_ticket(session, subject="审计不应插手的工单")
        ticket.subject = "审计不应插手的工单（改）"
        session.commit()
        token = IntegrationToken(name="热路径", channel="app")
        raw = tokens.issue(session, token)
        monkeypatch.setattr(audit, "_actor", lambda: (None, audit.SYSTEM, None))
        session.commit()
        monkeypatch.setattr(audit, "_actor", no_actor)
        statements.clear()
        assert tokens.verify(session, raw, now=timeutil.utcnow() + timedelta(hours=1)) is not None
        session.commit()  # last_used_at written: bookkeeping, no row
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert statements and not [s for s in statements if "audit_log" in s]


def test_every_audited_field_has_a_label_in_both_languages(app):
    from flask_babel import force_locale

    missing = []
    with app.test_request_context("/"):
        for model, spec in audit.REGISTRY.items():
            for f in audit.fields_of(model):
                label = spec.labels.get(f.key)
                if label is None:
                    missing.append(f"{spec.kind}.{f.key}")
                    continue
                with force_locale("zh"):
                    zh = str(label)
                with force_locale("en"):
                    en = str(label)
                if zh == en and not re.search(r"[\u4e00-\u9fff]", zh) and zh not in ("URL", "24×7", "TLS"):
                    missing.append(f"{spec.kind}.{f.key}: no Chinese ({zh})")
            for language in ("zh", "en"):
                with force_locale(language):
                    assert str(spec.label)
    assert missing == []
