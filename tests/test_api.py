"""The REST resources: JWT login, role checks, engineer scoping, errors that name the field."""
import prison
from sqlalchemy import func, select

from app.models import Engineer, Ticket, User
from app.services import tickets
from tests.conftest import flashes
from tests.helpers import NOW, engineer_of, new_ticket, other_engineer


def test_openapi_document_needs_a_login(client, api_token):
    assert client.get("/api/v1/_openapi").status_code == 401
    response = client.get("/api/v1/_openapi", headers=api_token("clerk"))
    assert response.status_code == 200
    paths = response.get_json()["paths"]
    for resource in ("ticket", "customer", "asset", "part", "engineer"):
        assert f"/api/v1/{resource}/" in paths


def test_engineer_lists_only_their_own_tickets(client, api_token, session):
    mine, theirs = new_ticket(session), new_ticket(session)
    tickets.assign(session, mine, engineer_of(session), now=NOW)
    tickets.assign(session, theirs, other_engineer(session), now=NOW)
    session.commit()
    headers = api_token("engineer")
    own_id = engineer_of(session).id
    expected = session.scalar(select(func.count()).select_from(Ticket).where(Ticket.assignee_id == own_id))

    q = prison.dumps({"page_size": 100, "order_column": "created_at", "order_direction": "desc"})
    body = client.get(f"/api/v1/ticket/?q={q}", headers=headers).get_json()
    assert body["count"] == expected
    assert {row["assignee"]["id"] for row in body["result"]} == {own_id}
    assert client.get(f"/api/v1/ticket/{theirs.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/ticket/{mine.id}", headers=headers).status_code == 200
    response = client.put(f"/api/v1/ticket/{theirs.id}", json={"subject": "x"}, headers=headers)
    assert response.status_code == 404


def test_roles_without_ticket_access_are_refused(client, api_token):
    assert client.get("/api/v1/ticket/", headers=api_token("warehouse")).status_code == 403
    assert client.get("/api/v1/part/", headers=api_token("warehouse")).status_code == 200
    assert client.post("/api/v1/ticket/", json={"channel": "app", "subject": "x"},
                       headers=api_token("engineer")).status_code == 403
    assert client.get("/api/v1/ticket/").status_code == 401


def test_clerk_creates_a_ticket_and_gets_its_number(client, api_token, session):
    response = client.post("/api/v1/ticket/", headers=api_token("clerk"), json={
        "channel": "app", "subject": "净水器漏水", "description": "APP 报修", "contact_phone": "13800138000"})
    assert response.status_code == 201, response.get_json()
    ticket = session.get(Ticket, response.get_json()["id"])
    assert ticket.number.startswith("SR") and ticket.status == "new"
    assert ticket.events[0].kind == "created"
    assert ticket.events[0].actor_user_id == session.scalar(select(User.id).where(User.username == "clerk"))


def test_bad_input_names_the_field(client, api_token):
    headers = api_token("clerk")
    response = client.post("/api/v1/ticket/", headers=headers, json={"channel": "fax", "subject": "x"})
    assert response.status_code == 400
    assert response.get_json()["field"] == "channel"
    response = client.post("/api/v1/ticket/", headers=headers, json={"channel": "app", "subject": 12})
    assert response.status_code == 422 and "subject" in response.get_json()["message"]
    response = client.post("/api/v1/ticket/", headers=headers, data="{not json", content_type="application/json")
    assert 400 <= response.status_code < 500


def test_put_with_a_stale_if_match_is_a_conflict(client, api_token, session):
    ticket = new_ticket(session, subject="原始")
    headers = api_token("clerk")
    version = client.get(f"/api/v1/ticket/{ticket.id}", headers=headers).get_json()["result"]["version"]
    assert client.put(f"/api/v1/ticket/{ticket.id}", json={"subject": "第一次"},
                      headers={**headers, "If-Match": str(version)}).status_code == 200
    response = client.put(f"/api/v1/ticket/{ticket.id}", json={"subject": "第二次"},
                          headers={**headers, "If-Match": str(version)})
    assert response.status_code == 409
    session.refresh(ticket)
    assert ticket.subject == "第一次"
    assert ticket.events[-1].kind == "edited"


def test_tickets_cannot_be_deleted_through_the_api(client, api_token, session):
    ticket = new_ticket(session)
    response = client.delete(f"/api/v1/ticket/{ticket.id}", headers=api_token("admin"))
    assert response.status_code in (404, 405)
    assert session.get(Ticket, ticket.id) is not None


def test_engineer_resource_for_managers(client, api_token, session):
    body = client.get("/api/v1/engineer/", headers=api_token("manager")).get_json()
    assert body["count"] == session.scalar(select(func.count()).select_from(Engineer))


