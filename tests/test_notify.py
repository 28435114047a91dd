"""Notifications end to end against real servers on loopback: who gets what, over which channel, in which
language, when; retries with back-off until the server comes back, then exactly one delivery."""
import base64
import hashlib
import hmac
import uuid
from datetime import datetime, time, timedelta
from email.header import decode_header

import pytest
from sqlalchemy import select

from app.models import (
    Customer, Notification, NotificationTemplate, NotifyEndpoint, NotifySettings, Priority, StaffNotifyPreference,
)
from app.scheduler import tick
from app.services import notify, notify_templates, tickets
from app.services.senders import message_id, signature
from tests.helpers import engineer_of, new_ticket, user
from tests.notify_servers import HttpServer, SmtpServer, free_port

# Tuesday 2032-03-02, 10:30 in Shanghai: far from every other test's tickets.
DAY = datetime(2032, 3, 2, 2, 30)


def customer(session, **fields) -> Customer:
    tag = uuid.uuid4().hex[:8]
    fields.setdefault("name", f"张伟{tag[:4]}")
    fields.setdefault("phone", f"139{int(tag, 16) % 10**8:08d}")
    fields.setdefault("email", f"c{tag}@example.com")
    c = Customer(**fields)
    session.add(c)
    session.flush()
    return c


def notes(session, ticket, **where):
    session.expire_all()
    return list(session.scalars(select(Notification).filter_by(ticket_id=ticket.id, **where).order_by(Notification.id)))


def deliver(app, now):
    return tick(app, now, only=("deliver_notifications",))["deliver_notifications"]


def subject_of(message) -> str:
    return "".join(part.decode(enc or "ascii") if isinstance(part, bytes) else part
                   for part, enc in decode_header(message["Subject"]))


def test_a_customer_gets_the_receipt_by_e_mail_in_their_language(app, session, channels):
    with SmtpServer() as smtp:
        channels(smtp=smtp)
        en = customer(session, name="Alice Smith", preferred_channel="email", preferred_language="en")
        zh = customer(session, preferred_channel="email", preferred_language="zh")
        t_en, t_zh = new_ticket(session, customer=en, now=DAY), new_ticket(session, customer=zh, now=DAY)
        assert deliver(app, DAY) >= 2

        [mail] = smtp.to(en.email)
        assert subject_of(mail) == f"Your service request {t_en.number} has been received"
        assert mail.get_content_type() == "multipart/alternative"
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        assert "Dear Alice Smith" in text and t_en.number in text
        assert f"https://service.example.com/track?no={t_en.number}" in text
        assert f'<a href="https://service.example.com/track?no={t_en.number}">' in html
        [row] = notes(session, t_en, event="ticket_received")
        assert (row.channel, row.state, row.address, row.attempts) == ("email", "sent", en.email, 1)
        assert mail["Message-ID"].strip() == message_id(row.key, "service@example.com")

        [mail] = smtp.to(zh.email)
        raw = smtp.inbox.envelopes[[m["To"] for m in smtp.messages].index(zh.email)].content
        assert b"=?utf-8?" in raw.split(b"\r\n\r\n")[0].lower()  # the Chinese subject is an encoded word
        assert subject_of(mail) == f"您的服务请求 {t_zh.number} 已受理"
        assert "尊敬的" in mail.get_body(("plain",)).get_content()
        assert "售后服务中心" in str(mail["From"])


