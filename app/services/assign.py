"""Dispatch: the best engineer for a ticket by one explained score, or the team's pool with the reason.

Hard constraints, all in one SQL query over the engineers: active and on duty (not absent now; inside one
of their shifts, if they have shifts), in the ticket's team when it has one, the skills for the ticket's
service type and product line, room under their capacity (urgent work may pass it by the priority's
allowance), and — for on-site work — covering the customer's district, else its city, else its province.

Soft score, each part 0…1, weighted by the manager (配置 → 派单设置): load (open tickets weighted by
priority, against capacity, read from the engineer's row — never counted), distance from the engineer's
fresh last position or base (haversine), the parts the ticket needs in stock at the engineer's warehouse,
and having served this device or customer before. Ties go to whoever was given work longest ago.
"""
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, Time, and_, bindparam, case, func, literal, or_, select, update
from sqlalchemy.orm import Session, joinedload

from app.models import (
    Engineer, EngineerAbsence, EngineerShift, ServiceRegion, Skill, Stock, Team, Ticket,
    TicketEvent, TicketPart,
)
from app.models.staff import engineer_region, engineer_skill
from app.services import load, rules
from app.services import status as st
from app.services import tickets as ticket_service
from app.services import timeline
from app.services import parts as parts_service
from app.services.errors import ServiceError
from app.services.rules import DispatchWeights
from app.timeutil import as_utc, to_local

LEVEL_DEPTH = {"district": 3, "city": 2, "province": 1}
COMPONENTS = ("load", "distance", "parts", "previous")


@dataclass
class Candidate:
    engineer_id: int
    name: str
    team: list | None  # [zh, en]
    region: list | None = None  # [zh, en] of the customer's region (or parent) this engineer covers
    distance_km: float | None = None
    located_by: str | None = None  # "last" | "base"
    open_count: int = 0
    open_load: float = 0.0
    capacity: int = 0
    parts_in_stock: list[str] = field(default_factory=list)
    parts_missing: list[str] = field(default_factory=list)
    warehouse: list | None = None  # [zh, en]
    previous: bool = False
    last_assigned_at: datetime | None = None
    scores: dict = field(default_factory=dict)
    total: float = 0.0

    def as_data(self) -> dict:
        return {"engineer_id": self.engineer_id, "name": self.name, "team": self.team, "region": self.region,
                "distance_km": None if self.distance_km is None else round(self.distance_km, 1),
                "located_by": self.located_by, "open_count": self.open_count,
                "open_load": round(self.open_load, 2), "capacity": self.capacity,
                "parts_in_stock": self.parts_in_stock, "parts_missing": self.parts_missing,
                "warehouse": self.warehouse, "previous": self.previous,
                "scores": {k: round(v, 3) for k, v in self.scores.items()}, "total": round(self.total, 3)}


@dataclass
class Outcome:
    ticket: Ticket
    chosen: Candidate | None
    candidates: list[Candidate]
    requirements: dict
    pooled_reason: dict | None = None


def settings(session: Session) -> DispatchWeights:
    """The manager's weights, from the compiled configuration (no query per decision)."""
    return rules.current(session).dispatch


def bilingual(obj) -> list | None:
    """[zh, en] of a named thing, stored in decisions so the timeline reads in either language later."""
    return [obj.name_zh, obj.name_en] if obj is not None else None


def haversine_km(lat1, lon1, lat2, lon2) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (lat1, lon1, lat2, lon2))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


# --- what the ticket needs ---------------------------------------------------------------------

