"""Demo data: a small, realistic service operation, and a fast bulk generator for volume tests."""
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import JSON, func, insert, select, text
from sqlalchemy.orm import Session

from app.models import (
    Asset, Category, Customer, CustomerContact, Engineer, KbArticle, MaintenancePlan, Priority, Product, ProductLine,
    ServiceRegion, ServiceType, Skill, SparePart, Stock, StockMove, Team, Ticket, TicketEvent, TicketSearch, Warehouse,
)
from app.services import demo_data as D
from app.services import kb, load, numbering, satisfaction, settings, similar, sla, tickets
from app.services import text as tx
from app.services import status as st
from app.services.bootstrap import ensure_reference_data
from app.services.roles import CLERK, ENGINEER, MANAGER, WAREHOUSE
from app.timeutil import utcnow

# Demo only: printed by `demo seed` and listed in the README. The engineer login is 张建国. They meet the
# password policy (app.services.passwords), as any password set in the console must.
DEMO_LOGINS = [
    ("manager", "demo-mgr-2026", MANAGER),
    ("clerk", "demo-clk-2026", CLERK),
    ("engineer", "demo-eng-2026", ENGINEER),
    ("warehouse", "demo-wh-2026", WAREHOUSE),
]
DEMO_MARKER_PRODUCT = D.PRODUCTS[0][0]


@dataclass
class SeedResult:
    created: bool
    counts: dict = field(default_factory=dict)

    def summary(self) -> str:
        return ", ".join(f"{n} {k}" for k, n in self.counts.items())


def _phone(rng) -> str:
    return rng.choice(["138", "139", "136", "137", "150", "151", "158", "186", "187", "189"]) + \
        f"{rng.randrange(10**8):08d}"


def _ensure_logins(session: Session, sm) -> dict:
    users = {}
    for username, password, role in DEMO_LOGINS:
        user = sm.find_user(username=username)
        if user is None:
            first, last = {"manager": ("经理", "周"), "clerk": ("小美", "林"), "engineer": ("建国", "张"),
                           "warehouse": ("师傅", "仓")}[username]
            user = sm.add_user(username, first, last, f"{username}@demo.example.com", sm.find_role(role),
                               password=password)
        users[username] = user
    return users


