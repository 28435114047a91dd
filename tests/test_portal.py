"""The customer portal over HTTP: submit, look up, follow, answer, confirm, reopen and rate — and what a
stranger cannot learn or do."""
import io
import time

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from app.models import Customer, LowScoreReview, Ticket, TicketAttachment, TicketEvent
from app.services import status as st
from app.services import tickets, tracking
from tests.helpers import user
from tests.portal_world import customer_ticket, link, png, staff_messages, survey_of, text_of, work_and_resolve


@pytest.fixture(autouse=True)
def fresh_limits(app):
    """Each test starts with no attempts counted (the limits are per app, and the app is shared)."""
    app.extensions["portal_limits"].reset()
    yield
    app.extensions["portal_limits"].reset()


@pytest.fixture
def portal(app):
    return app.test_client()


def ticket_count(session) -> int:
    return session.scalar(select(func.count(Ticket.id)))


def submit(portal, **fields):
    data = {"name": "赵敏", "phone": "13755556666", "description": "空调不制冷，开机十分钟还是热风", "form_key": "",
            **fields}
    return portal.post("/portal/submit", data=data, content_type="multipart/form-data")


# --------------------------------------------------------------- submitting

def test_a_customer_submits_a_request_with_a_photo_and_lands_on_its_page(app, session, portal):
    response = submit(portal, phone="137 5555 0001", form_key="k-photo", address="北京市朝阳区建国路88号",
                      product="KFR-35GW", photos=[(io.BytesIO(png()), "空调.png")])
    assert response.status_code == 303 and response.headers["Location"].startswith("/portal/t/")
    ticket = session.scalar(select(Ticket).where(Ticket.contact_phone == "13755550001"))
    assert ticket.channel == "web" and ticket.contact_address == "北京市朝阳区建国路88号"
    assert "KFR-35GW" in ticket.description
    photo = session.scalar(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id))
    assert photo.filename == "空调.png" and photo.content_type == "image/png"

    page = portal.get(response.headers["Location"])
    words = text_of(page.get_data(as_text=True))
    assert page.status_code == 200
    assert f"您的服务单号是 {ticket.number}" in words and "已受理，正在安排" in words
    assert "我们已收到您的服务请求" in words


def test_the_same_form_sent_twice_makes_one_ticket(session, portal):
    first = submit(portal, phone="13755550002", form_key="k-twice")
    again = submit(portal, phone="13755550002", form_key="k-twice")
    assert first.headers["Location"] == again.headers["Location"]
    assert session.scalar(select(func.count(Ticket.id)).where(Ticket.contact_phone == "13755550002")) == 1


def test_a_new_customer_writing_in_english_is_answered_in_english(session, portal):
    portal.get("/portal/lang/en")
    response = submit(portal, phone="13755550003", form_key="k-en", description="The dishwasher does not drain")
    assert response.status_code == 303
    customer = session.scalar(select(Customer).where(Customer.phone == "13755550003"))
    assert customer.preferred_language == "en"
    page = text_of(portal.get(response.headers["Location"]).get_data(as_text=True))
    assert "Your request number is SR" in page and "Received, arranging service" in page