@lru_cache(maxsize=1)
def _facts_select():
    """Everything dispatch needs to know about a ticket, in one row per ticket (built once: see
    _eligible_statement)."""
    from app.models import Asset, Customer, Priority, Product, ProductLine, ServiceType

    t, a, c = Ticket.__table__, Asset.__table__, Customer.__table__
    p, pl, stype, pr = Product.__table__, ProductLine.__table__, ServiceType.__table__, Priority.__table__
    r, rp, rg = (ServiceRegion.__table__.alias(name) for name in ("r", "rp", "rg"))
    region_columns = [col for table in (r, rp, rg) for col in (table.c.id, table.c.level, table.c.name_zh,
                                                               table.c.name_en)]
    earlier = Ticket.__table__.alias("earlier")

    def last_engineer(column):  # who last worked on the same device / for the same customer
        return (select(earlier.c.assignee_id)
                .where(earlier.c[column] == t.c[column], earlier.c.assignee_id.isnot(None), earlier.c.id != t.c.id)
                .order_by(earlier.c.created_at.desc()).limit(1).scalar_subquery())

    events, needed = TicketEvent.__table__, TicketPart.__table__
    rejected = select(func.count()).where(events.c.ticket_id == t.c.id, events.c.kind == "rejected")
    parts = select(func.count()).where(needed.c.ticket_id == t.c.id, needed.c.state.in_(parts_service.OPEN_STATES))
    return (select(t.c.id, t.c.team_id, stype.c.code, stype.c.name_zh, stype.c.name_en, stype.c.on_site, pl.c.code,
                   pl.c.name_zh, pl.c.name_en, pr.c.capacity_overflow, a.c.latitude, a.c.longitude, c.c.latitude,
                   c.c.longitude, last_engineer("asset_id"), last_engineer("customer_id"),
                   rejected.scalar_subquery(), parts.scalar_subquery(), *region_columns)
            .select_from(t.outerjoin(a, a.c.id == t.c.asset_id)
                         .outerjoin(p, p.c.id == func.coalesce(t.c.product_id, a.c.product_id))
                         .outerjoin(pl, pl.c.id == p.c.product_line_id)
                         .outerjoin(stype, stype.c.id == t.c.service_type_id)
                         .outerjoin(pr, pr.c.id == t.c.priority_id)
                         .outerjoin(c, c.c.id == t.c.customer_id)
                         .outerjoin(r, r.c.id == c.c.region_id)
                         .outerjoin(rp, rp.c.id == r.c.parent_id)
                         .outerjoin(rg, rg.c.id == rp.c.parent_id)))


@lru_cache(maxsize=1)
def _facts_statement():
    return _facts_select().where(Ticket.__table__.c.id == bindparam("ticket_id"))


def requirements(session: Session, ticket: Ticket) -> dict:
    """The facts the constraints are checked against, kept on the timeline with the decision."""
    return _requirements(session.execute(_facts_statement(), {"ticket_id": ticket.id}).one())


def requirements_of(session: Session, ticket_ids: list[int], *, chunk: int = 1000) -> dict[int, dict]:
    """requirements() of many tickets, a query per `chunk` of them (the dispatch simulator)."""
    needs = {}
    for i in range(0, len(ticket_ids), chunk):
        rows = session.execute(_facts_select().where(Ticket.__table__.c.id.in_(ticket_ids[i:i + chunk])))
        needs.update((row[0], _requirements(row)) for row in rows)
    return needs


def _requirements(row) -> dict:
    (_ticket_id, team_id, st_code, st_zh, st_en, on_site, line_code, line_zh, line_en, overflow, asset_lat,
     asset_lon, customer_lat, customer_lon, by_asset, by_customer, rejections, parts_needed, *regions) = row
    # district → city → province, as far as the customer's region goes
    chain = [regions[i:i + 4] for i in range(0, 12, 4) if regions[i] is not None]
    lat, lon = (asset_lat, asset_lon) if asset_lat is not None else (customer_lat, customer_lon)
    names = {"service_type": [st_zh, st_en] if st_code else None, "product_line": [line_zh, line_en] if line_code
             else None, "region": [chain[0][2], chain[0][3]] if chain else None}
    return {
        "names": {k: v for k, v in names.items() if v},
        "service_type": st_code,
        "product_line": line_code,
        "on_site": True if on_site is None else bool(on_site),
        "region_ids": [rid for rid, _, _, _ in chain],
        # Deeper is closer to the customer: district 3, city 2, province 1.
        "region_depth": {rid: LEVEL_DEPTH.get(level, 0) for rid, level, _, _ in chain},
        "region_labels": {rid: [zh, en] for rid, _, zh, en in chain},
        "team_id": team_id,
        "priority_overflow": overflow or 0,
        "latitude": lat, "longitude": lon,
        "previous_engineer": by_asset or by_customer,
        "has_rejections": bool(rejections), "has_parts": bool(parts_needed),
    }