def seed(session: Session, sm, *, random_seed: int = 20261122, now: datetime | None = None) -> SeedResult:
    """Create the demo operation once; later calls only make sure the demo logins exist."""
    ensure_reference_data(session)
    users = _ensure_logins(session, sm)
    if session.scalar(select(Product).where(Product.model == DEMO_MARKER_PRODUCT)) is not None:
        return SeedResult(created=False)
    now = now or utcnow()
    rng = random.Random(random_seed)

    regions = {}
    for code, zh, en, level, parent, lat, lng in D.REGIONS:
        regions[code] = ServiceRegion(code=code, name_zh=zh, name_en=en, level=level,
                                      parent=regions.get(parent) if parent else None)
    session.add_all(regions.values())
    centers = {code: (lat, lng) for code, _, _, _, _, lat, lng in D.REGIONS}

    lines = {c: ProductLine(code=c, name_zh=zh, name_en=en) for c, zh, en in D.PRODUCT_LINES}
    products = {m: Product(model=m, name_zh=zh, name_en=en, product_line=lines[pl], warranty_months=w)
                for m, zh, en, pl, w in D.PRODUCTS}
    skills = {c: Skill(code=c, name_zh=zh, name_en=en) for c, zh, en in D.SKILLS}
    teams = {c: Team(code=c, name_zh=zh, name_en=en) for c, zh, en, _ in D.TEAMS}
    session.add_all([*lines.values(), *products.values(), *skills.values(), *teams.values()])
    teams["bj_station"].lead_user = users["manager"]
    for code, zh, en, model, days in D.MAINTENANCE_PLANS:
        session.add(MaintenancePlan(code=code, name_zh=zh, name_en=en, product=products[model], interval_days=days,
                                    lead_days=7))
    _seed_articles(session, products, now)

    engineers = []
    for i, (name, team, districts, skill_codes) in enumerate(D.ENGINEERS):
        home = districts[0] if districts else "110105"
        lat, lng = centers[home]
        engineer = Engineer(
            name=name, phone=_phone(rng), team=teams[team], capacity=rng.choice([5, 6, 8]),
            on_duty=(i % 7 != 6), skills=[skills[s] for s in skill_codes],
            regions=[regions[d] for d in districts], base_latitude=lat + rng.uniform(-0.02, 0.02),
            base_longitude=lng + rng.uniform(-0.02, 0.02),
        )
        engineers.append(engineer)
    engineers[0].user = users["engineer"]
    session.add_all(engineers)

    warehouses = {c: Warehouse(code=c, name_zh=zh, name_en=en, region=regions[r], address=a)
                  for c, zh, en, r, a in D.WAREHOUSES}
    for engineer in engineers:
        engineer.warehouse = warehouses.get(D.TEAM_WAREHOUSE.get(engineer.team.code))
    parts = {sku: SparePart(sku=sku, name_zh=zh, name_en=en, unit=unit, price=Decimal(price),
                            products=[products[m] for m in models])
             for sku, zh, en, unit, price, models in D.PARTS}
    session.add_all([*warehouses.values(), *parts.values()])
    for wh in warehouses.values():
        for part in parts.values():
            qty = rng.choice([0, 2, 5, 8, 12, 20, 30])
            session.add(Stock(warehouse=wh, part=part, on_hand=qty, reserved=min(qty, rng.choice([0, 0, 1, 2])),
                              low_stock_threshold=3))
            if qty:
                session.add(StockMove(warehouse=wh, part=part, kind="receipt", quantity=qty, reason="期初入库",
                                      created_at=now - timedelta(days=90), actor_user_id=users["warehouse"].id))

    districts = [c for c, *_rest in D.REGIONS if c in D.STREETS]
    customers, assets = [], []
    for i in range(120):
        district = rng.choice(districts)
        lat, lng = centers[district]
        street = rng.choice(D.STREETS[district])
        region = regions[district]
        name = rng.choice(D.SURNAMES) + rng.choice(D.GIVEN)
        english = i % 15 == 7
        customer = Customer(
            name=name, phone=_phone(rng), email=f"customer{i + 1:03d}@example.com" if i % 3 == 0 else None,
            tier="vip" if i % 10 == 0 else "normal", preferred_language="en" if english else "zh",
            preferred_channel=rng.choice(["sms", "sms", "wechat", "phone", "email"]),
            address=f"{region.parent.parent.name_zh}{region.name_zh}{street}{rng.randint(1, 300)}号"
                    f"{rng.randint(1, 30)}号楼{rng.randint(1, 6)}单元{rng.randint(101, 2802)}",
            region=region, latitude=lat + rng.uniform(-0.03, 0.03), longitude=lng + rng.uniform(-0.03, 0.03),
            created_at=now - timedelta(days=rng.randint(30, 900)),
        )
        if i % 8 == 0:
            customer.contacts.append(CustomerContact(kind="phone", value=_phone(rng), label="家人"))
        customers.append(customer)
        for _ in range(rng.choice([1, 1, 2])):
            model = rng.choice(list(products))
            product = products[model]
            installed = (now - timedelta(days=rng.randint(20, 2200))).date()
            assets.append(Asset(
                serial_number=f"{model.split('-')[0]}{installed:%y%m}{rng.randrange(10**6):06d}",
                product=product, customer=customer, install_date=installed,
                warranty_end=_add_months(installed, product.warranty_months), location=customer.address,
                latitude=customer.latitude, longitude=customer.longitude,
            ))
    session.add_all(customers + assets)
    session.flush()

    demo_tickets = _seed_tickets(session, rng, now, customers, engineers, users)
    session.commit()
    return SeedResult(created=True, counts={
        "regions": len(regions), "products": len(products), "engineers": len(engineers),
        "customers": len(customers), "assets": len(assets), "spare parts": len(parts),
        "tickets": demo_tickets,
    })


def _seed_articles(session: Session, products: dict, now: datetime) -> None:
    categories = {c.code: c for c in session.scalars(select(Category))}
    for language, title, body, category, models, published in D.KB_ARTICLES:
        article = KbArticle(title=title, body=body, language=language, categories=[categories[category]],
                            products=[products[m] for m in models], created_at=now, updated_at=now)
        kb.prepare(article)
        if published:
            kb.publish(article, now=now)
        session.add(article)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, 28))


# The path a ticket takes to reach each status, after creation (assignment is inserted where needed).
PATHS = {
    st.NEW: [],
    st.ASSIGNED: ["assign"],
    st.ACCEPTED: ["assign", st.ACCEPTED],
    st.IN_PROGRESS: ["assign", st.ACCEPTED, st.IN_PROGRESS],
    st.WAITING_CUSTOMER: ["assign", st.ACCEPTED, st.IN_PROGRESS, st.WAITING_CUSTOMER],
    st.WAITING_PARTS: ["assign", st.ACCEPTED, st.IN_PROGRESS, st.WAITING_PARTS],
    st.RESOLVED: ["assign", st.ACCEPTED, st.IN_PROGRESS, st.RESOLVED],
    st.CLOSED: ["assign", st.ACCEPTED, st.IN_PROGRESS, st.RESOLVED, st.CLOSED],
    st.REOPENED: ["assign", st.ACCEPTED, st.IN_PROGRESS, st.RESOLVED, st.REOPENED],
    st.CANCELLED: [st.CANCELLED],
}
REASONS = {st.CANCELLED: "客户已自行解决，取消报修", st.REOPENED: "客户反馈问题再次出现"}


