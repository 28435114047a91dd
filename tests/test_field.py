"""The engineer's day on a phone: their work in order, accept, set off, check in where the customer is,
log, use parts, resolve with how it was fixed — and nobody else's tickets."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import Customer, Notification, ResolutionCode, Ticket, TicketAttachment
from app.services import field, satisfaction
from app.services import status as st
from app.services import tickets
from app.services.errors import ServiceError
from tests.conftest import flashes
from tests.helpers import NOW, engineer_of, other_engineer, user
from tests.portal_world import customer_ticket, link, png
from tests.test_inventory import new_part, stock

# 北京朝阳区: the demo engineer's base is near; the second address is across town.
NEAR = (39.9219, 116.4436)
ACROSS_TOWN = (40.0500, 116.3000)


def located_customer(session, phone, position=NEAR) -> Customer:
    customer = Customer(name="位置客户", phone=phone, latitude=position[0], longitude=position[1],
                        address="北京市朝阳区建国路88号")
    session.add(customer)
    session.commit()
    return customer


def code(session, value="part_replaced") -> ResolutionCode:
    return session.scalar(select(ResolutionCode).where(ResolutionCode.code == value))


def test_my_work_lists_only_my_open_tickets_by_deadline_or_by_distance(session):
    me = engineer_of(session)
    me.last_latitude, me.last_longitude, me.last_located_at = NEAR[0], NEAR[1], NOW
    near_late = customer_ticket(session, "13944440001", customer=located_customer(session, "13944440001", NEAR))
    far_soon = customer_ticket(session, "13944440002",
                               customer=located_customer(session, "13944440002", ACROSS_TOWN))
    near_late.sla_due_at, far_soon.sla_due_at = NOW + timedelta(hours=8), NOW + timedelta(hours=1)
    someone_else = customer_ticket(session, "13944440003")
    tickets.assign(session, someone_else, other_engineer(session), now=NOW, actor=user(session, "clerk"))
    session.commit()

    by_due = [w.ticket.id for w in field.my_work(session, me, now=NOW)]
    by_distance = [w.ticket.id for w in field.my_work(session, me, now=NOW, order="distance")]
    assert someone_else.id not in by_due
    assert by_due.index(far_soon.id) < by_due.index(near_late.id)
    assert by_distance.index(near_late.id) < by_distance.index(far_soon.id)
    near = next(w for w in field.my_work(session, me, now=NOW) if w.ticket.id == near_late.id)
    assert near.distance_km == 0.0


def test_accept_set_off_and_check_in_near_the_customer(app, session):
    me = engineer_of(session)
    ticket = customer_ticket(session, "13944440010", customer=located_customer(session, "13944440010"))
    actor = user(session, "engineer")
    field.accept(session, ticket, me, now=NOW, actor=actor)
    field.depart(session, ticket, me, now=NOW + timedelta(minutes=5), actor=actor, latitude="39.95",
                 longitude="116.40")
    session.commit()
    on_way = session.scalars(select(Notification).where(Notification.ticket_id == ticket.id,
                                                        Notification.event == "engineer_on_way")).all()
    assert len(on_way) == 1 and on_way[0].customer_id == ticket.customer_id
    assert me.last_latitude == 39.95  # dispatch measures from here now

    field.check_in(session, ticket, me, now=NOW + timedelta(minutes=40), actor=actor, latitude=str(NEAR[0] + 0.001),
                   longitude=str(NEAR[1]), accuracy="12")
    session.commit()
    session.expire_all()
    assert ticket.status == st.IN_PROGRESS and ticket.arrived_at == NOW + timedelta(minutes=40)
    assert 100 <= ticket.checkin_distance_m <= 120 and ticket.checkin_far is False
    event = [e for e in ticket.events if e.kind == "checked_in"][-1]
    with app.test_request_context("/?_l_=zh"):
        assert event.description == f"{me.name} 在距客户地址 {ticket.checkin_distance_m} 米处签到"
    page = app.test_client().get(link(app, ticket)).get_data(as_text=True)
    assert f"工程师 {me.name} 正在路上" in page and "工程师已到达" in page


def test_a_check_in_far_from_the_address_is_flagged_and_one_without_location_says_so(app, session):
    me, actor = engineer_of(session), user(session, "engineer")
    far = customer_ticket(session, "13944440011", customer=located_customer(session, "13944440011"))
    field.accept(session, far, me, now=NOW, actor=actor)
    field.check_in(session, far, me, now=NOW, actor=actor, latitude=str(ACROSS_TOWN[0]), longitude=str(ACROSS_TOWN[1]),
                   far_meters=1000)
    blind = customer_ticket(session, "13944440012", customer=located_customer(session, "13944440012"))
    field.accept(session, blind, me, now=NOW, actor=actor)
    field.check_in(session, blind, me, now=NOW, actor=actor)
    session.commit()
    assert far.checkin_far is True and far.checkin_distance_m > 10000
    assert blind.checkin_far is False and blind.checkin_distance_m is None
    with app.test_request_context("/?_l_=en"):
        assert "farther than 1000 m" in [e for e in far.events if e.kind == "checked_in"][-1].description
        assert [e for e in blind.events if e.kind == "checked_in"][-1].description == \
            f"{me.name} checked in without a location"
    with pytest.raises(ServiceError) as bad:
        field.check_in(session, far, me, now=NOW, actor=actor, latitude="999", longitude="116")
    assert bad.value.field == "latitude"


def test_resolving_needs_a_resolution_code_and_counts_the_parts_used(session):
    me, actor = engineer_of(session), user(session, "engineer")
    part = new_part(session, price="50.00", WH_BJ=4)
    ticket = customer_ticket(session, "13944440013")
    ticket.warranty_status = "out"
    field.accept(session, ticket, me, now=NOW, actor=actor)
    field.check_in(session, ticket, me, now=NOW, actor=actor)
    from app.services import inventory

    item = inventory.need_and_reserve(session, ticket, part, 3, now=NOW, actor=actor).item
    field.log_work(session, ticket, me, "拆机检查，加热管烧坏", now=NOW, actor=actor)
    session.commit()
    with pytest.raises(ServiceError) as missing:
        field.resolve(session, ticket, me, code_id="", note=None, now=NOW, actor=actor)
    assert missing.value.field == "resolution_code"
    session.rollback()
    field.resolve(session, ticket, me, code_id=code(session).id, note="更换加热管，试机正常", now=NOW, actor=actor,
                  used={item.id: 2})
    session.commit()
    session.expire_all()
    assert ticket.status == st.RESOLVED and ticket.resolution_code.code == "part_replaced"
    assert ticket.parts_charge == Decimal("100.00") and stock(session, "WH-BJ", part) == (2, 0)
    assert [e.kind for e in ticket.events].count("parts_consumed") == 1
    assert satisfaction.current_survey(session, ticket) is not None  # the satisfaction loop starts


def test_nobody_works_on_another_engineers_ticket(session):
    mine = customer_ticket(session, "13944440014")
    other = other_engineer(session)
    with pytest.raises(ServiceError):
        field.accept(session, mine, other, now=NOW)
    with pytest.raises(ServiceError):
        field.check_in(session, mine, other, now=NOW)


def test_the_workspace_pages_walk_the_engineer_through_the_visit(app, session, login_as):
    import io

    ticket = customer_ticket(session, "13944440020", customer=located_customer(session, "13944440020"))
    phone = login_as("engineer")
    listing = phone.get("/workspace/")
    assert listing.status_code == 200 and ticket.number in listing.get_data(as_text=True)
    assert phone.post(f"/workspace/ticket/{ticket.id}/accept", follow_redirects=True).status_code == 200
    assert "已告知客户" in flashes(phone.post(f"/workspace/ticket/{ticket.id}/depart", follow_redirects=True)
                                 .get_data(as_text=True))
    phone.post(f"/workspace/ticket/{ticket.id}/checkin", data={"latitude": NEAR[0], "longitude": NEAR[1]})
    phone.post(f"/workspace/ticket/{ticket.id}/log", data={"text": "清洗滤网", "photos": [(io.BytesIO(png()), "滤网.png")]},
               content_type="multipart/form-data")
    refused = phone.post(f"/workspace/ticket/{ticket.id}/resolve", data={"resolution_code": ""}, follow_redirects=True)
    assert "请选择解决方式。" in flashes(refused.get_data(as_text=True))
    done = phone.post(f"/workspace/ticket/{ticket.id}/resolve",
                      data={"resolution_code": code(session, "repaired").id, "note": "清洗后正常"}, follow_redirects=True)
    assert "已解决" in flashes(done.get_data(as_text=True))
    session.expire_all()
    ticket = session.get(Ticket, ticket.id)
    assert ticket.status == st.RESOLVED and ticket.checkin_distance_m == 0
    assert session.scalar(select(TicketAttachment.filename).where(TicketAttachment.ticket_id == ticket.id)) == "滤网.png"
    kinds = [e.kind for e in ticket.events]
    assert {"departed", "checked_in", "work_log"} <= set(kinds)


def test_another_engineers_ticket_is_not_found_and_clerks_have_no_workspace(session, login_as):
    theirs = customer_ticket(session, "13944440021")
    tickets.assign(session, theirs, other_engineer(session), now=NOW, actor=user(session, "clerk"))
    session.commit()
    phone = login_as("engineer")
    assert phone.get(f"/workspace/ticket/{theirs.id}").status_code == 404
    assert phone.post(f"/workspace/ticket/{theirs.id}/accept").status_code == 404
    assert login_as("clerk").get("/workspace/").status_code in (302, 403)


def test_the_location_ping_moves_the_engineer_for_dispatch(session, login_as):
    phone = login_as("engineer")
    assert phone.post("/workspace/location", data={"latitude": "39.91", "longitude": "116.39"}).status_code == 204
    session.expire_all()
    me = engineer_of(session)
    assert (me.last_latitude, me.last_longitude) == (39.91, 116.39) and me.last_located_at is not None
    bad = phone.post("/workspace/location", data={"latitude": "north", "longitude": "116"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "latitude"


def test_a_login_that_is_not_an_engineer_is_told_so(login_as):
    response = login_as("admin").get("/workspace/", follow_redirects=True)
    assert "您的登录账号没有关联工程师" in flashes(response.get_data(as_text=True))


def test_setting_off_twice_tells_the_customer_once(session):
    me, actor = engineer_of(session), user(session, "engineer")
    ticket = customer_ticket(session, "13944440030", customer=located_customer(session, "13944440030"))
    field.accept(session, ticket, me, now=NOW, actor=actor)
    field.depart(session, ticket, me, now=NOW, actor=actor)
    field.depart(session, ticket, me, now=NOW + timedelta(seconds=2), actor=actor)
    session.commit()
    assert len(session.scalars(select(Notification).where(Notification.ticket_id == ticket.id,
                                                          Notification.event == "engineer_on_way")).all()) == 1


def test_the_check_in_is_measured_from_the_device_when_it_has_its_own_place(session):
    from app.models import Asset, Product

    me, actor = engineer_of(session), user(session, "engineer")
    customer = located_customer(session, "13944440031", ACROSS_TOWN)  # lives across town…
    shop = Asset(serial_number="SN-SHOP-13944440031", product=session.scalar(select(Product).limit(1)),
                 customer=customer, latitude=NEAR[0], longitude=NEAR[1])  # …the machine is in their shop
    session.add(shop)
    ticket = customer_ticket(session, "13944440031", customer=customer, asset=shop)
    field.accept(session, ticket, me, now=NOW, actor=actor)
    field.check_in(session, ticket, me, now=NOW, actor=actor, latitude=str(NEAR[0]), longitude=str(NEAR[1]),
                   accuracy="inf")
    session.commit()
    assert ticket.checkin_distance_m == 0 and ticket.checkin_far is False


def test_odd_numbers_in_the_workspace_forms_are_refused_not_crashed(session, login_as):
    ticket = customer_ticket(session, "13944440032", customer=located_customer(session, "13944440032"))
    phone = login_as("engineer")
    phone.post(f"/workspace/ticket/{ticket.id}/accept")
    phone.post(f"/workspace/ticket/{ticket.id}/checkin", data={"latitude": NEAR[0], "longitude": NEAR[1],
                                                               "accuracy": "inf"})
    for code_value in ("²", "1e9", "99999999999999999999"):
        response = phone.post(f"/workspace/ticket/{ticket.id}/resolve", data={"resolution_code": code_value},
                              follow_redirects=True)
        assert response.status_code == 200 and "请选择解决方式。" in flashes(response.get_data(as_text=True))
    response = phone.post(f"/workspace/ticket/{ticket.id}/parts", data={"part_id": "²", "quantity": "1"},
                          follow_redirects=True)
    assert response.status_code == 200 and "请选择备件。" in flashes(response.get_data(as_text=True))


def test_a_second_check_in_keeps_the_far_flag_and_a_place_it_had(session):
    """A second day on site: tapping check-in again (near, or where the phone finds no fix) must not wipe
    what the manager looks for — that the first check-in was far from the customer."""
    me, actor = engineer_of(session), user(session, "engineer")
    ticket = customer_ticket(session, "13944440031", customer=located_customer(session, "13944440031"))
    field.accept(session, ticket, me, now=NOW, actor=actor)
    field.check_in(session, ticket, me, now=NOW, actor=actor, latitude=str(ACROSS_TOWN[0]),
                   longitude=str(ACROSS_TOWN[1]), far_meters=1000)
    first_distance = ticket.checkin_distance_m
    field.check_in(session, ticket, me, now=NOW + timedelta(days=1), actor=actor)  # no location this time
    session.commit()
    assert ticket.checkin_far is True and ticket.checkin_distance_m == first_distance > 10000
    assert ticket.arrived_at == NOW  # arrival is the first check-in
    field.check_in(session, ticket, me, now=NOW + timedelta(days=2), actor=actor, latitude=str(NEAR[0]),
                   longitude=str(NEAR[1]), far_meters=1000)
    session.commit()
    assert ticket.checkin_distance_m == 0 and ticket.checkin_far is True
    assert [e.data.get("far") for e in ticket.events if e.kind == "checked_in"] == [True, None, False]


def test_the_engineer_rejects_a_ticket_from_the_phone_with_a_reason(session, login_as):
    ticket = customer_ticket(session, "13944440032")
    me = engineer_of(session)
    phone = login_as("engineer")
    refused = phone.post(f"/workspace/ticket/{ticket.id}/reject", data={"reason": " "}, follow_redirects=True)
    assert "请说明拒单原因。" in flashes(refused.get_data(as_text=True))
    session.expire_all()
    assert session.get(Ticket, ticket.id).assignee_id == me.id
    done = phone.post(f"/workspace/ticket/{ticket.id}/reject", data={"reason": "不在我的服务区域"}, follow_redirects=True)
    assert "已拒单，工单将重新派单。" in flashes(done.get_data(as_text=True))
    assert done.request.path == "/workspace/"  # back to the list, not to a ticket that is no longer theirs
    session.expire_all()
    ticket = session.get(Ticket, ticket.id)
    assert ticket.assignee_id != me.id  # dispatched again, never back to the one who declined
    [rejected] = [e for e in ticket.events if e.kind == "rejected"]
    assert rejected.reason == "不在我的服务区域" and rejected.data["engineer"] == me.name
    assert ticket.number not in phone.get("/workspace/").get_data(as_text=True)