# Each constraint is "the engineer's id is (not) in a set" that the database computes once per query —
# not a subquery run for each of thousands of engineers.

def _has_skill(param: str):
    return Engineer.id.in_(select(engineer_skill.c.engineer_id).join(Skill, Skill.id == engineer_skill.c.skill_id)
                           .where(Skill.code == bindparam(param)))


def _covers_region():
    return Engineer.id.in_(select(engineer_region.c.engineer_id)
                           .where(engineer_region.c.region_id.in_(bindparam("region_ids", expanding=True))))


def _on_duty():
    """On duty at :now (UTC) — local :weekday, :yesterday and :clock come as parameters: the 在岗 switch on,
    not absent, and — for those who have shifts — inside one of them."""
    weekday, yesterday, clock = bindparam("weekday"), bindparam("yesterday"), bindparam("clock", type_=Time)
    in_shift_now = select(EngineerShift.engineer_id).where(or_(
        and_(EngineerShift.weekday == weekday, EngineerShift.starts <= EngineerShift.ends,
             EngineerShift.starts <= clock, EngineerShift.ends > clock),
        and_(EngineerShift.weekday == weekday, EngineerShift.starts > EngineerShift.ends,
             EngineerShift.starts <= clock),
        and_(EngineerShift.weekday == yesterday, EngineerShift.starts > EngineerShift.ends,
             EngineerShift.ends > clock),
    ))
    off_shift = select(EngineerShift.engineer_id).where(EngineerShift.engineer_id.notin_(in_shift_now))
    now = bindparam("now", type_=DateTime)
    absent = select(EngineerAbsence.engineer_id).where(EngineerAbsence.starts_at <= now,
                                                       EngineerAbsence.ends_at > now)
    return and_(Engineer.on_duty.is_(True), Engineer.id.notin_(absent), Engineer.id.notin_(off_shift))


def _duty_params(now: datetime) -> dict:
    local = to_local(now, current_app.config["TIMEZONE"])
    return {"now": now, "weekday": local.weekday(), "yesterday": (local.weekday() - 1) % 7,
            "clock": local.time().replace(microsecond=0)}


def _room():
    return Engineer.open_count < Engineer.capacity + bindparam("overflow")


@lru_cache(maxsize=64)
def _eligible_statement(team: bool, service_type: bool, product_line: bool, exclude: bool, on_site: bool):
    """The hard constraints as one statement per shape of ticket, built once: building a statement of this
    size costs more than running it."""
    conditions = [Engineer.active.is_(True), _on_duty(), _room()]
    if team:
        conditions.append(Engineer.team_id == bindparam("team_id"))
    if service_type:
        conditions.append(_has_skill("service_type"))
    if product_line:
        conditions.append(_has_skill("product_line"))
    if exclude:
        conditions.append(Engineer.id.notin_(bindparam("exclude", expanding=True)))
    shown = (joinedload(Engineer.team), joinedload(Engineer.warehouse))  # named in the explanation
    if on_site:  # one row per covered region of the customer's chain
        return (select(Engineer, engineer_region.c.region_id).options(*shown)
                .join(engineer_region, engineer_region.c.engineer_id == Engineer.id)
                .where(engineer_region.c.region_id.in_(bindparam("region_ids", expanding=True)), *conditions))
    return select(Engineer, literal(None)).options(*shown).where(*conditions)


def excluded(session: Session, ticket: Ticket) -> set[int]:
    """Engineers who rejected this ticket or let it wait unaccepted: a re-dispatch never offers it to them again."""
    if ticket.id is None:
        return set()
    rows = session.scalars(select(TicketEvent.data).where(TicketEvent.ticket_id == ticket.id,
                                                          TicketEvent.kind.in_(("rejected", "accept_timeout"))))
    return {d.get("engineer_id") for d in rows if d and d.get("engineer_id")}


