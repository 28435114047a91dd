"""Dispatch: each hard constraint, each weight, ties, the pool, claims, rejects and transfers.

Every test builds its own small world — a province/city/district chain nobody else covers and a team of
its own — so the demo's engineers never take part.
"""
import threading
from datetime import time, timedelta

import pytest
from sqlalchemy import select

from app.models import (
    Customer, DispatchSettings, Engineer, EngineerAbsence, EngineerShift, Priority, Stock, Ticket, TicketPart,
)
from app.services import assign
from app.services import status as st
from app.services import tickets
from app.services.errors import ServiceError
from app.services.timeline import describe
from tests.dispatch_world import World
from tests.helpers import NOW, user

@pytest.fixture
def world(session):
    w = World(session)
    yield w
    session.rollback()


def names(outcome):
    return [c.name for c in outcome.candidates]


def last_event(ticket, kind):
    return [e for e in ticket.events if e.kind == kind][-1]


def test_the_nearest_qualified_engineer_gets_it_and_the_timeline_says_why(world):
    near = world.engineer("近", at=(39.91, 116.41))
    world.engineer("远", at=(40.20, 116.90))
    ticket = world.ticket()
    outcome = world.dispatch(ticket)
    assert outcome.chosen.name == near.name and ticket.assignee_id == near.id
    assert ticket.status == st.ASSIGNED
    event = last_event(ticket, "dispatched")
    assert [c["name"] for c in event.data["candidates"]] == names(outcome)
    assert set(event.data["chosen"]["scores"]) == {"load", "distance", "parts", "previous"}
    text = describe(event)
    assert near.name in text and "硬件维修 ✓" in text and "热水器 ✓" in text and "公里" in text
    assert f"覆盖 测试区{world.tag} ✓" in text


@pytest.mark.parametrize("case", ["skill", "region", "inactive", "off_duty", "on_leave", "outside_shift",
                                  "other_team"])
def test_each_hard_constraint_keeps_an_engineer_out(world, case):
    good = world.engineer("合格")
    fields = {
        "skill": dict(skills=("installation", "water_heater")),
        "region": dict(regions=[world.other_district]),
        "inactive": dict(active=False),
        "off_duty": dict(on_duty=False),
        "other_team": dict(team=world.other_team),
    }.get(case, {})
    bad = world.engineer("不合格", at=(39.9001, 116.4001), **fields)  # closer than `good`
    if case == "on_leave":
        world.session.add(EngineerAbsence(engineer=bad, starts_at=NOW - timedelta(days=1),
                                          ends_at=NOW + timedelta(days=2), reason="年假"))
    if case == "outside_shift":  # works Monday to Friday, 09:00–18:00; now is Sunday 10:30
        world.session.add_all([EngineerShift(engineer=bad, weekday=d, starts=time(9), ends=time(18))
                               for d in range(5)])
    world.session.flush()
    outcome = world.dispatch(world.ticket())
    assert names(outcome) == [good.name]


def test_shifts_past_midnight_and_leave_that_ended(world):
    night = world.engineer("夜班")
    # Saturday 22:00 – Sunday 06:00 covers Sunday 05:00 local (Saturday 21:00 UTC).
    world.session.add(EngineerShift(engineer=night, weekday=5, starts=time(22), ends=time(6)))
    world.session.add(EngineerAbsence(engineer=night, starts_at=NOW - timedelta(days=10),
                                      ends_at=NOW - timedelta(days=3), reason="病假"))
    world.session.flush()
    early_sunday = NOW - timedelta(hours=5, minutes=30)
    assert names(world.dispatch(world.ticket(), now=early_sunday)) == [night.name]
    assert world.dispatch(world.ticket(), now=NOW).chosen is None  # Sunday 10:30: shift over


def test_the_district_comes_first_and_the_city_only_when_the_district_has_nobody(world):
    city_wide = world.engineer("全市", regions=[world.city], at=(39.9001, 116.4001))
    local = world.engineer("本区", at=(40.3, 116.9))
    assert world.dispatch(world.ticket()).chosen.name == local.name  # farther, but the district's own
    outcome = world.dispatch(world.ticket(region=world.other_district))
    assert names(outcome) == [city_wide.name]
    assert outcome.candidates[0].region == [world.city.name_zh, world.city.name_en]


def test_remote_work_ignores_region_and_distance(world):
    remote = world.engineer("远程", skills=("software_guidance", "water_heater"), regions=[])
    outcome = world.dispatch(world.ticket(service_type="software_guidance"))
    assert outcome.chosen.name == remote.name and outcome.chosen.distance_km is None


