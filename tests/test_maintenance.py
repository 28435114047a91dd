"""Preventive maintenance makes its tickets once per device and due date; a device's page shows its service
history with the engineers, the fixes and the parts."""
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.models import (
    Asset, Category, Customer, MaintenancePlan, MaintenanceRun, Product, ProductLine, ServiceType, Ticket,
)
from app.services import field, inventory, maintenance
from app.services import status as st
from tests.helpers import NOW, engineer_of, run_together, user
from tests.test_inventory import new_part

TODAY = date(2026, 11, 22)  # NOW in Shanghai


def plan_world(session, installed_days_ago=200, interval=180, lead=7, devices=1):
    """A product of its own with a filter plan, and devices installed that long ago (a year's warranty)."""
    tag = uuid.uuid4().hex[:8]
    product = Product(model=f"PM-{tag}", name_zh="测试净水器", name_en="Test purifier",
                      product_line=session.scalar(select(ProductLine).limit(1)))
    customer = Customer(name="保养客户", phone=f"139{int(tag, 16) % 10**8:08d}")
    session.add_all([product, customer])
    assets = [Asset(serial_number=f"SN-{tag}-{i}", product=product, customer=customer,
                    install_date=TODAY - timedelta(days=installed_days_ago),
                    warranty_end=TODAY - timedelta(days=installed_days_ago) + timedelta(days=365))
              for i in range(devices)]
    session.add_all(assets)
    plan = MaintenancePlan(code=f"filter-{tag}", name_zh="更换滤芯", name_en="Replace the filter", product=product,
                           interval_days=interval, lead_days=lead,
                           category=session.scalar(select(Category).where(Category.code == "fault")),
                           service_type=session.scalar(select(ServiceType).where(ServiceType.code == "installation")))
    session.add(plan)
    session.commit()
    return plan, assets


def plan_tickets(session, plan) -> list[Ticket]:
    return list(session.scalars(select(Ticket).join(MaintenanceRun, MaintenanceRun.ticket_id == Ticket.id)
                                .where(MaintenanceRun.plan_id == plan.id).order_by(Ticket.id)))


@pytest.mark.parametrize("start, horizon, expected", [
    (date(2026, 1, 1), date(2026, 6, 29), None),                 # not yet: the first is due 6-30
    (date(2026, 1, 1), date(2026, 6, 30), date(2026, 6, 30)),    # the first due date
    (date(2026, 1, 1), date(2027, 3, 1), date(2026, 12, 27)),    # behind: only the latest due date
    (None, date(2026, 6, 30), None),                             # no installation date, no plan
])
def test_the_due_date_to_make_a_ticket_for(start, horizon, expected):
    assert maintenance.due_date(start, 180, horizon) == expected


def test_a_due_device_gets_one_ticket_per_due_date(app, session):
    plan, [asset] = plan_world(session, installed_days_ago=175)  # due in 5 days, made 7 days ahead
    maintenance.run_due(session, now=NOW)
    maintenance.run_due(session, now=NOW)  # the next run, or a second scheduler: nothing new for this device
    [ticket] = plan_tickets(session, plan)
    assert (ticket.channel, ticket.asset_id, ticket.customer_id) == ("plan", asset.id, asset.customer_id)
    assert ticket.warranty_status == "in"  # the parts of a maintenance visit are free while the device is covered
    assert ticket.subject == f"定期保养：更换滤芯（{(TODAY + timedelta(days=5)).isoformat()} 到期）"
    with app.test_request_context("/?_l_=en"):
        assert "Scheduled maintenance due" in [e for e in ticket.events if e.kind == "maintenance_due"][0].description
    # Half a year on: the next due date, once.
    later = NOW + timedelta(days=180)
    maintenance.run_due(session, now=later)
    maintenance.run_due(session, now=later)
    dues = session.scalars(select(MaintenanceRun.due_date).where(MaintenanceRun.plan_id == plan.id)
                           .order_by(MaintenanceRun.due_date)).all()
    assert dues == [TODAY + timedelta(days=5), TODAY + timedelta(days=185)]


def test_nothing_for_devices_not_yet_due_or_inactive_plans(session):
    plan, _ = plan_world(session, installed_days_ago=30)
    maintenance.run_due(session, now=NOW)
    assert plan_tickets(session, plan) == []
    idle, _ = plan_world(session, installed_days_ago=400)
    idle.active = False
    session.commit()
    maintenance.run_due(session, now=NOW)
    assert plan_tickets(session, idle) == []


@pytest.mark.postgres_only
def test_two_schedulers_make_each_ticket_once(app, session):
    plan, assets = plan_world(session, installed_days_ago=181, devices=12)
    _results, errors = run_together(app, *[lambda s: maintenance.run_due(s, now=NOW)] * 2)
    assert errors == []
    per_asset = dict(session.execute(select(MaintenanceRun.asset_id, func.count()).where(
        MaintenanceRun.plan_id == plan.id).group_by(MaintenanceRun.asset_id)).all())
    assert per_asset == {a.id: 1 for a in assets}
    assert len(plan_tickets(session, plan)) == len(assets)


def test_the_device_page_shows_its_service_history(session, login_as):
    _plan, [asset] = plan_world(session, installed_days_ago=10)
    part = new_part(session, price="60.00", WH_BJ=2)
    from tests.portal_world import customer_ticket

    ticket = customer_ticket(session, "13955550001", asset=asset, customer=asset.customer)
    me, actor = engineer_of(session), user(session, "engineer")
    field.accept(session, ticket, me, now=NOW, actor=actor)
    field.check_in(session, ticket, me, now=NOW, actor=actor)
    inventory.need_and_reserve(session, ticket, part, 1, now=NOW, actor=actor)
    from app.models import ResolutionCode

    field.resolve(session, ticket, me, now=NOW, actor=actor, note="更换滤芯",
                  code_id=session.scalar(select(ResolutionCode.id).where(ResolutionCode.code == "part_replaced")))
    session.commit()
    assert ticket.status == st.RESOLVED
    html = login_as("manager").get(f"/assetview/show/{asset.id}").get_data(as_text=True)
    row = html[html.index(f'data-ticket="{ticket.number}"'):]
    row = row[:row.index("</tr>")]
    assert me.name in row and "更换配件" in row and f"{part.sku} 测试加热管 × 1" in row and "免费（保修）" in row