def eligible(session: Session, need: dict, *, now: datetime, exclude: set[int]):
    """(engineer, covered region id) for every engineer passing the hard constraints."""
    statement = _eligible_statement(bool(need["team_id"]), bool(need["service_type"]), bool(need["product_line"]),
                                    bool(exclude), need["on_site"])
    params = {**_duty_params(now), "overflow": max(need["priority_overflow"], 0), "team_id": need["team_id"],
              "service_type": need["service_type"], "product_line": need["product_line"],
              "exclude": sorted(exclude), "region_ids": need["region_ids"]}
    return session.execute(statement, params).all()  # parameters a shape does not use are ignored


def narrowed(rows, need: dict, exclude: set[int]) -> list:
    """Rows of eligible() asked without a team, with the largest overflow and nobody excluded, narrowed to
    `need`: _eligible_statement's team, room and exclusion conditions, in Python. The dispatch simulator asks
    once per kind of work and place instead of once more per team and priority."""
    overflow = max(need["priority_overflow"], 0)
    return [(e, region_id) for e, region_id in rows
            if (not need["team_id"] or e.team_id == need["team_id"]) and e.open_count < e.capacity + overflow
            and e.id not in exclude]


@lru_cache(maxsize=64)
def _why_nobody_statement(team: bool, service_type: bool, product_line: bool, on_site: bool, exclude: bool):
    """How many engineers pass each constraint and all before it, in one pass (built once per shape)."""
    steps = []
    if service_type:
        steps.append(("skill:service_type", _has_skill("service_type")))
    if product_line:
        steps.append(("skill:product_line", _has_skill("product_line")))
    if on_site:
        steps.append(("region", _covers_region()))
    steps.append(("on_duty", _on_duty()))
    if exclude:
        steps.append(("not_rejected", Engineer.id.notin_(bindparam("exclude", expanding=True))))
    steps.append(("capacity", _room()))
    columns, passed = [func.count(Engineer.id)], []
    for _name, condition in steps:
        passed.append(condition)
        columns.append(func.coalesce(func.sum(case((and_(*passed), 1), else_=0)), 0))
    query = select(*columns).where(Engineer.active.is_(True))
    if team:
        query = query.where(Engineer.team_id == bindparam("team_id"))
    return query, ["active"] + [name for name, _ in steps]


def _why_nobody(session: Session, need: dict, *, now: datetime, exclude: set[int]) -> dict:
    """Which constraint left no one, for the pool's explanation (asked only when nobody qualified)."""
    query, names = _why_nobody_statement(bool(need["team_id"]), bool(need["service_type"]),
                                         bool(need["product_line"]), need["on_site"], bool(exclude))
    names = [f"skill:{need[n[6:]]}" if n.startswith("skill:") else n for n in names]
    params = {**_duty_params(now), "overflow": max(need["priority_overflow"], 0), "team_id": need["team_id"],
              "service_type": need["service_type"], "product_line": need["product_line"],
              "region_ids": need["region_ids"], "exclude": sorted(exclude)}
    counts = dict(zip(names, session.execute(query, params).one()))
    failed = next((name for name, count in counts.items() if count == 0), "capacity")
    return {"failed": failed, "counts": counts}


# --- scoring -----------------------------------------------------------------------------------

def _position(engineer: Engineer, now: datetime, fresh_hours: int):
    if (engineer.last_latitude is not None and engineer.last_located_at is not None
            and now - engineer.last_located_at <= timedelta(hours=fresh_hours)):
        return engineer.last_latitude, engineer.last_longitude, "last"
    if engineer.base_latitude is not None:
        return engineer.base_latitude, engineer.base_longitude, "base"
    return None, None, None


def _stock(session: Session, ticket: Ticket, need: dict, warehouse_ids: set[int]) -> tuple[list, dict]:
    """The ticket's needed parts, and {(warehouse, part): available} in the candidates' warehouses."""
    needed = [p for p in ticket.parts if p.state in parts_service.OPEN_STATES] if need["has_parts"] else []
    if not needed or not warehouse_ids:
        return needed, {}
    rows = session.execute(select(Stock.warehouse_id, Stock.part_id, Stock.on_hand - Stock.reserved).where(
        Stock.warehouse_id.in_(sorted(warehouse_ids)), Stock.part_id.in_([p.part_id for p in needed]))).all()
    return needed, {(w, p): available for w, p, available in rows}