def test_load_is_kept_on_the_engineer_and_weighted_by_priority(world):
    busy = world.engineer("忙", at=(39.9001, 116.4001))
    free = world.engineer("闲", at=(39.95, 116.45))
    for _ in range(2):
        tickets.assign(world.session, world.ticket(priority="urgent"), busy, now=NOW)
    world.session.commit()
    assert (busy.open_count, busy.open_load) == (2, 4.0)  # urgent weighs 2
    outcome = world.dispatch(world.ticket())
    assert outcome.chosen.name == free.name
    assert outcome.candidates[1].scores["load"] == pytest.approx(1 - 4 / 6)

    # Resolving a ticket takes it off the engineer's load at once.
    done = world.session.scalars(select(Ticket).where(Ticket.assignee_id == busy.id)).first()
    for status in (st.ACCEPTED, st.IN_PROGRESS, st.RESOLVED):
        tickets.transition(world.session, done, status, now=NOW)
    world.session.commit()
    assert (busy.open_count, busy.open_load) == (1, 2.0)


def test_full_engineers_get_no_more_unless_the_priority_allows_overflow(world):
    full = world.engineer("满员", capacity=1)
    tickets.assign(world.session, world.ticket(), full, now=NOW)
    world.session.commit()
    outcome = world.dispatch(world.ticket(priority="medium"))
    assert outcome.chosen is None and outcome.pooled_reason["failed"] == "capacity"
    assert "满负荷" in describe(last_event(outcome.ticket, "pooled"))
    assert world.dispatch(world.ticket(priority="urgent")).chosen.name == full.name  # urgent: 2 past capacity
    urgent = world.session.scalar(select(Priority).where(Priority.code == "urgent"))
    urgent.capacity_overflow = 0
    world.session.flush()
    assert world.dispatch(world.ticket(priority="urgent")).chosen is None
    urgent.capacity_overflow = 2
    world.session.commit()


def test_the_part_in_the_engineers_warehouse_counts(world):
    world.engineer("无货", at=(39.9001, 116.4001))
    stocked = world.engineer("有货", at=(39.93, 116.43), warehouse=world.warehouse)
    world.session.add(Stock(warehouse=world.warehouse, part=world.part, on_hand=3, reserved=1))
    ticket = world.ticket()
    world.session.add(TicketPart(ticket=ticket, part=world.part, quantity=2))
    world.session.flush()
    outcome = world.dispatch(ticket)
    assert outcome.chosen.name == stocked.name and outcome.chosen.parts_in_stock == [world.part.sku]
    assert outcome.candidates[1].parts_missing == [world.part.sku]
    assert f"{world.part.sku} 有货（测试仓{world.tag}）" in describe(last_event(ticket, "dispatched"))


def test_whoever_served_the_customer_before_wins_a_tie_and_otherwise_round_robin(world):
    a = world.engineer("甲")
    b = world.engineer("乙")
    first = world.dispatch(world.ticket()).chosen  # a tie: neither was ever given work → lower id
    assert first.name == a.name
    second = world.dispatch(world.ticket()).chosen  # loads differ now: the free one
    assert second.name == b.name
    customer = world.session.get(Ticket, world.session.scalar(
        select(Ticket.id).where(Ticket.assignee_id == b.id))).customer
    again = world.dispatch(world.ticket(customer=customer))
    assert again.chosen.name == b.name and again.chosen.previous  # served them before, despite equal load
    assert "曾服务" in describe(last_event(again.ticket, "dispatched"))


def test_round_robin_between_equals(world):
    a = world.engineer("丙", capacity=100)
    b = world.engineer("丁", capacity=100)
    settings = world.session.get(DispatchSettings, 1)
    saved = settings.weight_load
    settings.weight_load = 0.0  # load no longer separates them: only the tie-break does
    world.session.flush()
    try:
        chosen = [world.dispatch(world.ticket(), now=NOW + timedelta(minutes=i)).chosen.name for i in range(4)]
    finally:
        settings.weight_load = saved
        world.session.commit()
    assert chosen == [a.name, b.name, a.name, b.name]


def test_managers_weights_change_the_choice(world):
    near_busy = world.engineer("近但忙", at=(39.9001, 116.4001))
    far_free = world.engineer("远但闲", at=(40.10, 116.60))
    for _ in range(4):
        tickets.assign(world.session, world.ticket(), near_busy, now=NOW)
    world.session.commit()
    settings = world.session.get(DispatchSettings, 1)
    saved = (settings.weight_load, settings.weight_distance)
    try:
        settings.weight_load, settings.weight_distance = 0.0, 1.0
        world.session.flush()
        assert world.dispatch(world.ticket()).chosen.name == near_busy.name
        settings.weight_load, settings.weight_distance = 1.0, 0.0
        world.session.flush()
        assert world.dispatch(world.ticket()).chosen.name == far_free.name
    finally:
        settings.weight_load, settings.weight_distance = saved
        world.session.commit()


