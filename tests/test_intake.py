"""Intake through the service: recognition, rules, sentiment, merging, IoT alarms, idempotency."""
import random
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.models import (
    Asset, ClassificationRule, Customer, CustomerContact, IntakeRecord, IntakeSettings, Priority, Ticket,
)
from app.services import intake as svc
from app.services.contacts import normalize_email, normalize_phone
from app.services.errors import ServiceError
from app.services.intake import IntakeRequest
from tests.helpers import NOW, user

_rng = random.Random()


def fresh_phone() -> str:
    return f"1{_rng.choice('3578')}{_rng.randrange(10**9):09d}"


def report(session, description, *, now=NOW, channel="app", **fields):
    fields.setdefault("phone", fresh_phone())
    result = svc.intake(session, IntakeRequest(channel=channel, description=description, **fields), now=now)
    session.commit()
    return result


def codes(result):
    return [r["code"] for r in result.reasons]


@pytest.mark.parametrize("raw, expected", [
    ("+86 138-0013-8000", "13800138000"),
    ("0086 13800138000", "13800138000"),
    ("8613800138000", "13800138000"),
    ("138 0013 8000", "13800138000"),
    ("010-62345678", "01062345678"),
    ("(021) 6234 5678", "02162345678"),
    ("+1 650 253 0000", "+16502530000"),
    ("call me", None),
])
def test_phone_numbers_are_compared_in_one_form(raw, expected):
    assert normalize_phone(raw) == expected


def test_email_addresses_are_compared_case_insensitively():
    assert normalize_email(" Li.Na@Example.COM ") == "li.na@example.com"
    assert normalize_email("not an address") is None


def test_a_known_customer_is_recognised_by_a_differently_written_phone(session):
    customer = session.scalar(select(Customer).where(Customer.phone.is_not(None)).order_by(Customer.id))
    written = f"+86 {customer.phone[:3]}-{customer.phone[3:7]}-{customer.phone[7:]}"
    result = report(session, "遥控器丢了，想买一个新的", phone=written, now=NOW + timedelta(days=40))
    assert result.ticket.customer_id == customer.id
    assert {"code": "customer_found", "by": "phone", "value": customer.phone, "name": customer.name} in result.reasons


def test_a_further_phone_of_the_customer_also_recognises_them(session):
    contact = session.scalar(select(CustomerContact).where(CustomerContact.kind == "phone").limit(1))
    result = report(session, "净水器滤芯怎么换", phone=contact.value, now=NOW + timedelta(days=41))
    assert result.ticket.customer_id == contact.customer_id


def test_an_unknown_sender_becomes_an_unverified_customer(session):
    phone = fresh_phone()
    result = report(session, "洗碗机排水有异响", phone=phone, customer_name="周杰")
    customer = result.ticket.customer
    assert (customer.name, customer.phone, customer.verified) == ("周杰", phone, False)
    assert "customer_created" in codes(result)
    again = report(session, "空调遥控器配件", phone=phone)
    assert again.ticket.customer_id == customer.id


def test_e_mail_and_wechat_recognise_customers(session):
    customer = session.scalar(select(Customer).where(Customer.email.is_not(None)).order_by(Customer.id))
    result = svc.intake(session, IntakeRequest(channel="email", description="请问发票怎么开",
                                               email=customer.email.upper()), now=NOW + timedelta(days=42))
    assert result.ticket.customer_id == customer.id
    customer.wechat_openid = "oWx-test-" + fresh_phone()
    session.commit()
    result = svc.intake(session, IntakeRequest(channel="wechat", description="APP怎么绑定设备",
                                               wechat_openid=customer.wechat_openid), now=NOW + timedelta(days=43))
    assert result.ticket.customer_id == customer.id and result.reasons[0]["by"] == "wechat"


def test_serial_number_in_the_text_finds_the_device_and_its_warranty(session):
    asset = session.scalar(select(Asset).where(Asset.customer_id.is_not(None)).order_by(Asset.id))
    asset.warranty_end = date(2027, 1, 31)
    session.commit()
    result = report(session, f"机身编号{asset.serial_number}，开机有异响", phone=None,
                    now=NOW + timedelta(days=44))
    ticket = result.ticket
    assert ticket.asset_id == asset.id and ticket.customer_id == asset.customer_id
    assert ticket.product_id == asset.product_id
    assert ticket.warranty_status == "in"
    asset.warranty_end = date(2026, 11, 1)
    session.commit()
    later = report(session, "油烟机不吸烟", phone=None, serial_number=asset.serial_number.lower(),
                   now=NOW + timedelta(days=60))
    assert later.ticket.warranty_status == "out"
    assert {"code": "warranty", "status": "out", "until": "2026-11-01"} in later.reasons