def _seed_tickets(session, rng, now, customers, engineers, users) -> int:
    refs = {
        "category": {c.code: c for c in session.scalars(select(Category))},
        "service_type": {c.code: c for c in session.scalars(select(ServiceType))},
        "priority": {c.code: c for c in session.scalars(select(Priority))},
    }
    clerk, engineer_user = users["clerk"], users["engineer"]
    statuses = list(PATHS)
    count = 0
    for i in range(60):
        target = statuses[i % len(statuses)]
        customer = rng.choice([c for c in customers if c.assets])
        asset = rng.choice(customer.assets)
        line = asset.product.product_line.code
        options = [p for p in D.PROBLEMS if p[0] == line] or D.PROBLEMS
        _, category, service_type, subject, description, priority = rng.choice(options)
        at = now - timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
        if target in (st.NEW, st.ASSIGNED):
            at = now - timedelta(hours=rng.randint(1, 30))
        ticket, _ = tickets.create_ticket(
            session, channel=rng.choice(_CHANNELS),
            subject=subject, description=description, now=at, actor=clerk, customer=customer, asset=asset,
            category=refs["category"][category], service_type=refs["service_type"][service_type],
            priority=refs["priority"][priority],
        )
        # The demo engineer login gets a share of the work so their own list is not empty.
        engineer = engineers[0] if i % 4 == 0 else _local_engineer(rng, engineers, customer)
        for step in PATHS[target]:
            at += timedelta(minutes=rng.randint(10, 240))
            if step == "assign":
                tickets.assign(session, ticket, engineer, now=at, actor=clerk)
            else:
                actor = engineer_user if engineer is engineers[0] and step != st.CLOSED else clerk
                tickets.transition(session, ticket, step, now=at, actor=actor, reason=REASONS.get(step))
        if i % 3 == 0:
            tickets.add_note(session, ticket, rng.choice(D.DEMO_NOTES), now=at + timedelta(minutes=5), actor=clerk)
        if target == st.CLOSED:  # the customers' ratings: mostly content, now and then not
            score, comment = rng.choice(D.DEMO_RATINGS)
            satisfaction.rate(session, ticket, score, comment, via="portal", now=at + timedelta(hours=2))
        count += 1
    session.flush()
    return count


def _local_engineer(rng, engineers, customer):
    region_codes = {r.code for r in customer.region.ancestors()} if customer.region else set()
    local = [e for e in engineers if region_codes & {r.code for r in e.regions}]
    return rng.choice(local or engineers)


# --- bulk generation -----------------------------------------------------------------------------

BULK_BATCH = 5000


def bulk_tickets(session: Session, count: int, *, random_seed: int = 1, now: datetime | None = None,
                 days: int = 365, progress=None) -> float:
    """Insert `count` tickets spread evenly over the last `days` days, each with its timeline.

    Generated one day at a time (so ticket numbers are reserved once per day, in time order) and written
    in batches by `_write_bulk`, not as ORM objects. Returns tickets per second.
    Needs the demo catalogue (customers, assets, engineers) to draw from.
    """
    now = now or utcnow()
    rng = random.Random(random_seed)
    cfg = settings.current()
    pools = _bulk_pools(session)
    started = time.perf_counter()
    pending: list[dict] = []
    for window in range(days):
        size = count // days + (1 if window < count % days else 0)
        start = now - timedelta(days=days - window)
        rows = sorted((_bulk_row(rng, pools, now, start + timedelta(seconds=rng.randrange(86400)))
                       for _ in range(size)), key=lambda r: r["created_at"])
        by_day: dict[date, list[dict]] = {}
        for row in rows:
            by_day.setdefault(numbering.local_day(row["created_at"], cfg.timezone), []).append(row)
        for day, day_rows in by_day.items():
            for seq, row in zip(numbering.reserve(session, day, len(day_rows)), day_rows):
                row["number"] = numbering.format_number(cfg.ticket_number_prefix, day, seq)
        pending.extend(rows)
        if len(pending) >= BULK_BATCH or window == days - 1:
            _write_bulk(session, pending)
            if progress:
                progress(len(pending))
            pending = []
    elapsed = time.perf_counter() - started
    # Rows written past the ORM: the engineers' open-ticket figures are recounted, and the scheduler's next
    # tick works out the open tickets' deadlines (their clocks have no segments: they ran since creation).
    load.recount(session)
    sla.recheck_open(session, now=now)
    session.commit()
    return count / elapsed if elapsed > 0 else float("inf")


