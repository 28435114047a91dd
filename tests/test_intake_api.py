"""Intake over HTTP and in the console: the contract, tokens, e-mail files, size limits, the clerk's pages."""
import base64
import os
import random
import re
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import IntegrationToken, Ticket, TicketAttachment
from app.services import tokens
from tests.conftest import flashes, login

DATA = os.path.join(os.path.dirname(__file__), "data")
_rng = random.Random()


def phone():
    return f"13{_rng.randrange(10**9):09d}"


def eml(name):
    with open(os.path.join(DATA, name), "rb") as fh:
        return fh.read()


def channel_token(session, channel):
    token = IntegrationToken(name=f"{channel} test", channel=channel)
    raw = tokens.issue(session, token)
    session.commit()
    return {"X-Channel-Token": raw}


def test_the_documented_request_gets_the_documented_answer(client, session):
    headers = channel_token(session, "app")
    number, key = phone(), "app-" + phone()
    body = {"channel": "app", "customer": {"name": "张伟", "phone": number, "email": None},
            "subject": None, "description": "热水器漏水了", "serial_number": None, "external_id": key}
    response = client.post("/api/v1/intake/", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert re.fullmatch(r"SR\d{8}-\d{6}", answer["number"])
    assert (answer["status"], answer["priority"], answer["category"], answer["service_type"]) == \
        ("new", "urgent", "fault", "hardware_repair")
    assert answer["duplicate_of"] is None and answer["assignee"] is None
    sla = answer["sla"]
    assert sla["policy"].startswith("紧急") and sla["escalation_level"] == 0
    # The urgent promise runs around the clock: respond within 30 minutes, resolve within 8 hours.
    assert datetime.fromisoformat(sla["resolution_due_at"]) - datetime.fromisoformat(sla["first_response_due_at"]) \
        == timedelta(hours=7, minutes=30)
    assert any(r["code"] == "rule" and r["matched"] == ["漏水"] and "漏水" in r["text"] for r in answer["reasons"])

    again = client.post("/api/v1/intake/", json=body, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == answer["id"]
    by_header = client.post("/api/v1/intake/", json={**body, "external_id": None},
                            headers={**headers, "Idempotency-Key": key})
    assert by_header.get_json()["id"] == answer["id"]
    assert session.scalar(select(func.count()).select_from(Ticket).where(Ticket.contact_phone == number)) == 1


def test_reasons_and_errors_come_in_the_callers_language(app, client):
    # No `session` fixture here: its app context would make every request share one cached locale.
    from app.extensions import db

    with app.app_context():
        headers = channel_token(db.session, "web")
    body = {"channel": "web", "customer": {"phone": phone()}, "description": "空调不制冷"}
    zh = client.post("/api/v1/intake/", json=body, headers=headers).get_json()
    assert any("规则「整机无法使用 Total failure」" in r["text"] for r in zh["reasons"])
    en = client.post("/api/v1/intake/", json={**body, "customer": {"phone": phone()}},
                     headers={**headers, "Accept-Language": "en"}).get_json()
    assert any(r["text"].startswith("Rule 「整机无法使用 Total failure」; matched 不制冷") for r in en["reasons"])

    bad = {"channel": "web", "customer": {"phone": "12"}, "description": "漏水"}
    assert client.post("/api/v1/intake/", json=bad, headers=headers).get_json() == {
        "message": "12 不是有效的电话号码。", "field": "customer.phone"}
    response = client.post("/api/v1/intake/", json={"channel": "web", "description": "漏水"},
                           headers={**headers, "Accept-Language": "en"})
    assert response.status_code == 400
    assert response.get_json() == {"message": "customer: This field is required.", "field": "customer"}


def test_malformed_and_oversized_requests_are_refused(client, session, app):
    headers = channel_token(session, "app")
    before = session.scalar(select(func.count()).select_from(Ticket))
    cases = [
        ("not json", 400, "body"),
        ('["a list"]', 400, "body"),
        ('{"channel": "app", "customer": {"phone": 13800138000}, "description": "x"}', 400, "customer.phone"),
        ('{"channel": "app", "customer": {"phone": "13800138000"}, "description": "' + "长" * 20001 + '"}',
         400, "description"),
        ('{"channel": "app", "customer": {"phone": "13800138000"}, "description": "x", '
         '"attachments": [{"filename": "a.png", "content_base64": "***"}]}', 400, "attachments[0].content_base64"),
    ]
    for body, status, field in cases:
        response = client.post("/api/v1/intake/", data=body, content_type="application/json", headers=headers)
        assert response.status_code == status, body[:60]
        assert response.get_json()["field"] == field, response.get_json()
    huge = b"x" * (app.config["INTAKE_MAX_JSON_KB"] * 1024 + 1)
    response = client.post("/api/v1/intake/iot", data=huge, content_type="application/json",
                           headers={**channel_token(session, "iot"), "Accept-Language": "en"})
    assert response.status_code == 413 and "KB" in response.get_json()["message"]
    assert session.scalar(select(func.count()).select_from(Ticket)) == before


def test_channel_tokens_and_staff_logins(client, session, api_token):
    body = {"channel": "app", "customer": {"phone": phone()}, "description": "净水器滤芯怎么换"}
    response = client.post("/api/v1/intake/", json=body, headers={"X-Channel-Token": "sit_forged"})
    assert response.status_code == 401
    wechat = channel_token(session, "wechat")
    assert client.post("/api/v1/intake/", json=body, headers=wechat).status_code == 400  # token is for WeChat
    assert client.post("/api/v1/intake/", json={**body, "channel": "wechat"}, headers=wechat).status_code == 201
    token = session.scalar(select(IntegrationToken).order_by(IntegrationToken.id.desc()))
    token.active = False
    session.commit()
    assert client.post("/api/v1/intake/", json={**body, "channel": "wechat"}, headers=wechat).status_code == 401
    assert client.post("/api/v1/intake/", json=body).status_code == 401
    assert client.post("/api/v1/intake/", json=body, headers=api_token("engineer")).status_code == 403
    assert client.post("/api/v1/intake/", json={**body, "customer": {"phone": phone()}},
                       headers=api_token("clerk")).status_code == 201
    stored = session.scalar(select(IntegrationToken.token_hash).where(IntegrationToken.id == token.id))
    assert wechat["X-Channel-Token"] not in stored  # only the digest is kept


def test_iot_alarm_and_call_record_endpoints(client, session):
    from app.models import Asset

    asset = session.scalar(select(Asset).order_by(Asset.id.desc()).offset(3))
    iot = channel_token(session, "iot")
    alarm = {"serial_number": asset.serial_number, "fault_code": "E9" + str(_rng.randrange(100)),
             "severity": "critical", "occurred_at": "2026-11-22T10:30:00+08:00", "message": "水温传感器开路"}
    first = client.post("/api/v1/intake/iot", json=alarm, headers=iot)
    assert first.status_code == 201 and first.get_json()["priority"] == "urgent"
    assert first.get_json()["asset"]["serial_number"] == asset.serial_number
    repeat = client.post("/api/v1/intake/iot", json={**alarm, "occurred_at": "2026-11-22T10:35:00+08:00"},
                         headers=iot)
    assert repeat.status_code == 200 and repeat.get_json()["outcome"] == "alarm_repeat"
    assert repeat.get_json()["duplicate_of"] == first.get_json()["number"]
    bad = client.post("/api/v1/intake/iot", json={**alarm, "occurred_at": "yesterday"}, headers=iot)
    assert bad.status_code == 400 and bad.get_json()["field"] == "occurred_at"

    cti = channel_token(session, "phone")
    call = {"caller": "+86 " + phone(), "call_id": "call-" + phone(), "transcript": "客户说洗碗机漏水，厨房地上有水"}
    response = client.post("/api/v1/intake/call", json=call, headers=cti)
    assert response.status_code == 201 and response.get_json()["category"] == "fault"
    silent = client.post("/api/v1/intake/call", json={"caller": phone(), "call_id": "call-" + phone()}, headers=cti)
    assert silent.status_code == 201 and silent.get_json()["needs_review"] is True
    card = client.get(f"/api/v1/intake/caller?phone={call['caller']}", headers=cti).get_json()
    assert card["customer"]["verified"] is False
    assert [t["number"] for t in card["open_tickets"]] == [response.get_json()["number"]]


def test_e_mails_in_every_charset_become_tickets(client, session):
    headers = channel_token(session, "email")
    expected = {
        "utf8_base64.eml": ("热水器漏水", "li.na@example.com", "urgent"),
        "gbk_labelled_gb2312_qp.eml": ("空调不制冷", "wangfang@example.cn", "urgent"),
        "gb18030.eml": ("洗碗机无法开机", "zhaolei@example.cn", "urgent"),
        "big5_traditional.eml": ("熱水器無法開機", "chen.meiling@example.com.tw", "urgent"),
        "html_only.eml": ("油烟机异响", "sunqiang@example.com", "high"),
        "english.eml": ("Water heater won't turn on", "tom.baker@example.org", "urgent"),
        "forwarded.eml": ("燃气热水器有煤气味", "dealer.liu@example.com", "urgent"),
    }
    for name, (subject, sender, priority) in expected.items():
        response = client.post("/api/v1/intake/email", data=eml(name), content_type="message/rfc822",
                               headers=headers)
        assert response.status_code in (200, 201), (name, response.get_json())
        ticket = session.get(Ticket, response.get_json()["id"])
        assert (ticket.subject, ticket.contact_email, ticket.priority.code) == (subject, sender, priority), name
    gbk = session.scalar(select(Ticket).where(Ticket.contact_email == "wangfang@example.cn"))
    assert "朱镕基路" in gbk.description and gbk.contact_name == "王芳"
    html = session.scalar(select(Ticket).where(Ticket.contact_email == "sunqiang@example.com"))
    assert "油烟机异响很大" in html.description and "alert" not in html.description
    forwarded = session.scalar(select(Ticket).where(Ticket.contact_email == "dealer.liu@example.com"))
    assert "燃气热水器开机后有很重的煤气味" in forwarded.description  # the forwarded text is kept
    english = session.scalar(select(Ticket).where(Ticket.contact_email == "tom.baker@example.org"))
    assert english.product is not None and english.product.model == "F80-D30"


def test_replies_thread_and_automatic_mail_makes_no_ticket(client, session):
    headers = channel_token(session, "email")
    original = client.post("/api/v1/intake/email", data=eml("utf8_base64.eml"), content_type="message/rfc822",
                           headers=headers).get_json()
    before = session.scalar(select(func.count()).select_from(Ticket))
    reply = client.post("/api/v1/intake/email", data=eml("reply_quoted.eml"), content_type="message/rfc822",
                        headers=headers)
    assert reply.status_code == 200 and reply.get_json()["outcome"] == "replied"
    assert reply.get_json()["number"] == original["number"]
    ticket = session.get(Ticket, original["id"])
    event = ticket.events[-1]
    assert event.kind == "customer_reply" and event.reason == "师傅还没来，今天下午家里有人，请安排。"

    assert session.scalar(select(func.count()).select_from(Ticket)) == before
    # A new message (made here, or replayed when an earlier test already sent it) for a reply by number.
    english = client.post("/api/v1/intake/email", data=eml("english.eml"), content_type="message/rfc822",
                          headers=headers).get_json()
    before = session.scalar(select(func.count()).select_from(Ticket))
    by_number = eml("reply_by_number.eml").replace(b"NUMBER", english["number"].encode())
    response = client.post("/api/v1/intake/email", data=by_number, content_type="message/rfc822", headers=headers)
    assert response.get_json()["outcome"] == "replied" and response.get_json()["id"] == english["id"]
    assert session.get(Ticket, english["id"]).events[-1].reason == "Photos attached yesterday; any update?"

    for name, why in (("auto_reply.eml", "auto_reply"), ("bounce_dsn.eml", "bounce")):
        response = client.post("/api/v1/intake/email", data=eml(name), content_type="message/rfc822", headers=headers)
        assert response.status_code == 200 and response.get_json()["outcome"] == "ignored", name
        assert response.get_json()["reasons"][0]["why"] == why
    assert session.scalar(select(func.count()).select_from(Ticket)) == before


def test_attachments_are_stored_within_the_limit_and_downloaded_safely(app, client):
    # DB work in short app contexts: a long-lived one would let one login leak into the next request.
    from app.extensions import db
    from app.models import IntakeSettings

    with app.app_context():
        db.session.get(IntakeSettings, 1).max_attachment_kb = 1
        db.session.commit()
        headers = channel_token(db.session, "email")
    try:
        response = client.post("/api/v1/intake/email", data=eml("with_attachments.eml"),
                               content_type="message/rfc822", headers=headers)
    finally:
        with app.app_context():
            db.session.get(IntakeSettings, 1).max_attachment_kb = 10240
            db.session.commit()
    answer = response.get_json()
    assert response.status_code == 201
    with app.app_context():
        stored = [(a.id, a.filename, a.size) for a in db.session.scalars(
            select(TicketAttachment).where(TicketAttachment.ticket_id == answer["id"]))]
    assert [s[1:] for s in stored] == [("漏水照片.png", 608)]
    assert any(r["code"] == "attachment_too_large" and r["filename"] == "invoice.pdf" for r in answer["reasons"])

    url = f"/ticketview/attachment/{answer['id']}/{stored[0][0]}"
    clerk = login(app.test_client(), "clerk")
    page = clerk.get(f"/ticketview/show/{answer['id']}").get_data(as_text=True)
    assert "漏水照片.png" in page and "invoice.pdf" in page  # the refused one is on the timeline
    download = clerk.get(url)
    assert download.status_code == 200 and download.data.startswith(b"\x89PNG")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.mimetype == "application/octet-stream"
    engineer = login(app.test_client(), "engineer")
    assert engineer.get(url).status_code == 404  # not their ticket


def test_app_reports_may_carry_photos(client, session):
    photo = base64.b64encode(b"\xff\xd8\xff" + b"1" * 100).decode()
    response = client.post("/api/v1/intake/", headers=channel_token(session, "app"), json={
        "channel": "app", "customer": {"phone": phone()}, "description": "热水器显示E1故障",
        "attachments": [{"filename": "../../etc/故障.jpg", "content_type": "image/jpeg", "content_base64": photo}]})
    assert response.status_code == 201
    stored = session.scalar(select(TicketAttachment).where(TicketAttachment.ticket_id == response.get_json()["id"]))
    assert stored.filename == "故障.jpg" and stored.size == 103


def test_clerk_registers_a_call_in_the_console(app):
    from app.extensions import db
    from app.models import Asset, Customer

    with app.app_context():
        customer = db.session.scalar(select(Customer).join(Asset, Asset.customer_id == Customer.id)
                                     .where(Customer.tier == "normal").order_by(Customer.id.desc()).limit(1))
        name, number = customer.name, customer.phone
        serials = [a.serial_number for a in customer.assets]
        asset_id, customer_id = customer.assets[0].id, customer.id
    clerk = login(app.test_client(), "clerk")
    assert "电话登记" in clerk.get("/").get_data(as_text=True)
    card = clerk.get(f"/intake/phone/caller?phone={number[:3]} {number[3:]}").get_json()
    assert card["customer"]["name"] == name
    assert [a["serial_number"] for a in card["assets"]] == serials

    form = {"phone": number, "name": name, "description": "空调外机噪音特别大，晚上睡不着",
            "asset_id": str(asset_id), "form_key": "form-" + phone()}
    response = clerk.post("/intake/phone/", data=form)
    assert response.status_code == 302
    with app.app_context():
        ticket = db.session.get(Ticket, int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1]))
        assert ticket.channel == "phone" and ticket.customer_id == customer_id
        assert ticket.external_ref is None  # the form key guards double clicks; it is nobody's reference
        assert ticket.asset_id == asset_id and ticket.category.code == "fault"
    page = clerk.get(response.headers["Location"]).get_data(as_text=True)
    assert "自动判断的依据" in page and "规则「一般故障 General fault」" in page
    again = clerk.post("/intake/phone/", data=form)  # the Save button clicked twice
    assert again.headers["Location"] == response.headers["Location"]

    empty = clerk.post("/intake/phone/", data={**form, "description": "", "form_key": "form-" + phone()})
    assert empty.status_code == 200 and "请描述问题。" in flashes(empty.get_data(as_text=True))
    assert login(app.test_client(), "engineer").get("/intake/phone/").status_code in (302, 403)