def _priority(ticket):
    return ticket.priority.code if ticket.priority else None


@pytest.mark.parametrize("text, category, priority, service_type", [
    ("热水器漏水了，地上都是水", "fault", "urgent", "hardware_repair"),
    ("燃气热水器有很重的煤气味", "fault", "urgent", "hardware_repair"),
    ("熱水器無法開機，按鍵沒反應", "fault", "urgent", "hardware_repair"),  # Traditional Chinese
    ("空调开不了机", "fault", "urgent", "hardware_repair"),  # synonym of 无法开机
    ("My dishwasher won't turn on", "fault", "urgent", "hardware_repair"),
    ("There is a burning smell and smoke from the range hood", "fault", "urgent", "hardware_repair"),
    ("新买的空调想预约上门安装", "installation", "medium", "installation"),
    ("请问净水器滤芯多久换一次", "parts", "low", "hardware_repair"),
    ("How do I set the timer on the water heater?", "inquiry", "low", "software_guidance"),
])
def test_default_rules_classify_typical_feedback(session, text, category, priority, service_type):
    result = report(session, text)
    ticket = result.ticket
    assert (ticket.category.code, _priority(ticket), ticket.service_type.code) == (category, priority, service_type)
    assert not ticket.needs_review
    rule = next(r for r in result.reasons if r["code"] == "rule" and "category" in r["sets"])
    assert rule["matched"], "the explanation names the words that matched"


def test_what_the_rules_cannot_place_goes_to_review(session):
    result = report(session, "你好，在吗？")
    assert result.ticket.needs_review and result.ticket.category_id is None
    assert {"no_category", "review"} <= set(codes(result))


def test_a_clerk_setting_the_category_takes_the_ticket_out_of_review(session):
    from app.models import Category

    ticket = report(session, "师傅，麻烦看一下").ticket
    assert ticket.needs_review
    from app.services import tickets

    tickets.edit_ticket(session, ticket, {"category": session.scalar(select(Category).where(Category.code == "inquiry"))},
                        now=NOW, actor=user(session, "clerk"))
    session.commit()
    kinds = [e.kind for e in ticket.events]
    assert not ticket.needs_review and "classified" in kinds
    after = kinds[kinds.index("edited"):]
    # Reviewed, the ticket goes on to dispatch (an engineer, or the pool with the reason).
    assert after[:2] == ["edited", "reviewed"] and after[2] in ("dispatched", "pooled")


def test_angry_complaint_raises_priority_with_the_reason(session):
    calm = report(session, "洗碗机有异响")
    angry = report(session, "洗碗机有异响，打了三次电话都没人管，太差劲了！我要投诉！！")
    assert _priority(calm.ticket) == "high"
    assert _priority(angry.ticket) == "urgent"
    assert angry.ticket.sentiment <= -0.6 < calm.ticket.sentiment
    raised_by = {r["rule"] for r in angry.reasons if r["code"] == "rule" and r["raise"]}
    assert raised_by == {"投诉用语 Complaint wording", "情绪激烈 Angry tone"}


def test_vip_customer_and_repeat_report_raise_one_level_each(session):
    vip = session.scalar(select(Customer).where(Customer.tier == "vip").order_by(Customer.id.desc()))
    first = report(session, "请问空调怎么清洗滤网", phone=vip.phone, now=NOW + timedelta(days=90))
    assert _priority(first.ticket) == "medium"  # low + VIP
    second = report(session, "油烟机开关怎么设置定时", phone=vip.phone, now=NOW + timedelta(days=93))
    assert _priority(second.ticket) == "high"  # low + VIP + earlier report within 7 days
    assert any(r["code"] == "rule" and r.get("repeat_days") == 7 for r in second.reasons)