@pytest.mark.parametrize("lang, fields, field, message", [
    ("zh", {"phone": ""}, "phone", "请填写您的手机号码。"),
    ("zh", {"phone": "12"}, "phone", "12 不是有效的电话号码。"),
    ("zh", {"description": ""}, "description", "请描述遇到的问题。"),
    ("en", {"name": ""}, "name", "Please enter your name."),
    ("en", {"email": "not-an-address"}, "email", "not-an-address is not an e-mail address."),
])
def test_a_form_with_a_mistake_is_shown_again_naming_the_field(session, portal, lang, fields, field, message):
    before = ticket_count(session)
    response = portal.post(f"/portal/submit?_l_={lang}", data={
            "name": "赵敏", "phone": "13755550004", "description": "空调不制冷，开机十分钟还是热风", **fields},
            content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error" role="alert">{message}' in html
    assert 'value="赵敏"' in html or field == "name"  # what the customer typed is kept
    assert ticket_count(session) == before


def test_a_file_that_is_not_a_photo_is_refused_by_name(session, portal):
    before = ticket_count(session)
    response = submit(portal, phone="13755550005", photos=[(io.BytesIO(b"<html><script>alert(1)</script>"),
                                                            "invoice.jpg")])
    assert response.status_code == 400
    assert "invoice.jpg 不是照片（请上传 JPEG、PNG、GIF、WebP 或 HEIC 图片）。" in text_of(response.get_data(as_text=True))
    assert ticket_count(session) == before


def test_too_many_photos_are_refused(app, session, portal):
    photos = [(io.BytesIO(png()), f"p{i}.png") for i in range(app.config["PORTAL_MAX_PHOTOS"] + 1)]
    response = submit(portal, phone="13755550006", photos=photos)
    assert response.status_code == 400
    assert f"最多上传 {app.config['PORTAL_MAX_PHOTOS']} 张照片。" in text_of(response.get_data(as_text=True))


def test_submitting_is_rate_limited_per_address(app, session, portal):
    allowed = int(app.config["PORTAL_SUBMIT_LIMIT"].split()[0])
    for i in range(allowed):
        assert submit(portal, phone=f"1375444{i:04d}", form_key=f"k-limit-{i}").status_code == 303
    before = ticket_count(session)
    response = submit(portal, phone="13755559999", form_key="k-limit-x")
    assert response.status_code == 429 and "尝试次数过多" in text_of(response.get_data(as_text=True))
    assert ticket_count(session) == before
    # Another address is not held up by this one.
    other = portal.post("/portal/submit", data={"name": "赵敏", "phone": "13755559998", "form_key": "k-limit-y",
                                                "description": "空调不制冷，开机十分钟还是热风"},
                        environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 303


def test_correcting_a_form_does_not_use_up_the_submissions_allowed(app, session, portal):
    """A customer who gets the phone number wrong five times is not flooding us: only a submission that
    makes a request counts."""
    allowed = int(app.config["PORTAL_SUBMIT_LIMIT"].split()[0])
    for _ in range(allowed + 2):
        assert submit(portal, phone="12").status_code == 400
    assert submit(portal, phone="13755550021", form_key="k-after-typos").status_code == 303


def test_a_photo_over_the_managers_attachment_limit_is_refused_by_name(app, session, portal):
    """The lower of the portal's and the manager's limits (配置 → 受理设置) applies, and the form tells the
    browser the same limit, so the phone can refuse it before a long upload."""
    from app.models import IntakeSettings

    settings_row = session.get(IntakeSettings, 1)
    settings_row.max_attachment_kb = 1
    session.commit()
    try:
        page = portal.get("/portal/submit").get_data(as_text=True)
        assert 'data-max-photo-kb="1"' in page
        before = ticket_count(session)
        big = png() + b"\0" * 2048  # a photo of 2 KB
        response = submit(portal, phone="13755550022", photos=[(io.BytesIO(big), "整机.png")])
        assert response.status_code == 400
        assert "整机.png 超过 1 KB。" in text_of(response.get_data(as_text=True))
        assert ticket_count(session) == before
    finally:
        session.get(IntakeSettings, 1).max_attachment_kb = 10240
        session.commit()


def test_a_request_larger_than_the_server_takes_gets_a_page_in_the_customers_language(app, session, portal,
                                                                                       monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 256 * 1024)
    page = portal.get("/portal/submit").get_data(as_text=True)
    assert 'data-max-total-kb="192"' in page and "照片总大小超过 192 KB" in page  # less the form's share
    before = ticket_count(session)
    response = submit(portal, phone="13755550023", photos=[(io.BytesIO(png() + b"\0" * 300 * 1024), "大图.png")])
    assert response.status_code == 413
    body = text_of(response.get_data(as_text=True))
    assert "照片太大" in body and "请减少照片数量或上传更小的照片" in body
    assert ticket_count(session) == before


# --------------------------------------------------------------- looking up, and what strangers learn

def track(portal, number, contact, addr="127.0.0.1"):
    return portal.post("/portal/track", data={"number": number, "contact": contact},
                       environ_base={"REMOTE_ADDR": addr})


def test_number_and_phone_open_the_ticket_with_spaces_and_case_forgiven(app, session, portal):
    ticket = customer_ticket(session, phone="13911110001")
    response = track(portal, " " + ticket.number.lower() + " ", "139 1111 0001")
    assert response.status_code == 303
    assert tracking.verify(response.headers["Location"].rsplit("/", 1)[1], app.config["SECRET_KEY"],
                           max_age_days=1) == ticket.id
    page = text_of(portal.get(response.headers["Location"]).get_data(as_text=True))
    assert ticket.number in page and "已派工程师" in page and f"工程师 {ticket.assignee.name} 将为您服务" in page


def test_the_e_mail_address_used_for_the_request_also_opens_it(session, portal):
    ticket = customer_ticket(session, phone="13911110002", contact_email="wang.fang@example.com")
    assert track(portal, ticket.number, "Wang.Fang@Example.com").status_code == 303


def test_a_wrong_phone_and_a_missing_ticket_get_the_same_answer(session, portal):
    ticket = customer_ticket(session, phone="13911110003")
    wrong_phone = track(portal, ticket.number, "13911119999", addr="10.0.0.1")
    missing = track(portal, ticket.number[:-6] + "999999", "13911119999", addr="10.0.0.2")
    assert wrong_phone.status_code == missing.status_code == 200
    strip = lambda r: r.get_data(as_text=True).replace(ticket.number, "N").replace(  # noqa: E731
        ticket.number[:-6] + "999999", "N")
    assert strip(wrong_phone) == strip(missing)
    assert "未找到与该单号和手机号（或邮箱）匹配的服务单" in text_of(missing.get_data(as_text=True))


def test_guessing_the_phone_of_one_ticket_is_stopped_from_any_address(app, session, portal):
    ticket = customer_ticket(session, phone="13911110004")
    allowed = int(app.config["PORTAL_NUMBER_LIMIT"].split()[0])
    for i in range(allowed):
        assert track(portal, ticket.number, f"1381111{i:04d}", addr=f"10.9.0.{i}").status_code == 200
    # Now even the right phone from a fresh address waits: the number is locked for a while, not the owner's
    # signed links.
    assert track(portal, ticket.number, "13911110004", addr="10.9.1.1").status_code == 429
    assert portal.get(link(app, ticket)).status_code == 200
    # A different ticket number is not locked.
    other = customer_ticket(session, phone="13911110005")
    assert track(portal, other.number, "13911110005", addr="10.9.1.2").status_code == 303


def test_looking_up_is_rate_limited_per_address(app, session, portal):
    allowed = int(app.config["PORTAL_TRACK_LIMIT"].split()[0])
    for i in range(allowed):
        track(portal, f"SR20260101-{i:06d}", "13900000000", addr="10.8.0.1")
    assert track(portal, "SR20260101-999999", "13900000000", addr="10.8.0.1").status_code == 429


def test_a_forged_or_foreign_link_opens_nothing(app, session, portal):
    ticket = customer_ticket(session, phone="13911110006")
    good = link(app, ticket)
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    other_key = "/portal/t/" + tracking.sign(ticket.id, "some-other-installation-secret-key!!")
    for url in (forged, other_key, "/portal/t/not-a-token", "/portal/t/" + tracking.sign(10**9, app.config["SECRET_KEY"])):
        response = portal.get(url)
        assert response.status_code == 404 and ticket.number not in response.get_data(as_text=True)
        assert "链接无效" in text_of(response.get_data(as_text=True))


def test_an_expired_link_says_so_and_points_to_the_lookup(app, session, portal, monkeypatch):
    ticket = customer_ticket(session, phone="13911110007")
    days = app.config["PORTAL_LINK_DAYS"]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - (days + 1) * 86400)
    old = link(app, ticket)
    monkeypatch.undo()
    response = portal.get(old)
    assert response.status_code == 410 and ticket.number not in response.get_data(as_text=True)
    assert f"链接有效期为 {days} 天" in text_of(response.get_data(as_text=True))


def test_the_customer_sees_their_timeline_but_not_internal_notes(app, session, portal):
    ticket = customer_ticket(session, phone="13911110008")
    tickets.add_note(session, ticket, "内部备注：客户脾气急，上门前先电话", now=ticket.created_at, actor=user(session, "clerk"))
    session.commit()
    words = text_of(portal.get(link(app, ticket)).get_data(as_text=True))
    assert "内部备注" not in words and "分类" not in words
    assert "我们已收到您的服务请求" in words and f"工程师 {ticket.assignee.name} 将为您服务" in words
    assert "预计" in words  # when to expect the engineer or the fix


# --------------------------------------------------------------- the customer's actions

def test_added_information_goes_on_the_ticket_and_ends_the_wait_for_the_customer(app, session, portal):
    ticket = customer_ticket(session, phone="13911110009")
    engineer = user(session, "engineer")
    for status in (st.ACCEPTED, st.IN_PROGRESS, st.WAITING_CUSTOMER):
        tickets.transition(session, ticket, status, now=ticket.created_at, actor=engineer)
    session.commit()
    page = text_of(portal.get(link(app, ticket)).get_data(as_text=True))
    assert "等待您的回复" in page and "我们需要您补充信息" in page

    response = portal.post(link(app, ticket) + "/reply", data={
        "text": "机器型号 XQB80，排水口没有堵", "form_key": "r1", "photos": [(io.BytesIO(png()), "排水口.png")]},
        content_type="multipart/form-data")
    assert response.status_code == 303
    session.expire_all()
    assert ticket.status == st.IN_PROGRESS
    reply = session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                     TicketEvent.kind == "customer_reply"))
    assert reply.reason == "机器型号 XQB80，排水口没有堵"
    assert session.scalar(select(TicketAttachment.filename).where(TicketAttachment.ticket_id == ticket.id)) == "排水口.png"
    # The same form sent again (a retry) adds nothing.
    portal.post(link(app, ticket) + "/reply", data={"text": "机器型号 XQB80，排水口没有堵", "form_key": "r1"})
    assert session.scalar(select(func.count(TicketEvent.id)).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "customer_reply")) == 1
    assert "您补充了信息" in text_of(portal.get(link(app, ticket)).get_data(as_text=True))