def test_errors_come_in_the_callers_language(client, api_token):
    headers = api_token("clerk")
    body = {"channel": "fax", "subject": "x"}
    zh = client.post("/api/v1/ticket/", headers=headers, json=body).get_json()["message"]
    en = client.post("/api/v1/ticket/", headers={**headers, "Accept-Language": "en-US,en;q=0.8"},
                     json=body).get_json()["message"]
    assert zh == "未知渠道：fax"
    assert en == "Unknown channel: fax"


API_ALLOWED = {
    "admin": {"ticket", "customer", "asset", "part", "engineer"},
    "manager": {"ticket", "customer", "asset", "part", "engineer"},
    "clerk": {"ticket", "customer", "asset", "part", "engineer"},
    "engineer": {"ticket", "part"},
    "warehouse": {"part"},
}


def test_each_role_reads_exactly_its_resources(client, api_token):
    for username, allowed in API_ALLOWED.items():
        headers = api_token(username)
        outcome = {r: client.get(f"/api/v1/{r}/", headers=headers).status_code
                   for r in ("ticket", "customer", "asset", "part", "engineer")}
        assert {r for r, code in outcome.items() if code == 200} == allowed, (username, outcome)
        assert {r for r, code in outcome.items() if code == 403} == set(outcome) - allowed, (username, outcome)


def test_a_ticket_posted_with_a_device_takes_the_devices_warranty(client, api_token, session):
    from datetime import date

    from app.models import Asset

    asset = session.scalar(select(Asset).order_by(Asset.id))
    asset.warranty_end = date(2099, 12, 31)
    session.commit()
    response = client.post("/api/v1/ticket/", headers=api_token("clerk"), json={
        "channel": "app", "subject": "净水器漏水", "contact_phone": "13800138001", "asset": asset.id})
    assert response.status_code == 201, response.get_json()
    ticket = session.get(Ticket, response.get_json()["id"])
    assert ticket.warranty_status == "in" and ticket.product_id == asset.product_id


def test_malformed_writes_are_refused_naming_each_field_in_the_callers_language(client, api_token, session):
    """What the fuzzer found as server errors, as a caller sees them now: a 4xx that says which field."""
    import uuid

    manager, warehouse = api_token("manager"), api_token("warehouse")
    sku = f"API-{uuid.uuid4().hex[:8]}"
    assert client.post("/api/v1/part/", headers=warehouse, json={"sku": sku, "name_zh": "滤芯", "name_en": "Filter", "price": 35}) \
        .status_code == 201
    again = client.post("/api/v1/part/", headers=warehouse, json={"sku": sku, "name_zh": "滤芯", "name_en": "Filter", "price": 35})
    assert again.status_code == 422 and again.get_json()["message"] == {"sku": ["该值已被使用。"]}

    odd = client.post("/api/v1/asset/", headers=manager, json={"serial_number": "", "product": {"id": 1},
                                                               "customer": [3], "latitude": 200})
    assert odd.status_code == 422
    assert odd.get_json()["message"] == {"product": ["不是有效的 ID。"], "customer": ["不是有效的 ID。"],
                                         "serial_number": ["请填写 1 到 60 个字符。"],
                                         "latitude": ["请填写 -90 到 90 之间的数值。"]}
    wrong = client.post("/api/v1/customer/", headers={**manager, "Accept-Language": "en"},
                        json={"name": "", "tier": "gold", "latitude": 91})
    assert wrong.status_code == 422
    assert wrong.get_json()["message"] == {"name": ["Between 1 and 100 characters, please."],
                                           "tier": ["Choose one of: vip, normal."],
                                           "latitude": ["Between -90 and 90, please."]}
    assert client.get("/api/v1/part/26121141827011876340", headers=warehouse).status_code == 404
    assert client.get("/api/v1/ticket/?q=-3.1e%2B16", headers=manager).status_code == 400


def test_a_customer_with_tickets_cannot_be_deleted_on_either_database(client, api_token, login_as, session):
    """SQLite enforced no foreign key: deleting a customer left their tickets pointing at nobody."""
    from app.models import Customer

    customer = Customer(name="有工单的客户", phone="13911112222")
    session.add(customer)
    session.commit()
    ticket = new_ticket(session, customer=customer)
    customer_id, ticket_id = customer.id, ticket.id
    response = client.delete(f"/api/v1/customer/{customer_id}", headers=api_token("manager"))
    assert response.status_code == 409 and response.get_json()["message"]
    page = login_as("manager").post(f"/customerview/delete/{customer_id}", follow_redirects=True)
    assert "仍有其他记录引用此记录，不能删除" in flashes(page.get_data(as_text=True))  # FAB said nothing at all
    session.expire_all()
    assert session.get(Customer, customer_id) is not None
    assert session.get(Ticket, ticket_id).customer_id == customer_id
