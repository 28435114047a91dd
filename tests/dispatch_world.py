"""A small world of its own for dispatch tests: a province/city/district chain nobody else covers, two
teams, a warehouse and a part, so the demo's engineers never take part."""
import uuid

from sqlalchemy import select

from app.models import (
    Customer, Engineer, Priority, Product, ServiceRegion, ServiceType, Skill, SparePart, Team, Warehouse,
)
from app.services import assign, tickets
from tests.helpers import NOW

# 2026-11-22 02:30 UTC is Sunday 10:30 in Shanghai.
CENTRE = (39.90, 116.40)


class World:
    def __init__(self, session):
        self.session = session
        tag = uuid.uuid4().hex[:6]
        self.tag = tag
        self.province = ServiceRegion(code=f"P{tag}", name_zh=f"测试省{tag}", name_en=f"Province {tag}",
                                      level="province")
        self.city = ServiceRegion(code=f"C{tag}", name_zh=f"测试市{tag}", name_en=f"City {tag}", level="city",
                                  parent=self.province)
        self.district = ServiceRegion(code=f"D{tag}", name_zh=f"测试区{tag}", name_en=f"District {tag}",
                                      level="district", parent=self.city)
        self.other_district = ServiceRegion(code=f"E{tag}", name_zh=f"邻区{tag}", name_en=f"Next {tag}",
                                            level="district", parent=self.city)
        self.team = Team(code=f"team_{tag}", name_zh=f"测试站{tag}", name_en=f"Station {tag}")
        self.other_team = Team(code=f"other_{tag}", name_zh=f"二站{tag}", name_en=f"Second {tag}")
        self.warehouse = Warehouse(code=f"W{tag}", name_zh=f"测试仓{tag}", name_en=f"Store {tag}")
        self.part = SparePart(sku=f"FX-{tag}", name_zh="滤芯", name_en="Filter")
        session.add_all([self.province, self.city, self.district, self.other_district, self.team, self.other_team,
                         self.warehouse, self.part])
        session.flush()

    def skill(self, code):
        return self.session.scalar(select(Skill).where(Skill.code == code))

    def engineer(self, name, *, skills=("hardware_repair", "water_heater"), regions=None, team=None,
                 at=CENTRE, capacity=6, **fields):
        e = Engineer(name=f"{name}{self.tag}", team=team or self.team, capacity=capacity,
                     skills=[self.skill(s) for s in skills],
                     regions=[self.district] if regions is None else regions,
                     base_latitude=at[0], base_longitude=at[1], **fields)
        self.session.add(e)
        self.session.flush()
        return e

    def ticket(self, *, priority="medium", service_type="hardware_repair", model="JSQ30-16A", region=None,
               at=CENTRE, team=True, customer=None, now=NOW, **fields):
        s = self.session
        if customer is None:
            customer = Customer(name=f"客户{uuid.uuid4().hex[:4]}", region=region or self.district,
                                latitude=at[0], longitude=at[1])
            s.add(customer)
        ticket, _ = tickets.create_ticket(
            s, channel="phone", subject="热水器不出热水", now=now, customer=customer,
            priority=s.scalar(select(Priority).where(Priority.code == priority)),
            service_type=s.scalar(select(ServiceType).where(ServiceType.code == service_type)),
            product=s.scalar(select(Product).where(Product.model == model)),
            team=self.team if team is True else team, **fields)
        return ticket

    def dispatch(self, ticket, **kw):
        outcome = assign.dispatch(self.session, ticket, now=kw.pop("now", NOW), **kw)
        self.session.commit()
        return outcome