def test_confirming_with_stars_closes_rates_and_plans_the_follow_up_call(app, session, portal):
    ticket = work_and_resolve(session, customer_ticket(session, phone="13911110010"))
    page = text_of(portal.get(link(app, ticket)).get_data(as_text=True))
    assert "已解决，请确认" in page and "问题解决了吗？" in page

    response = portal.post(link(app, ticket) + "/confirm", data={"score": "4", "comment": "师傅很准时"})
    assert response.status_code == 303
    session.expire_all()
    assert ticket.status == st.CLOSED
    survey = survey_of(session, ticket)
    assert (survey.score, survey.comment, survey.rated_via, survey.state) == (4, "师傅很准时", "portal", "rated")
    from app.models import FollowUp

    follow_up = session.scalar(select(FollowUp).where(FollowUp.ticket_id == ticket.id))
    assert follow_up.state == "open" and (follow_up.due_at - ticket.closed_at).days == 3
    page = text_of(portal.get(link(app, ticket)).get_data(as_text=True))
    assert "已完成" in page and "★★★★☆" in page and "发送评价" not in page


def test_a_closed_ticket_is_rated_once(app, session, portal):
    ticket = work_and_resolve(session, customer_ticket(session, phone="13911110011"))
    assert portal.post(link(app, ticket) + "/confirm", data={}).status_code == 303
    assert "发送评价" in text_of(portal.get(link(app, ticket)).get_data(as_text=True))
    assert portal.post(link(app, ticket) + "/rate", data={"score": "5"}).status_code == 303
    again = portal.post(link(app, ticket) + "/rate", data={"score": "1", "comment": "改主意了"})
    assert again.status_code == 400 and "您已经评价过本次服务，谢谢！" in text_of(again.get_data(as_text=True))
    assert survey_of(session, ticket).score == 5


