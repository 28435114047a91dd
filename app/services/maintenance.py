"""Preventive maintenance plans (定期保养) make their tickets: for every device of the plan's product, once per
due date, a few days ahead. The scheduler's `maintenance_plans` job calls run_due; a due date that was
already handled (by this run, an earlier one, or a second scheduler at the same moment) is passed over."""
from datetime import date, datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Asset, MaintenancePlan, MaintenanceRun
from app.services import settings, timeline
from app.services import tickets as ticket_service
from app.timeutil import as_utc, to_local

CHANNEL = "plan"


def due_date(start: date | None, interval_days: int, horizon: date) -> date | None:
    """The due date to make a ticket for by `horizon`: the latest one on or before it, counting from `start`
    (installation, or the last due date handled). A device whose plan fell behind gets one ticket, for the
    latest due date, not one per missed interval."""
    if start is None or interval_days <= 0:
        return None
    steps = (horizon - start).days // interval_days
    return start + timedelta(days=steps * interval_days) if steps >= 1 else None


def run_due(session: Session, *, now: datetime, batch: int = 500) -> int:
    """Make the tickets that are due (at most `batch` per run; the next run goes on). Returns how many."""
    now = as_utc(now)
    today = to_local(now, settings.current().timezone).date()
    made = 0
    for plan in session.scalars(select(MaintenancePlan).where(MaintenancePlan.active.is_(True))
                                .order_by(MaintenancePlan.id)).all():
        last = (select(MaintenanceRun.asset_id, func.max(MaintenanceRun.due_date).label("last_due"))
                .where(MaintenanceRun.plan_id == plan.id).group_by(MaintenanceRun.asset_id).subquery())
        # Plain columns for every device of the product; a device is loaded only when it is due.
        rows = session.execute(
            select(Asset.id, Asset.install_date, last.c.last_due).outerjoin(last, last.c.asset_id == Asset.id)
            .where(Asset.product_id == plan.product_id, Asset.install_date.is_not(None))
            .order_by(Asset.id)).all()
        horizon = today + timedelta(days=plan.lead_days)
        for asset_id, installed, last_due in rows:
            due = due_date(last_due or installed, plan.interval_days, horizon)
            if due is None or (last_due is not None and due <= last_due):
                continue
            if _make(session, plan, session.get(Asset, asset_id), due, now=now):
                made += 1
                if made >= batch:
                    session.commit()
                    return made
        session.commit()
    return made


def _make(session: Session, plan: MaintenancePlan, asset: Asset, due: date, *, now: datetime) -> bool:
    from app.services import assign

    try:
        with session.begin_nested():
            run = MaintenanceRun(plan_id=plan.id, asset_id=asset.id, due_date=due, created_at=now)
            session.add(run)
            session.flush()
    except IntegrityError:
        return False  # this due date is already handled
    with force_locale("zh"):  # tickets are written in the back office's language
        subject = _("Scheduled maintenance: %(plan)s (due %(date)s)", plan=plan.name_zh, date=due.isoformat())
    ticket, _created = ticket_service.create_ticket(
        session, channel=CHANNEL, subject=subject[:200], now=now, external_ref=f"plan-{plan.id}-{asset.id}-{due}",
        customer=asset.customer, asset=asset, product=asset.product, category=plan.category,
        service_type=plan.service_type, priority=plan.priority,
        description=str(plan.name_zh))
    run.ticket = ticket
    timeline.record(session, ticket, "maintenance_due", now=now,
                    data={"plan": [plan.name_zh, plan.name_en], "due": due.isoformat(),
                          "interval_days": plan.interval_days})
    assign.auto_dispatch(session, ticket, now=now)
    return True