def _write_bulk(session: Session, rows: list[dict]) -> None:
    """Write tickets and their events. PostgreSQL gets COPY (ids drawn from the sequence first);
    SQLite, a single writer, gets plain executemany with ids counted on from the current maximum."""
    if not rows:
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        ids = session.execute(
            text("SELECT nextval(pg_get_serial_sequence('ticket', 'id')) FROM generate_series(1, :n)"),
            {"n": len(rows)},
        ).scalars().all()
    else:
        first = (session.scalar(select(func.max(Ticket.id))) or 0) + 1
        ids = range(first, first + len(rows))
    events = []
    for ticket_id, row in zip(ids, rows):
        row["id"] = ticket_id
        events.append({"ticket_id": ticket_id, "kind": "created", "created_at": row["created_at"],
                       "data": {"channel": row["channel"]}, "actor_user_id": None, "reason": None})
        if row["status"] != st.NEW:
            events.append({"ticket_id": ticket_id, "kind": "status", "created_at": row["updated_at"],
                           "data": {"from": st.NEW, "to": row["status"]}, "actor_user_id": None,
                           "reason": None})
    searchable = [similar.search_row(row["id"], row["product_id"], row["category_id"], row["resolved_at"],
                                     tx.search_words(row["subject"], row["description"]))
                  for row in rows if row["status"] in similar.INDEXED_STATUSES]
    if postgres:
        _copy(session, Ticket.__table__, rows)
        _copy(session, TicketEvent.__table__, events)
        if searchable:
            _copy(session, TicketSearch.__table__, searchable)
    else:
        session.execute(insert(Ticket.__table__), rows)
        session.execute(insert(TicketEvent.__table__), events)
        if searchable:
            session.execute(insert(TicketSearch.__table__), searchable)
    session.commit()


def _copy(session: Session, table, rows: list[dict]) -> None:
    from psycopg.types.json import Json

    columns = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([Json(row[c]) if c in json_columns else row[c] for c in columns])


def _bulk_pools(session: Session) -> dict:
    assets = session.execute(
        select(Asset.id, Asset.customer_id, Asset.product_id, Customer.name, Customer.phone, Customer.address)
        .join(Customer, Asset.customer_id == Customer.id)
    ).all()
    engineers = session.execute(select(Engineer.id, Engineer.team_id).where(Engineer.active.is_(True))).all()
    if not assets or not engineers:
        raise RuntimeError("bulk tickets need the demo catalogue: run `demo seed` first")
    problems = [problem[1:] for problem in D.PROBLEMS]  # without the product line
    return {
        "assets": assets,
        "engineers": engineers,
        "problems": problems,
        "category": dict(session.execute(select(Category.code, Category.id)).all()),
        "service_type": dict(session.execute(select(ServiceType.code, ServiceType.id)).all()),
        "priority": dict(session.execute(select(Priority.code, Priority.id)).all()),
    }


# Old tickets are done (resolved ones would have been confirmed or auto-closed); recent ones are in work.
_OLD_STATUSES = [st.CLOSED] * 15 + [st.CANCELLED]
_RECENT_STATUSES = [st.NEW, st.ASSIGNED, st.ACCEPTED, st.IN_PROGRESS, st.WAITING_CUSTOMER, st.WAITING_PARTS,
                    st.RESOLVED, st.CLOSED, st.REOPENED]
_CHANNELS = ["phone"] * 4 + ["app"] * 2 + ["wechat"] * 2 + ["web", "email", "chat", "iot"]


def _bulk_row(rng, pools, now, created) -> dict:
    asset_id, customer_id, product_id, name, phone, address = rng.choice(pools["assets"])
    category, service_type, subject, description, priority = rng.choice(pools["problems"])
    age = now - created
    status = rng.choice(_RECENT_STATUSES if age < timedelta(days=7) else _OLD_STATUSES)
    engineer_id, team_id = rng.choice(pools["engineers"]) if status not in (st.NEW, st.CANCELLED) else (None, None)
    handled = created + timedelta(minutes=rng.randint(5, 600))
    resolved = created + timedelta(hours=rng.randint(2, 96))
    done = status in (st.RESOLVED, st.CLOSED)
    return {
        "channel": rng.choice(_CHANNELS), "customer_id": customer_id, "contact_name": name,
        "contact_phone": phone, "contact_address": address, "asset_id": asset_id, "product_id": product_id,
        "category_id": pools["category"][category], "service_type_id": pools["service_type"][service_type],
        "priority_id": pools["priority"][priority], "status": status, "subject": subject,
        "description": description, "team_id": team_id, "assignee_id": engineer_id,
        "responded_at": handled if engineer_id else None,
        "resolved_at": min(resolved, now) if done else None, "resolution_round": 1 if done else 0,
        "closed_at": min(resolved + timedelta(days=3), now) if status == st.CLOSED else None,
        "created_at": created, "updated_at": min(resolved, now) if done else handled if engineer_id else created,
        "version": 1,
    }