def test_stars_are_required_and_checked(app, session, portal):
    ticket = work_and_resolve(session, customer_ticket(session, phone="13911110012"))
    portal.post(link(app, ticket) + "/confirm", data={})
    for data in ({}, {"score": "6"}, {"score": "x"}):
        response = portal.post(link(app, ticket) + "/rate?_l_=en", data=data)
        assert response.status_code == 400
    assert "Choose from 1 to 5 stars." in text_of(portal.post(link(app, ticket) + "/rate?_l_=en", data={})
                                                  .get_data(as_text=True))
    assert survey_of(session, ticket).score is None


def test_a_low_rating_goes_to_the_team_lead_and_the_review_list(app, session, portal):
    ticket = work_and_resolve(session, customer_ticket(session, phone="13911110013"))
    portal.post(link(app, ticket) + "/confirm", data={"score": "2", "comment": "等了三天才上门"})
    session.expire_all()
    assert ticket.status == st.CLOSED  # a low rating alone does not reopen: the fix held
    review = session.scalar(select(LowScoreReview).where(LowScoreReview.ticket_id == ticket.id))
    assert (review.trigger, review.score, review.reason, review.state) == ("low_rating", 2, "等了三天才上门", "open")
    lead = ticket.team.lead_user
    told = staff_messages(session, ticket, "low_satisfaction")
    assert [m.user_id for m in told] == [lead.id]
    event = session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "low_score"))
    with app.test_request_context("/?_l_=zh"):
        assert event.description == f"低评分（2 分）：已报告给 {lead.last_name}{lead.first_name} 复盘"