def score(session: Session, ticket: Ticket | None, rows, need: dict, *, now: datetime,
          weights: DispatchWeights | None = None) -> list[Candidate]:
    """The candidates, best first. `weights` other than those in force: the dispatch simulator's draft. The
    ticket is read only for the parts it needs (None will do when need["has_parts"] is false)."""
    config = weights if weights is not None else settings(session)
    candidates, needs_parts = assess(session, ticket, rows, need, now=now, config=config)
    return rank(candidates, config, need, needs_parts=needs_parts)


def assess(session: Session, ticket: Ticket | None, rows, need: dict, *, now: datetime,
           config: DispatchWeights) -> tuple[list[Candidate], bool]:
    """Each candidate with the parts of its score, 0…1 (distance by config's half distance and position
    freshness); and whether the ticket needs parts."""
    by_engineer: dict[int, tuple[Engineer, int]] = {}
    if need["on_site"]:
        depth = need["region_depth"]
        deepest = max((depth.get(region_id, 0) for _, region_id in rows), default=0)
        # Parent-region fallback: engineers of the district first; the city's only when the district has none.
        rows = [(e, rid) for e, rid in rows if depth.get(rid, 0) == deepest]
    for engineer, region_id in rows:
        by_engineer.setdefault(engineer.id, (engineer, region_id))
    engineers = [e for e, _ in by_engineer.values()]
    needed, stock = _stock(session, ticket, need, {e.warehouse_id for e in engineers if e.warehouse_id})
    previous = need["previous_engineer"]
    candidates = []
    for engineer, region_id in by_engineer.values():
        c = Candidate(engineer_id=engineer.id, name=engineer.name, team=bilingual(engineer.team),
                      region=need["region_labels"].get(region_id),
                      open_count=engineer.open_count, open_load=engineer.open_load, capacity=engineer.capacity,
                      warehouse=bilingual(engineer.warehouse),
                      previous=engineer.id == previous, last_assigned_at=engineer.last_assigned_at)
        c.scores["load"] = max(0.0, 1.0 - engineer.open_load / max(engineer.capacity, 1))
        lat, lon, c.located_by = _position(engineer, now, config.location_fresh_hours)
        if need["on_site"] and lat is not None and need["latitude"] is not None:
            c.distance_km = haversine_km(lat, lon, need["latitude"], need["longitude"])
            c.scores["distance"] = config.distance_half_km / (config.distance_half_km + c.distance_km)
        else:
            c.scores["distance"] = 0.5  # unknown: neither for nor against
        for item in needed:
            available = stock.get((engineer.warehouse_id, item.part_id), 0)
            (c.parts_in_stock if available >= item.quantity else c.parts_missing).append(item.part.sku)
        c.scores["parts"] = len(c.parts_in_stock) / len(needed) if needed else 1.0
        c.scores["previous"] = 1.0 if c.previous else 0.0
        candidates.append(c)
    return candidates, bool(needed)


def rank(candidates: list[Candidate], config: DispatchWeights, need: dict, *, needs_parts: bool) -> list[Candidate]:
    """Totals by the manager's weights, best first (in place)."""
    weights = {"load": config.weight_load, "distance": config.weight_distance if need["on_site"] else 0.0,
               "parts": config.weight_parts if needs_parts else 0.0, "previous": config.weight_previous}
    weight_sum = sum(w for w in weights.values() if w > 0) or 1.0
    for c in candidates:
        c.total = sum(weights[k] * c.scores[k] for k in COMPONENTS if weights[k] > 0) / weight_sum
    # Best score first; ties go to whoever was given work longest ago (never = first), then by id.
    candidates.sort(key=lambda c: (-round(c.total, 9), c.last_assigned_at or datetime.min, c.engineer_id))
    return candidates


# --- deciding ----------------------------------------------------------------------------------