def test_nobody_qualified_goes_to_the_pool_and_a_team_engineer_claims_it(world):
    world.engineer("只会安装", skills=("installation", "water_heater"))
    ticket = world.ticket()
    outcome = world.dispatch(ticket)
    assert outcome.chosen is None and ticket.assignee_id is None and ticket.team_id == world.team.id
    assert outcome.pooled_reason["failed"] == "skill:hardware_repair"
    assert describe(last_event(ticket, "pooled")) == f"放入 测试站{world.tag} 的工单池：没有具备「硬件维修」技能的工程师。"

    member = world.engineer("组员", skills=("installation",))
    outsider = world.engineer("外组", team=world.other_team)
    world.session.commit()
    with pytest.raises(ServiceError):
        assign.claim(world.session, ticket.id, outsider, now=NOW)
    world.session.rollback()
    assign.claim(world.session, ticket.id, member, now=NOW)
    world.session.commit()
    assert ticket.assignee_id == member.id and ticket.status == st.ASSIGNED and member.open_count == 1
    with pytest.raises(ServiceError, match="刚刚"):
        assign.claim(world.session, ticket.id, world.engineer("晚到"), now=NOW)


def test_an_engineer_rejects_with_a_reason_and_it_goes_to_someone_else(world):
    first = world.engineer("先", at=(39.9001, 116.4001))
    second = world.engineer("后", at=(39.95, 116.45))
    ticket = world.ticket()
    world.dispatch(ticket)
    assert ticket.assignee_id == first.id
    with pytest.raises(ServiceError):
        assign.reject(world.session, ticket, first, reason="  ", now=NOW)
    outcome = assign.reject(world.session, ticket, first, reason="今天在外地培训", now=NOW)
    world.session.commit()
    assert outcome.chosen.name == second.name and ticket.assignee_id == second.id
    assert first.open_count == 0
    # Rejected by everyone: the pool, saying so.
    assign.reject(world.session, ticket, second, reason="不会修这个型号", now=NOW)
    world.session.commit()
    assert ticket.assignee_id is None
    assert "都已拒绝" in describe(last_event(ticket, "pooled"))


def test_a_clerk_transfers_to_another_team_with_a_reason(world):
    world.engineer("本组")
    theirs = world.engineer("二组", team=world.other_team)
    ticket = world.ticket()
    world.dispatch(ticket)
    clerk = user(world.session, "clerk")
    with pytest.raises(ServiceError):
        assign.transfer(world.session, ticket, world.other_team, reason="", now=NOW, actor=clerk)
    assign.transfer(world.session, ticket, world.other_team, reason="属于二站的片区", now=NOW, actor=clerk)
    world.session.commit()
    assert ticket.team_id == world.other_team.id and ticket.assignee_id == theirs.id
    assert describe(last_event(ticket, "transferred")) == f"从 测试站{world.tag} 转到 二站{world.tag}"


@pytest.mark.postgres_only
def test_two_engineers_claiming_at_once_one_wins(app, world):
    from sqlalchemy.orm import Session as PlainSession

    from app.extensions import db

    world.engineer("只会安装", skills=("installation",))
    ticket = world.ticket()
    world.dispatch(ticket)
    a, b = world.engineer("抢甲"), world.engineer("抢乙")
    world.session.commit()
    ids, ticket_id = [a.id, b.id], ticket.id
    barrier = threading.Barrier(2)
    results = []

    def grab(engineer_id):
        with app.app_context(), PlainSession(db.engine) as s:
            engineer = s.get(Engineer, engineer_id)
            barrier.wait()
            try:
                assign.claim(s, ticket_id, engineer, now=NOW)
                s.commit()
                results.append(engineer_id)
            except ServiceError:
                s.rollback()

    threads = [threading.Thread(target=grab, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    world.session.expire_all()
    assert len(results) == 1 and world.session.get(Ticket, ticket_id).assignee_id == results[0]


def test_on_site_work_for_a_customer_of_unknown_region_waits_for_the_address(world):
    world.engineer("随时")
    customer = Customer(name="新客户", region=None)
    world.session.add(customer)
    outcome = world.dispatch(world.ticket(customer=customer))
    assert outcome.chosen is None and outcome.pooled_reason["failed"] == "region_unknown"
    assert "地址" in describe(last_event(outcome.ticket, "pooled"))