def test_problem_persists_reopens_with_the_customers_words_and_tells_the_lead(app, session, portal):
    ticket = work_and_resolve(session, customer_ticket(session, phone="13911110014"))
    empty = portal.post(link(app, ticket) + "/reopen", data={"reason": "  "})
    assert empty.status_code == 400 and "请告诉我们还有什么问题。" in text_of(empty.get_data(as_text=True))

    response = portal.post(link(app, ticket) + "/reopen", data={"reason": "还是不排水，有异响"})
    assert response.status_code == 303
    session.expire_all()
    assert ticket.status == st.REOPENED
    reopened = [e for e in ticket.events if e.kind == "status" and e.data["to"] == st.REOPENED][-1]
    assert reopened.reason == "还是不排水，有异响" and reopened.actor_user_id is None
    review = session.scalar(select(LowScoreReview).where(LowScoreReview.ticket_id == ticket.id))
    assert (review.trigger, review.reason) == ("problem_persists", "还是不排水，有异响")
    assert len(staff_messages(session, ticket, "low_satisfaction")) == 1
    assert survey_of(session, ticket).state == "skipped"  # this resolution's survey is moot
    page = text_of(portal.get(link(app, ticket)).get_data(as_text=True))
    assert "已重新打开，正在重新处理" in page and "还是不排水，有异响" in page

    # Fixed again: a new round to confirm and rate.
    work_and_resolve(session, ticket)
    session.expire_all()
    assert ticket.resolution_round == 2
    assert portal.post(link(app, ticket) + "/confirm", data={"score": "5"}).status_code == 303
    assert survey_of(session, ticket).score == 5


def test_a_ticket_closed_long_ago_cannot_be_reopened_from_the_portal(app, session, portal):
    from datetime import timedelta

    ticket = work_and_resolve(session, customer_ticket(session, phone="13911110015"))
    tickets.transition(session, ticket, st.CLOSED, now=ticket.resolved_at)
    ticket.closed_at = ticket.closed_at - timedelta(days=60)
    session.commit()
    assert "问题没有解决" not in text_of(portal.get(link(app, ticket)).get_data(as_text=True))
    response = portal.post(link(app, ticket) + "/reopen", data={"reason": "又坏了"})
    assert response.status_code == 400 and "请重新提交" in text_of(response.get_data(as_text=True))
    session.expire_all()
    assert ticket.status == st.CLOSED


def test_actions_do_not_work_in_the_wrong_state(app, session, portal):
    ticket = customer_ticket(session, phone="13911110016")
    assert portal.post(link(app, ticket) + "/confirm", data={}).status_code == 400
    assert portal.post(link(app, ticket) + "/rate", data={"score": "5"}).status_code == 400
    assert portal.post(link(app, ticket) + "/reopen", data={"reason": "x"}).status_code == 400
    session.expire_all()
    assert ticket.status == st.ASSIGNED


# --------------------------------------------------------------- language

def test_the_hotline_is_at_the_foot_of_the_portal_when_configured(app, portal, monkeypatch):
    assert 'id="hotline"' not in portal.get("/portal/").get_data(as_text=True)
    monkeypatch.setitem(app.config, "SERVICE_HOTLINE", "400-800-8888")
    html = portal.get("/portal/").get_data(as_text=True)
    assert '<a href="tel:4008008888" id="hotline">400-800-8888</a>' in html and "服务热线" in text_of(html)