def test_a_rule_edited_by_a_manager_takes_effect_at_once(session):
    rule = ClassificationRule(name="E5 报错", position=5, keywords="E5", category=None,
                              priority=session.scalar(select(Priority).where(Priority.code == "urgent")),
                              tags="E5")
    session.add(rule)
    session.commit()
    try:
        result = report(session, "空调显示 E5 代码")
        assert _priority(result.ticket) == "urgent" and "E5" in result.ticket.tags
        rule.active = False
        session.commit()
        result = report(session, "空调显示 E5 代码")
        assert _priority(result.ticket) != "urgent"
    finally:
        session.delete(rule)
        session.commit()


def test_the_same_problem_twice_is_merged_and_can_be_split_out(session):
    phone = fresh_phone()
    first = report(session, "热水器漏水了，底部一直滴水", phone=phone)
    second = report(session, "热水器底部漏水，地上都是水", phone=phone, now=NOW + timedelta(hours=3),
                    customer_name="张伟")
    assert second.outcome == "merged" and second.ticket.id == first.ticket.id
    assert second.duplicate_of.number == first.ticket.number
    merged = next(r for r in second.reasons if r["code"] == "merged")
    assert merged["similarity"] >= merged["threshold"]
    ticket = first.ticket
    session.refresh(ticket)
    assert ticket.report_count == 2
    assert session.scalar(select(func.count()).select_from(Ticket).where(Ticket.contact_phone == phone)) == 1

    event = next(e for e in ticket.events if e.kind == "merged_report")
    new = svc.split_report(session, ticket, event.id, now=NOW + timedelta(hours=4), actor=user(session, "clerk"),
                           reason="不同的热水器")
    session.commit()
    assert new.id != ticket.id and new.description == "热水器底部漏水，地上都是水"
    assert new.contact_name == "张伟" and new.customer_id == ticket.customer_id
    assert ticket.report_count == 1
    with pytest.raises(ServiceError):
        svc.split_report(session, ticket, event.id, now=NOW, actor=None)
    session.rollback()


def test_different_problems_or_old_tickets_are_not_merged(session):
    phone = fresh_phone()
    first = report(session, "热水器漏水了", phone=phone)
    other = report(session, "热水器的滤芯在哪买", phone=phone, now=NOW + timedelta(hours=1))
    assert other.outcome == "created"  # another category
    late = report(session, "热水器又漏水了", phone=phone, now=NOW + timedelta(hours=30))
    assert late.outcome == "created" and late.ticket.id != first.ticket.id  # outside the 24 h window


def test_merging_can_be_turned_off_and_the_window_changed(session):
    settings = session.get(IntakeSettings, 1)
    settings.dedupe_window_hours = 0
    session.commit()
    try:
        phone = fresh_phone()
        report(session, "空调不制冷", phone=phone)
        again = report(session, "空调不制冷", phone=phone, now=NOW + timedelta(minutes=5))
        assert again.outcome == "created"
    finally:
        settings.dedupe_window_hours = 24
        session.commit()


def test_a_clerk_merges_two_tickets_by_hand(session):
    a = report(session, "油烟机声音很大").ticket
    b = report(session, "油烟机噪音特别大").ticket
    svc.merge_tickets(session, b, a, now=NOW, actor=user(session, "clerk"), reason="同一台油烟机")
    session.commit()
    assert b.status == "cancelled" and b.duplicate_of_id == a.id
    assert a.report_count == 2
    assert [e.kind for e in a.events][-1] == "merged_report"
    with pytest.raises(ServiceError):
        svc.merge_tickets(session, a, a, now=NOW)
    session.rollback()


def test_the_same_message_twice_gives_the_same_ticket(session):
    key = "app-" + fresh_phone()
    first = report(session, "净水器漏水", message_key=key)
    again = report(session, "净水器漏水", message_key=key)
    assert again.replayed and again.ticket.id == first.ticket.id
    assert session.scalar(select(func.count()).select_from(Ticket).where(Ticket.external_ref == key)) == 1
    assert session.scalar(select(func.count()).select_from(IntakeRecord).where(IntakeRecord.message_key == key)) == 1


def test_a_report_already_made_through_the_plain_ticket_api_is_not_made_twice(session):
    from tests.helpers import new_ticket

    key = "app-" + fresh_phone()
    made = new_ticket(session, channel="app", external_ref=key)
    again = report(session, "净水器漏水", message_key=key)
    assert again.replayed and again.ticket.id == made.id
    assert session.scalar(select(func.count()).select_from(Ticket).where(Ticket.external_ref == key)) == 1


