"""Every route of the app × every role, generated from the URL map: a route added tomorrow is checked
tomorrow. Who may do what is ROLE_GRANTS (app.services.roles), the one place it is declared; this checks
that every route enforces it — no route without a permission check unless it is listed as public, no
success for a role without the grant, no refusal for a role with it, never a server error — and that an
engineer cannot reach a ticket assigned to someone else by id through any route.

It runs on SQLite only, against an app of its own: the checks are the app's, not the database's, and the
requests (adds, deletes, status changes with odd forms) must not disturb the other tests' data."""
import logging
import re
import uuid

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Ticket, TicketAttachment
from app.services import roles
from tests.conftest import PASSWORDS, login, seeded_app
from tests.helpers import NOW, engineer_of, other_engineer, user

ROLES = ("anonymous", "admin", "manager", "clerk", "engineer", "warehouse")
ROLE_NAMES = {"admin": roles.ADMIN, "manager": roles.MANAGER, "clerk": roles.CLERK, "engineer": roles.ENGINEER,
              "warehouse": roles.WAREHOUSE}
MISSING = 999_999_999  # an id no row has: a permitted role gets "not found", and nothing is changed or deleted

# Routes anyone may open, and why. Everything else must be behind a FAB permission.
PUBLIC = {
    "HomeView.index": "the start page; anonymous visitors are sent to the login",
    "AuthDBView.login": "logging in",
    "AuthDBView.logout": "logging out",
    "SecurityApi.login": "the REST login (JWT)",
    "SecurityApi.refresh": "the REST token refresh (needs a refresh token)",
    "LocaleView.index": "the language switch",
    "UtilView.back": "FAB's back link",
    "static": "vendored scripts, styles and fonts",
    "appbuilder.static": "FAB's own static files",
}
PUBLIC_PREFIXES = {"portal.": "the customer portal: no login; a ticket is opened only by its signed link"}
# Granted, and still refused for a reason beyond the grant: (role, endpoint) → why.
REFUSED_BEYOND_GRANTS = {
    ("admin", "WorkspaceView.location"): "the phone's position is an engineer's; the admin has no engineer profile",
}

# The value for each URL argument: a missing row, so that a permitted request finds nothing to act on.
ARGUMENTS = {"pk": MISSING, "attachment_id": MISSING, "item_id": MISSING, "ticket_id": MISSING,
             "article_id": MISSING, "number": "SR00000000-000000", "token": "not-a-signed-link", "code": "zh",
             "locale": "zh", "version": "v1", "filename": "none.txt", "key": "volume", "group_by": "0"}
# Whatever a form might ask for, so that a POST gets as far as the permission lets it.
FORM = {"to_status": "cancelled", "reason": "权限矩阵测试", "text": "权限矩阵测试", "note": "权限矩阵测试",
        "rowid": str(MISSING), "engineer_id": "", "quantity": "1", "outcome": "declined"}


@pytest.fixture(scope="module")
def matrix_app(tmp_path_factory):
    # Server errors come back as 500 responses (not raised), so that one run lists them all.
    with seeded_app(tmp_path_factory, "sqlite", "authz", PROPAGATE_EXCEPTIONS=False) as application:
        # FAB logs every refusal as a warning: thousands of lines that say nothing here.
        logging.getLogger("flask_appbuilder").setLevel(logging.ERROR)
        yield application


@pytest.fixture(scope="module")
def clients(matrix_app):
    out = {"anonymous": (matrix_app.test_client(), {})}
    for role in ROLES[1:]:
        client = login(matrix_app.test_client(), role)
        token = client.post("/api/v1/security/login", json={"username": role, "password": PASSWORDS[role],
                                                            "provider": "db"}).get_json()["access_token"]
        out[role] = (client, {"Authorization": f"Bearer {token}"})
    return out


def routes(app):
    """(endpoint, rule, method, view, permission) for every route; permission None for a public one."""
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        function = app.view_functions[rule.endpoint]
        view = getattr(function, "__self__", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, rule, method, view, getattr(function, "_permission_name", None)))
    return out


def is_public(endpoint: str) -> bool:
    return endpoint in PUBLIC or any(endpoint.startswith(p) for p in PUBLIC_PREFIXES)


def required(view, function_name: str, permission: str) -> str:
    """The permission FAB's has_access/protect checks for this method of this view."""
    name = (getattr(view, "method_permission_name", None) or {}).get(function_name) or permission
    return name if name.startswith("can_") else f"can_{name}"


def allowed(role: str, permission: str, view) -> bool:
    if role == "anonymous" or permission not in view.base_permissions:
        return False
    if role == "admin":
        return True
    return (permission, view.class_permission_name) in roles.grants_of(ROLE_NAMES[role])