def test_the_portal_speaks_chinese_first_then_the_browser_or_the_choice(portal):
    assert "如何为您服务？" in text_of(portal.get("/portal/").get_data(as_text=True))
    english_browser = portal.get("/portal/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "How can we help?" in text_of(english_browser.get_data(as_text=True))
    switch = portal.get("/portal/lang/zh?next=/portal/track", headers={"Accept-Language": "en-US"})
    assert switch.status_code == 302 and switch.headers["Location"] == "/portal/track"
    chosen = portal.get("/portal/", headers={"Accept-Language": "en-US"})
    assert "如何为您服务？" in text_of(chosen.get_data(as_text=True))
    # The switch only sends people back into the portal.
    assert portal.get("/portal/lang/en?next=https://evil.example.com/").headers["Location"] == "/portal/"


def test_behind_a_proxy_the_limits_count_the_customers_address(tmp_path_factory):
    from tests.conftest import make_app

    proxied = make_app(tmp_path_factory, "sqlite", "proxy", PROXY_FIX_HOPS=1, PORTAL_TRACK_LIMIT="2 per minute")
    client = proxied.test_client()

    def look_up(customer_address):  # an empty form: refused before any database work, but counted
        return client.post("/portal/track", data={}, headers={"X-Forwarded-For": customer_address}).status_code

    assert [look_up("203.0.113.7") for _ in range(3)] == [400, 400, 429]
    assert look_up("198.51.100.9") == 400  # another customer behind the same proxy is not held up


def test_a_repeat_report_is_taken_without_showing_whose_request_it_joined(session, portal):
    first = submit(portal, phone="13755550031", form_key="k-repeat-1", description="冰箱不制冷，冷藏室温度很高")
    number = portal.get(first.headers["Location"]).get_data(as_text=True)
    ticket = session.scalar(select(Ticket).where(Ticket.contact_phone == "13755550031"))
    # Someone types the same phone number and the same problem: the report joins the open request…
    again = submit(portal, phone="13755550031", form_key="k-repeat-2", description="冰箱不制冷，冷藏室温度很高")
    session.expire_all()
    assert again.status_code == 200 and ticket.report_count == 2
    # …but whoever typed it is not shown that request, its number or a link to it.
    html = again.get_data(as_text=True)
    assert ticket.number in number and ticket.number not in html and "/portal/t/" not in html
    assert "已将您的留言加入其中" in text_of(html)


def test_additions_sent_without_a_form_key_are_each_kept(app, session, portal):
    ticket = customer_ticket(session, phone="13911110017")
    for text in ("第一次补充", "第二次补充"):
        assert portal.post(link(app, ticket) + "/reply", data={"text": text}).status_code == 303
    replies = session.scalars(select(TicketEvent.reason).where(TicketEvent.ticket_id == ticket.id,
                                                               TicketEvent.kind == "customer_reply")
                              .order_by(TicketEvent.id)).all()
    assert replies == ["第一次补充", "第二次补充"]


def test_a_form_sent_again_by_someone_else_does_not_open_the_first_senders_request(session, portal):
    first = submit(portal, phone="13755550041", form_key="k-shared-phone", description="烤箱不加热，指示灯不亮")
    assert first.status_code == 303
    portal.get(first.headers["Location"])  # the first customer sees their request; then hands the phone on
    number = session.scalar(select(Ticket.number).where(Ticket.contact_phone == "13755550041"))
    stranger = portal.post("/portal/submit", data={"name": "路人", "phone": "13855550042", "form_key": "k-shared-phone",
                                                   "description": "别的问题"}, content_type="multipart/form-data")
    html = stranger.get_data(as_text=True)
    assert stranger.status_code == 200 and number not in html and "/portal/t/" not in html


def test_one_phone_tried_against_many_numbers_is_stopped(app, session, portal):
    allowed = int(app.config["PORTAL_CONTACT_LIMIT"].split()[0])
    for i in range(allowed):
        assert track(portal, f"SR20260301-{i:06d}", "13911119876", addr=f"10.7.{i}.1").status_code == 200
    assert track(portal, "SR20260301-999999", "13911119876", addr="10.7.99.1").status_code == 429


def test_an_unreadable_contact_matches_nothing(session):
    from app.services import portal as portal_service

    ticket = customer_ticket(session, phone="13911110018")
    assert portal_service.find_owned(session, ticket.number, "not a phone") is None
    assert portal_service.find_owned(session, ticket.number, "") is None


def test_a_merged_request_does_not_name_the_request_it_joined(app, session, portal):
    from app.services import intake as intake_service

    target = customer_ticket(session, phone="13911110019")
    source = customer_ticket(session, phone="13811110019")
    intake_service.merge_tickets(session, source, target, now=source.created_at, actor=user(session, "clerk"))
    session.commit()
    page = text_of(portal.get(link(app, source)).get_data(as_text=True))
    assert target.number not in page and "与此前同一问题的服务单合并处理" in page