def test_bad_requests_name_the_field_and_create_nothing(session):
    before = session.scalar(select(func.count()).select_from(Ticket))
    for request, field in [
        (IntakeRequest(channel="fax", description="x", phone="13800138000"), "channel"),
        (IntakeRequest(channel="app", description="", phone="13800138000"), "description"),
        (IntakeRequest(channel="app", description="漏水"), "customer"),
        (IntakeRequest(channel="app", description="漏水", phone="12"), "customer.phone"),
        (IntakeRequest(channel="iot", serial_number="X1", fault_code="E1", severity="boom"), "severity"),
    ]:
        with pytest.raises(ServiceError) as exc:
            svc.intake(session, request, now=NOW)
        assert exc.value.field == field
        session.rollback()
    assert session.scalar(select(func.count()).select_from(Ticket)) == before


def _alarm(session, asset, code, *, now, severity="critical", recovered=False, key=None):
    result = svc.intake(session, IntakeRequest(channel="iot", serial_number=asset.serial_number, fault_code=code,
                                               severity=severity, recovered=recovered, message_key=key,
                                               description="水温传感器异常"), now=now)
    session.commit()
    return result


def test_repeated_device_alarms_update_one_ticket_and_recovery_is_noted(session):
    asset = session.scalar(select(Asset).order_by(Asset.id.desc()))
    code = "E" + str(_rng.randrange(100, 999))
    first = _alarm(session, asset, code, now=NOW)
    assert first.outcome == "created" and first.ticket.fault_code == code
    assert _priority(first.ticket) == "urgent" and first.ticket.asset_id == asset.id
    for minutes in (5, 10):
        repeat = _alarm(session, asset, code, now=NOW + timedelta(minutes=minutes))
        assert repeat.outcome == "alarm_repeat" and repeat.ticket.id == first.ticket.id
    assert first.ticket.report_count == 3
    assert first.ticket.last_reported_at == NOW + timedelta(minutes=10)
    recovered = _alarm(session, asset, code, now=NOW + timedelta(minutes=20), recovered=True)
    assert recovered.outcome == "alarm_recovered"
    assert first.ticket.events[-1].kind == "alarm_recovered"
    other = _alarm(session, asset, code + "X", now=NOW + timedelta(minutes=21), severity="warning")
    assert other.outcome == "created" and other.ticket.id != first.ticket.id
    # warning → medium, one level up: the same device reported within 7 days
    assert _priority(other.ticket) == "high" and any(r.get("repeat_days") for r in other.reasons)
    stray = _alarm(session, asset, "R" + code, now=NOW, recovered=True)
    assert stray.outcome == "ignored" and stray.ticket is None


def test_an_alarm_from_an_unknown_device_is_kept_for_review(session):
    result = svc.intake(session, IntakeRequest(channel="iot", serial_number="NOPE-" + fresh_phone(),
                                               fault_code="E1", severity="warning"), now=NOW)
    session.commit()
    assert result.outcome == "created" and result.ticket.asset_id is None
    assert "asset_unknown" in codes(result)


def test_every_decision_is_on_the_timeline(session):
    result = report(session, "空调漏水，太差劲了！")
    kinds = [e.kind for e in result.ticket.events]
    assert kinds[:3] == ["created", "received", "classified"]
    stored = result.ticket.events[2].data["reasons"]
    assert [r["code"] for r in stored] == codes(result)


def test_an_intake_rolled_back_by_its_caller_leaves_nothing(session):
    """The caller owns the transaction: intake's savepoint must not commit on its own (SQLite included)."""
    session.commit()
    tickets_before = session.scalar(select(func.count()).select_from(Ticket))
    records_before = session.scalar(select(func.count()).select_from(IntakeRecord))
    svc.intake(session, IntakeRequest(channel="app", description="热水器漏水", phone=fresh_phone(),
                                      message_key="app-" + fresh_phone()), now=NOW)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Ticket)) == tickets_before
    assert session.scalar(select(func.count()).select_from(IntakeRecord)) == records_before


def test_a_keyword_never_wins_inside_a_longer_word(session):
    """「着火」 (on fire) is a safety keyword; 「打不着火」 (will not ignite) is no fire."""
    def safety(result):
        return "安全隐患" in (result.ticket.tags or "")

    assert not safety(report(session, "燃气热水器打不着火，咔咔响"))
    assert safety(report(session, "油烟机电机着火了"))