def test_down_server_is_retried_with_back_off_and_gets_the_message_exactly_once(app, session, channels):
    port = free_port()
    secret = "whsec-" + uuid.uuid4().hex
    endpoint = NotifyEndpoint(name="CRM", kind="webhook", url=f"http://127.0.0.1:{port}/hooks/service",
                              secret=secret, events="ticket_received,status_changed")
    session.add(endpoint)
    session.commit()
    channels()
    ticket = new_ticket(session, now=DAY)
    [row] = notes(session, ticket, endpoint_id=endpoint.id, event="ticket_received")

    deliver(app, DAY)  # nobody listens yet
    [row] = notes(session, ticket, endpoint_id=endpoint.id, event="ticket_received")
    assert (row.state, row.attempts, row.next_attempt_at) == ("pending", 1, DAY + timedelta(minutes=1))
    assert "Connection" in row.last_error
    deliver(app, DAY + timedelta(minutes=1))  # still down: the next wait is twice as long
    [row] = notes(session, ticket, endpoint_id=endpoint.id, event="ticket_received")
    assert (row.attempts, row.next_attempt_at) == (2, DAY + timedelta(minutes=3))

    with HttpServer(port=port) as crm:
        deliver(app, DAY + timedelta(minutes=2))  # not due yet
        assert crm.requests == []
        deliver(app, DAY + timedelta(minutes=3))
        deliver(app, DAY + timedelta(hours=2))
        [request] = crm.to("/hooks/service")
    [row] = notes(session, ticket, endpoint_id=endpoint.id, event="ticket_received")
    assert (row.state, row.attempts) == ("sent", 3)
    assert [a.ok for a in row.attempt_log] == [False, False, True]
    # The integrator can trust it: the signature checks out with the shared secret, the key is stable.
    stamp = request.headers["X-Service-Timestamp"]
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Service-Signature"] == f"sha256={expected}"
    assert signature(secret, stamp, request.body) == expected
    assert request.headers["X-Idempotency-Key"] == row.key
    payload = request.json
    assert (payload["event"], payload["ticket"]["number"], payload["ticket"]["status"]) == \
        ("ticket_received", ticket.number, "new")


def test_a_message_that_keeps_failing_dies_and_is_visible(app, session, channels):
    settings = session.get(NotifySettings, 1)
    before = settings.max_attempts
    settings.max_attempts = 3
    session.commit()
    try:
        with HttpServer(routes={"/broken": lambda r: (500, {"error": "boom"})}) as server:
            endpoint = NotifyEndpoint(name="ERP", kind="webhook", url=server.url("/broken"),
                                      events="ticket_received")
            session.add(endpoint)
            session.commit()
            channels()
            ticket = new_ticket(session, now=DAY)
            for minutes in (0, 1, 3, 7, 15):
                deliver(app, DAY + timedelta(minutes=minutes))
            [row] = notes(session, ticket, endpoint_id=endpoint.id)
            assert (row.state, row.attempts) == ("dead", 3)
            assert "HTTP 500" in row.last_error
            assert len(server.to("/broken")) == 3
    finally:
        session.get(NotifySettings, 1).max_attempts = before
        session.commit()


def _dingtalk_ok(secret):
    def check(request):
        stamp, sign = request.query["timestamp"], request.query["sign"]
        expected = base64.b64encode(hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(),
                                             hashlib.sha256).digest()).decode()
        return (200, {"errcode": 0}) if sign == expected else (200, {"errcode": 310000, "errmsg": "sign not match"})
    return check


def _feishu_ok(secret):
    def check(request):
        body = request.json
        expected = base64.b64encode(hmac.new(f"{body['timestamp']}\n{secret}".encode(), b"",
                                             hashlib.sha256).digest()).decode()
        return (200, {"code": 0}) if body.get("sign") == expected else (200, {"code": 19021, "msg": "sign error"})
    return check


def test_group_robots_and_the_engineer_hear_of_a_new_assignment(app, session, channels):
    engineer = engineer_of(session)
    login = user(session, "engineer")
    session.merge(StaffNotifyPreference(user_id=login.id, email=False, sms=True, phone="13700137000",
                                        language="en"))
    with HttpServer(routes={"/ding": _dingtalk_ok("SECd"), "/feishu": _feishu_ok("fs-secret")}) as server:
        team_id = engineer.team_id
        robots = [NotifyEndpoint(name="钉钉群", kind="dingtalk", url=server.url("/ding?access_token=abc"),
                                 secret="SECd", events="new_assignment", team_id=team_id),
                  NotifyEndpoint(name="企业微信群", kind="wecom", url=server.url("/wecom?key=k1"),
                                 events="new_assignment", team_id=team_id, language="en"),
                  NotifyEndpoint(name="飞书群", kind="feishu", url=server.url("/feishu"), secret="fs-secret",
                                 events="new_assignment", team_id=team_id)]
        session.add_all(robots)
        session.commit()
        channels(http=server)
        ticket = new_ticket(session, now=DAY)
        tickets.assign(session, ticket, engineer, now=DAY, actor=user(session, "clerk"))
        session.commit()
        deliver(app, DAY)

        assert f"新工单 {ticket.number}" in server.to("/ding")[0].json["text"]["content"]
        assert f"New ticket {ticket.number}" in server.to("/wecom")[0].json["text"]["content"]
        assert ticket.number in server.to("/feishu")[0].json["content"]["text"]
        [sms] = [r for r in server.to("/sms") if r.json["phone"] == "13700137000"]
        assert sms.headers["Authorization"] == "Bearer gw-token"
        assert sms.json["content"].startswith(f"New ticket {ticket.number}")  # the engineer reads English
    staff = notes(session, ticket, event="new_assignment", user_id=login.id)
    assert sorted((n.channel, n.state) for n in staff) == [("inapp", "sent"), ("sms", "sent")]
    assert {n.state for n in notes(session, ticket, event="new_assignment") if n.endpoint_id} == {"sent"}
    assert notify.unread_count(session, login.id) >= 1