def outcome(client, response) -> str:
    code = response.status_code
    if code >= 500:
        return "error"
    if code in (401, 403) or _denied_flash(client):
        return "refused"  # FAB refuses an action with a flash and a redirect back
    if 300 <= code < 400:
        return "refused" if "/login" in response.headers.get("Location", "") else "ok"
    return "ok" if code < 300 else "other"  # 400, 404, 405, 409, 422…: not done, not refused


def _denied_flash(client) -> bool:
    from flask_appbuilder.const import FLAMSG_ERR_SEC_ACCESS_DENIED

    with client.session_transaction() as flask_session:
        flashed = flask_session.pop("_flashes", [])
    return any(str(text) in (str(FLAMSG_ERR_SEC_ACCESS_DENIED), "拒绝访问", "访问被拒绝") for _c, text in flashed)


def send(client, headers, method, url, form=None):
    if method == "GET":
        return client.get(url, headers=headers)
    if url.startswith("/api/"):
        return client.open(url, method=method, json={}, headers=headers)
    return client.open(url, method=method, data={**FORM, **(form or {})}, headers=headers)


def get_mutation(endpoint: str, method: str) -> bool:
    """FAB's delete and row-action routes also answer GET; with CSRF protection on, FAB refuses a change
    made by GET (a link someone could be lured into opening) whoever asks."""
    return method == "GET" and endpoint.endswith((".delete", ".action"))


def urls_of(app, endpoint, rule, values):
    """(action, URL, form) for the route and these values: for a model view's action routes, one per action
    it declares (the list's action posts its name in the form)."""
    view = getattr(app.view_functions[endpoint], "__self__", None)
    adapter = app.url_map.bind("localhost")
    if endpoint.endswith(".action"):
        return [(name, adapter.build(endpoint, {"name": name, "pk": values["pk"]}), None)
                for name in getattr(view, "actions", {})]
    if endpoint.endswith(".action_post"):
        return [(name, adapter.build(endpoint), {"action": name, "rowid": str(values["pk"])})
                for name in getattr(view, "actions", {})]
    return [(None, adapter.build(endpoint, {a: values[a] for a in rule.arguments}), None)]


def test_every_route_is_guarded_or_listed_as_public(matrix_app):
    unguarded = sorted({endpoint for endpoint, _r, _m, _v, permission in routes(matrix_app)
                        if permission is None and not is_public(endpoint)
                        and not endpoint.endswith((".action", ".action_post"))})
    assert unguarded == [], "routes without a permission check (add @has_access / @protect, or list them)"
    assert len(routes(matrix_app)) > 500  # the whole console, the API and the portal were found


def test_every_role_gets_exactly_what_its_grants_allow_on_every_route(matrix_app, clients):
    wrong, checked = [], 0
    for endpoint, rule, method, view, permission in routes(matrix_app):
        if endpoint == "AuthDBView.logout":
            continue  # it would end the sessions the rest of the matrix runs in; logging out is public anyway
        for action, url, form in urls_of(matrix_app, endpoint, rule, ARGUMENTS):
            if action is not None:  # an action has a permission of its own, named after it
                need = view.get_action_permission_name(action)
            elif permission is not None:
                need = required(view, matrix_app.view_functions[endpoint].__name__, permission)
            else:
                need = None
            for role in ROLES:
                client, headers = clients[role]
                got = outcome(client, send(client, headers, method, url, form))
                checked += 1
                may = need is not None and allowed(role, need, view) and not get_mutation(endpoint, method)
                if got == "error":
                    wrong.append(f"{role} {method} {url}: server error")
                elif need is None:
                    continue
                elif may and got == "refused" and (role, endpoint) not in REFUSED_BEYOND_GRANTS:
                    wrong.append(f"{role} {method} {url}: refused although granted {need}")
                elif not may and got != "refused":
                    wrong.append(f"{role} {method} {url}: {got} without {need} on {view.class_permission_name}")
    assert wrong == [], f"{len(wrong)} of {checked} requests:\n" + "\n".join(wrong[:120])