def decide(session: Session, ticket: Ticket, *, now: datetime, exclude: set[int] | None = None) -> Outcome:
    now = as_utc(now)
    session.flush()  # a ticket just made holds ids only: its service type, product… load once it is stored
    need = requirements(session, ticket)
    exclude = (exclude or set()) | (excluded(session, ticket) if need["has_rejections"] else set())
    if need["on_site"] and not need["region_ids"]:
        # Work at the customer's place needs to know where that is: a clerk completes the address first.
        return Outcome(ticket, None, [], need, pooled_reason={"failed": "region_unknown", "counts": {}})
    rows = eligible(session, need, now=now, exclude=exclude)
    candidates = score(session, ticket, rows, need, now=now) if rows else []
    outcome = Outcome(ticket, candidates[0] if candidates else None, candidates, need)
    if not candidates:
        outcome.pooled_reason = _why_nobody(session, need, now=now, exclude=exclude)
    return outcome


def _pool_team(session: Session, need: dict) -> Team | None:
    """The team whose engineers cover the customer's region (the most of them), when the ticket has none."""
    if need["team_id"]:
        return session.get(Team, need["team_id"])
    if not need["region_ids"]:
        return None
    team_id = session.scalar(
        select(Engineer.team_id).join(engineer_region, engineer_region.c.engineer_id == Engineer.id)
        .where(engineer_region.c.region_id.in_(need["region_ids"]), Engineer.team_id.isnot(None),
               Engineer.active.is_(True))
        .group_by(Engineer.team_id).order_by(func.count().desc(), Engineer.team_id).limit(1))
    return session.get(Team, team_id) if team_id else None


def _data(outcome: Outcome, shown: int) -> dict:
    need = {k: v for k, v in outcome.requirements.items()
            if k not in ("region_ids", "region_depth", "region_labels", "latitude", "longitude", "has_rejections",
                         "has_parts", "previous_engineer")}
    return {"requirements": need, "candidates": [c.as_data() for c in outcome.candidates[:max(shown, 1)]],
            "candidate_count": len(outcome.candidates),
            "chosen": outcome.chosen.as_data() if outcome.chosen else None, "pooled": outcome.pooled_reason}


def dispatch(session: Session, ticket: Ticket, *, now: datetime, actor=None, exclude: set[int] | None = None,
             reason: str | None = None) -> Outcome:
    """Decide and carry it out: assign the best engineer, or put the ticket in its team's pool.
    The decision and its top candidates go on the timeline. The caller commits."""
    now = as_utc(now)
    outcome = decide(session, ticket, now=now, exclude=exclude)
    config = settings(session)
    if outcome.chosen is not None:
        engineer = session.get(Engineer, outcome.chosen.engineer_id)
        timeline.record(session, ticket, "dispatched", actor=actor, now=now, reason=reason,
                        data=_data(outcome, config.candidates_shown))
        ticket_service.assign(session, ticket, engineer, now=now, actor=actor)
    else:
        team = _pool_team(session, outcome.requirements)
        if ticket.assignee is not None:
            ticket_service.assign(session, ticket, None, now=now, actor=actor)
        ticket.team = team
        ticket.updated_at = now
        data = _data(outcome, config.candidates_shown)
        data["team"] = bilingual(team)
        timeline.record(session, ticket, "pooled", actor=actor, now=now, reason=reason, data=data)
    return outcome


def auto_dispatch(session: Session, ticket: Ticket, *, now: datetime) -> Outcome | None:
    """What intake calls for a new ticket: nothing while it waits for review or when switched off."""
    if ticket.needs_review or ticket.assignee_id is not None or ticket.status not in st.OPEN_STATUSES:
        return None
    if not settings(session).auto_dispatch:
        return None
    return dispatch(session, ticket, now=now)


# --- people acting on it -----------------------------------------------------------------------