def test_sms_wechat_fallback_opt_out_and_nobody_to_reach(app, session, channels):
    template = session.scalar(select(NotificationTemplate).filter_by(event="ticket_received", channel="wechat",
                                                                     language="zh"))
    template.wechat_template_id = "TPL-progress"
    session.commit()
    tokens = []

    def token(request):
        tokens.append(request.query)
        return 200, {"access_token": "ACCESS", "expires_in": 7200}

    with HttpServer(routes={"/cgi-bin/token": token}) as server:
        channels(http=server)
        by_sms = customer(session, preferred_channel="sms")
        by_wechat = customer(session, preferred_channel="wechat", wechat_openid="o-" + uuid.uuid4().hex)
        opted = customer(session, preferred_channel="sms", sms_opt_out=True, wechat_openid="o-" + uuid.uuid4().hex)
        nobody = customer(session, preferred_channel="sms", sms_opt_out=True, email=None)
        made = {c.id: new_ticket(session, customer=c, now=DAY) for c in (by_sms, by_wechat, opted, nobody)}
        deliver(app, DAY)

        [sms] = [r for r in server.to("/sms") if r.json["phone"] == by_sms.phone]
        assert sms.json["content"] == (f"您的服务请求已登记，单号 {made[by_sms.id].number}，我们将尽快安排服务。"
                                       f" 查询进度：https://service.example.com/track?no={made[by_sms.id].number}")
        sent = [r.json for r in server.to("/cgi-bin/message/template/send")]
        by_openid = {m["touser"]: m for m in sent}
        message = by_openid[by_wechat.wechat_openid]
        assert message["template_id"] == "TPL-progress"
        assert message["data"]["keyword1"]["value"] == made[by_wechat.id].number
        assert message["url"].endswith(made[by_wechat.id].number)
        # Opted out of SMS: WeChat reaches them instead.
        assert opted.wechat_openid in by_openid
        assert all(r.query["access_token"] == "ACCESS" for r in server.to("/cgi-bin/message/template/send"))
        assert len(tokens) <= 1  # cached
    [row] = notes(session, made[nobody.id], event="ticket_received")
    assert (row.channel, row.state) == ("none", "skipped")
    assert "退订" in notify.skip_reason(row.last_error) or "opted out" in notify.skip_reason(row.last_error)


def test_quiet_hours_hold_customer_messages_until_morning_unless_urgent(app, session, channels):
    night = datetime(2032, 3, 2, 14, 30)  # 22:30 in Shanghai
    with SmtpServer() as smtp:
        channels(smtp=smtp)
        sleeper = customer(session, preferred_channel="email")
        ticket = new_ticket(session, customer=sleeper, now=night)
        urgent_customer = customer(session, preferred_channel="email")
        new_ticket(session, customer=urgent_customer, now=night,
                            priority=session.scalar(select(Priority).where(Priority.code == "urgent")))
        [row] = notes(session, ticket, event="ticket_received", customer_id=sleeper.id)
        morning = datetime(2032, 3, 3, 0, 0)  # 08:00 in Shanghai
        assert row.next_attempt_at == morning
        deliver(app, night + timedelta(minutes=30))
        assert smtp.to(sleeper.email) == [] and len(smtp.to(urgent_customer.email)) == 1
        deliver(app, morning)
        assert len(smtp.to(sleeper.email)) == 1