@pytest.fixture(scope="module")
def theirs(matrix_app):
    """A ticket assigned to another engineer, with a photo, a note, a part and words nobody else has."""
    from app.services import intake, inventory, tickets
    from app.services.intake import Attachment
    from tests.portal_world import png
    from tests.test_inventory import new_part

    marker = f"机密{uuid.uuid4().hex[:10]}"
    with matrix_app.app_context():
        session = db.session
        ticket, _ = tickets.create_ticket(session, channel="phone", subject=f"{marker} 冰箱不制冷", now=NOW,
                                          description=f"{marker} 描述", actor=user(session, "clerk"),
                                          contact_name=f"{marker}客户", contact_phone="13900009999")
        tickets.assign(session, ticket, other_engineer(session), now=NOW, actor=user(session, "clerk"))
        intake.add_reply(session, ticket, channel="web", message_key=None, text=f"{marker} 补充", sender=None,
                         attachments=[Attachment(filename=f"{marker}.png", content=png(), content_type="image/png")],
                         now=NOW)
        tickets.add_note(session, ticket, f"{marker} 内部备注", now=NOW, actor=user(session, "clerk"))
        part = new_part(session, WH_BJ=2)
        item = inventory.need_and_reserve(session, ticket, part, 1, now=NOW, actor=user(session, "clerk")).item
        session.commit()
        attachment = session.scalar(select(TicketAttachment.id).where(TicketAttachment.ticket_id == ticket.id))
        event = ticket.events[-1].id
        values = {**ARGUMENTS, "pk": ticket.id, "ticket_id": ticket.id, "attachment_id": attachment,
                  "item_id": item.id, "number": ticket.number}
        assert engineer_of(session).id != ticket.assignee_id
        yield {"id": ticket.id, "number": ticket.number, "marker": marker, "values": values, "event": event,
               "version": ticket.version}


def test_an_engineer_cannot_reach_another_engineers_ticket_through_any_route(matrix_app, clients, theirs):
    """Every route, its id arguments filled with the other engineer's ticket (its photo, its part…): the
    ticket's words never appear, and nothing the engineer posts changes it."""
    client, headers = clients["engineer"]
    leaks = []
    searches = [f"/ticketview/list/?_flt_0_number={theirs['number']}", f"/ticketview/list/?_flt_0_subject="
                f"{theirs['marker']}", f"/ticketeventview/list/?_flt_0_ticket={theirs['id']}",
                f"/api/v1/ticket/{theirs['id']}", "/api/v1/ticket/?q=(page_size:100)",
                f"/ticketeventview/show/{theirs['event']}", f"/workspace/ticket/{theirs['id']}"]
    requests = [("GET", url, None) for url in searches]
    for endpoint, rule, method, _view, _permission in routes(matrix_app):
        if endpoint == "AuthDBView.logout" or is_public(endpoint):
            continue
        requests += [(method, url, form) for _a, url, form in urls_of(matrix_app, endpoint, rule, theirs["values"])]
        if "pk" in rule.arguments and "ticket" not in endpoint.lower():
            # The ticket's events are rows of their own: try that id where a row id is asked.
            requests += [(method, url, form) for _a, url, form in
                         urls_of(matrix_app, endpoint, rule, {**theirs["values"], "pk": theirs["event"]})]
    for method, url, form in requests:
        response = send(client, headers, method, url, form)
        body = response.get_data(as_text=True)
        if response.status_code >= 500:
            leaks.append(f"{method} {url}: server error")
        if 300 <= response.status_code < 400:
            continue  # a redirect's body is its Location, which may be a page visited before (a search)
        # The number may be echoed back from a URL that carries it (a search box); anywhere else it is a leak.
        for word in [theirs["marker"]] + ([theirs["number"]] if theirs["number"] not in url else []):
            at = body.find(word)
            if at >= 0:
                leaks.append(f"{method} {url}: {response.status_code} …{body[max(at - 120, 0):at + 40]}…")
    assert leaks == [], "\n".join(leaks[:50])
    with matrix_app.app_context():
        ticket = db.session.get(Ticket, theirs["id"])
        assert ticket.version == theirs["version"] and ticket.assignee_id != engineer_of(db.session).id


def test_an_id_beyond_the_databases_integers_is_not_found_on_any_route(matrix_app, clients):
    """A made-up id too large for an integer column (a typo, a scanner) is "not found" everywhere — FAB's
    views, ours, the API — never the database driver's overflow as a server error."""
    client, headers = clients["admin"]
    huge = {**ARGUMENTS, **{name: 99_999_999_999_999_999_999 for name in
                            ("pk", "attachment_id", "item_id", "ticket_id", "article_id")}}
    errors = []
    for endpoint, rule, method, _view, _permission in routes(matrix_app):
        if endpoint == "AuthDBView.logout":
            continue
        for _a, url, form in urls_of(matrix_app, endpoint, rule, huge):
            form = {**(form or {}), "engineer_id": str(huge["pk"]), "part_id": str(huge["pk"])}
            if send(client, headers, method, url, form).status_code >= 500:
                errors.append(f"{method} {url}")
    assert errors == [], "\n".join(errors)