def test_review_queue_lists_uncertain_tickets_until_a_clerk_confirms(app, client):
    from app.extensions import db

    with app.app_context():
        headers = channel_token(db.session, "chat")
    response = client.post("/api/v1/intake/", headers=headers, json={
        "channel": "chat", "customer": {"phone": phone()}, "description": "你好，在吗？有人吗"})
    number, pk = response.get_json()["number"], response.get_json()["id"]
    clerk = login(app.test_client(), "clerk")
    assert number in clerk.get("/reviewqueueview/list/?psize_ReviewQueueView=100").get_data(as_text=True)
    assert "待人工复核" in clerk.get(f"/ticketview/show/{pk}").get_data(as_text=True)
    clerk.post(f"/ticketview/review/{pk}")
    assert number not in clerk.get("/reviewqueueview/list/?psize_ReviewQueueView=100").get_data(as_text=True)
    with app.app_context():
        kinds = [e.kind for e in db.session.get(Ticket, pk).events]
        assert "reviewed" in kinds and kinds[kinds.index("reviewed") + 1] in ("dispatched", "pooled")


def test_admin_creates_a_token_and_sees_it_once(app, client):
    admin = login(app.test_client(), "admin")
    response = admin.post("/integrationtokenview/add", data={"name": "官网在线客服", "channel": "chat"},
                          follow_redirects=True)
    raw = re.search(r"sit_[A-Za-z0-9_-]{20,}", flashes(response.get_data(as_text=True))).group(0)
    listing = admin.get("/integrationtokenview/list/").get_data(as_text=True)
    assert "官网在线客服" in listing and raw not in listing
    answer = client.post("/api/v1/intake/", headers={"X-Channel-Token": raw}, json={
        "channel": "chat", "customer": {"phone": phone()}, "description": "洗碗机漏水"})
    assert answer.status_code == 201
    assert login(app.test_client(), "clerk").get("/integrationtokenview/list/").status_code in (302, 403)

    # Revoking is unticking 启用 (an unticked box sends nothing: the form must accept that).
    with app.app_context():
        token_id = db.session.scalar(select(IntegrationToken.id).where(IntegrationToken.name == "官网在线客服"))
    admin.post(f"/integrationtokenview/edit/{token_id}", data={"name": "官网在线客服"}, follow_redirects=True)
    answer = client.post("/api/v1/intake/", headers={"X-Channel-Token": raw}, json={
        "channel": "chat", "customer": {"phone": phone()}, "description": "洗碗机漏水"})
    assert answer.status_code == 401


def test_managers_edit_rules_in_a_form_with_checked_input(app):
    manager = login(app.test_client(), "manager")
    response = manager.post("/classificationruleview/add", data={
        "name": "坏正则", "position": "5", "pattern": "(unclosed", "channels": "app, fax", "confidence": "0.9",
        "raise_priority": "0"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "不是有效的正则表达式" in page and "未知的渠道代码：fax" in page
    assert manager.get("/synonymgroupview/list/").status_code == 200
    assert manager.get("/intakesettingsview/list/").status_code == 200