def test_templates_are_checked_and_rendered_per_language(app):
    with app.test_request_context():
        assert notify_templates.check("{{ number }}", "工单 {{ number }} 已受理") == []
        [problem] = notify_templates.check(None, "工单 {{ numbr }}")
        assert problem.field == "body" and "numbr" in problem.message
        [problem] = notify_templates.check("{{ number", "{{ number }}")
        assert problem.field == "subject"
        [problem] = notify_templates.check(None, "您的工单已受理")
        assert "{{ number }}" in problem.message
        rendered = notify_templates.render("{{ number }}", "<b>{{ customer }}</b>\n\nhttps://x.cn/{{ number }}",
                                           {"number": "SR1", "customer": "A&B"})
        assert rendered.text == "<b>A&B</b>\n\nhttps://x.cn/SR1"
        assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in rendered.html and '<a href="https://x.cn/SR1">' in rendered.html
        subject, body = notify_templates.default_text("ticket_resolved", "email", "en")
        assert notify_templates.check(subject, body) == []


def test_quiet_hours_window_crosses_midnight():
    cfg = notify.NotifyConfig(quiet_start=time(21, 0), quiet_end=time(8, 0))
    tz = "Asia/Shanghai"
    assert notify.held_until(datetime(2032, 3, 2, 12, 59), cfg, tz) is None  # 20:59
    assert notify.held_until(datetime(2032, 3, 2, 13, 0), cfg, tz) == datetime(2032, 3, 3, 0, 0)  # 21:00
    assert notify.held_until(datetime(2032, 3, 2, 23, 0), cfg, tz) == datetime(2032, 3, 3, 0, 0)  # 07:00
    assert notify.held_until(datetime(2032, 3, 3, 0, 0), cfg, tz) is None  # 08:00
    assert notify.held_until(datetime(2032, 3, 2, 13, 0), notify.NotifyConfig(quiet_start=None), tz) is None



def test_an_engineer_claiming_from_the_pool_tells_the_customer_not_the_engineer(app, session, channels):
    from app.services import assign

    with SmtpServer() as smtp:
        channels(smtp=smtp)
        buyer = customer(session, preferred_channel="email", preferred_language="en")
        ticket = new_ticket(session, customer=buyer, now=DAY)
        assign.claim(session, ticket.id, engineer_of(session), now=DAY)
        session.commit()
        deliver(app, DAY)
        subjects = sorted(subject_of(m) for m in smtp.to(buyer.email))
    assert subjects == [f"An engineer has been assigned to {ticket.number}",
                        f"Your service request {ticket.number} has been received"]
    assert notes(session, ticket, event="new_assignment") == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_built_in_message_to_a_customer_carries_their_tracking_link(app, language):
    """The tracking page is where a customer answers, confirms and rates: each default text sent to them
    (e-mail, SMS, WeChat) links to it, and says nothing of it when no link is configured."""
    customer_events = [code for code in notify_templates.EVENTS
                       if notify_templates.audience(code) == notify_templates.CUSTOMER]
    assert {"ticket_received", "ticket_assigned", "engineer_on_way", "waiting_parts", "ticket_resolved",
            "satisfaction_survey"} <= set(customer_events)
    values = {"number": "SR1", "customer": "王芳", "engineer": "李工", "engineer_phone": "13900000000",
              "subject": "不排水", "deadline": "2026-11-25 18:00"}
    with app.test_request_context():
        for event in customer_events:
            for channel in ("email", "sms", "wechat"):
                subject, body = notify_templates.default_text(event, channel, language)
                linked = notify_templates.render(subject, body, {**values, "tracking_link": "https://x.cn/t/abc"})
                assert "https://x.cn/t/abc" in linked.text, (event, channel)
                bare = notify_templates.render(subject, body, {**values, "tracking_link": ""})
                assert "{" not in bare.text and ": ." not in bare.text and "：。" not in bare.text, (event, bare.text)