def claim(session: Session, ticket_id: int, engineer: Engineer, *, now: datetime) -> Ticket:
    """An engineer takes a ticket from their team's pool. Of two claiming at once, one wins: the update
    only matches while the ticket is still open and has nobody."""
    now = as_utc(now)
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.status not in st.OPEN_STATUSES:
        raise ServiceError(_l("That ticket is no longer open."), field="ticket")
    if ticket.team_id is not None and engineer.team_id != ticket.team_id:
        raise ServiceError(_l("Only engineers of %(team)s can claim this ticket.", team=ticket.team.name),
                           field="ticket")
    won = session.execute(
        update(Ticket).where(Ticket.id == ticket_id, Ticket.assignee_id.is_(None),
                             Ticket.status.in_(sorted(st.OPEN_STATUSES)))
        .values(assignee_id=engineer.id, team_id=engineer.team_id or Ticket.team_id, version=Ticket.version + 1,
                updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if not won:
        session.rollback()
        raise ServiceError(_l("Someone else has just taken ticket %(number)s.", number=ticket.number),
                           field="ticket")
    session.expire(ticket)  # everything, the engineer relationship included, is read again
    timeline.record(session, ticket, "claimed", actor=engineer.user, now=now,
                    data={"engineer": engineer.name, "engineer_id": engineer.id})
    if ticket.status in (st.NEW, st.REOPENED):
        ticket_service.transition(session, ticket, st.ASSIGNED, now=now, actor=engineer.user)
    engineer.last_assigned_at = now
    load.recount(session, {engineer.id})  # the UPDATE above bypassed the flush that recounts
    return ticket


def reassign(session: Session, ticket: Ticket, engineer: Engineer | None, *, reason: str | None, now: datetime,
             actor=None, expected_version=None) -> None:
    """A clerk or manager puts someone else on the ticket (or nobody: back to the pool). Taking it from
    an engineer needs a reason — they, and later their manager, will ask why."""
    reason = (reason or "").strip()
    if ticket.assignee_id is not None and engineer is not ticket.assignee and not reason:
        raise ServiceError(_l("Say why the ticket is taken from %(name)s.", name=ticket.assignee.name),
                           field="reason")
    ticket_service.assign(session, ticket, engineer, now=now, actor=actor, reason=reason or None,
                          expected_version=expected_version)


def reject(session: Session, ticket: Ticket, engineer: Engineer, *, reason: str, now: datetime) -> Outcome:
    """The assigned engineer declines, saying why; the ticket is dispatched again without them."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_l("Say why you reject the ticket."), field="reason")
    if ticket.assignee_id != engineer.id:
        raise ServiceError(_l("Only the assigned engineer can reject the ticket."), field="ticket")
    if ticket.status not in (st.ASSIGNED, st.ACCEPTED):
        raise ServiceError(_l("A ticket that is %(status)s cannot be rejected.", status=st.label(ticket.status)),
                           field="ticket")
    now = as_utc(now)
    timeline.record(session, ticket, "rejected", actor=engineer.user, now=now, reason=reason,
                    data={"engineer": engineer.name, "engineer_id": engineer.id})
    ticket_service.assign(session, ticket, None, now=now, actor=engineer.user)
    session.flush()
    return dispatch(session, ticket, now=now, exclude={engineer.id})


def withdraw_unaccepted(session: Session, ticket: Ticket, engineer: Engineer, *, minutes: int,
                        now: datetime) -> Outcome | None:
    """The engineer did not accept in time: the ticket goes to someone else (the scheduler's chase)."""
    if ticket.assignee_id != engineer.id or ticket.status != st.ASSIGNED:
        return None  # accepted or moved on meanwhile
    now = as_utc(now)
    timeline.record(session, ticket, "accept_timeout", now=now,
                    data={"engineer": engineer.name, "engineer_id": engineer.id, "minutes": minutes})
    ticket_service.assign(session, ticket, None, now=now)
    session.flush()
    return dispatch(session, ticket, now=now, exclude={engineer.id})


def transfer(session: Session, ticket: Ticket, team: Team, *, reason: str, now: datetime, actor=None) -> Outcome:
    """跨部门流转: hand the ticket to another team (with the reason) and dispatch it there."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_l("Say why the ticket goes to another team."), field="reason")
    if ticket.status not in st.OPEN_STATUSES:
        raise ServiceError(_l("A ticket that is %(status)s cannot be transferred.",
                              status=st.label(ticket.status)), field="team")
    if team is None or team.id == ticket.team_id:
        raise ServiceError(_l("Choose another team."), field="team")
    now = as_utc(now)
    timeline.record(session, ticket, "transferred", actor=actor, now=now, reason=reason,
                    data={"from": bilingual(ticket.team), "to": bilingual(team), "team_id": team.id})
    if ticket.assignee is not None:
        ticket_service.assign(session, ticket, None, now=now, actor=actor)
    ticket.team = team
    session.flush()
    return dispatch(session, ticket, now=now, actor=actor)
