"""The timeline sentences of the engineer's field work."""
from flask_babel import gettext as _


def describe(kind: str, data: dict) -> str | None:
    if kind == "departed":
        return _("%(engineer)s set off to the customer", engineer=data.get("engineer"))
    if kind == "checked_in":
        if not data.get("located"):
            return _("%(engineer)s checked in without a location", engineer=data.get("engineer"))
        if data.get("distance_m") is None:
            return _("%(engineer)s checked in (the customer's address has no coordinates to compare)",
                     engineer=data.get("engineer"))
        if data.get("far"):
            return _("%(engineer)s checked in %(meters)s m from the customer's address — farther than %(limit)s m",
                     engineer=data.get("engineer"), meters=data.get("distance_m"), limit=data.get("far_meters"))
        return _("%(engineer)s checked in %(meters)s m from the customer's address", engineer=data.get("engineer"),
                 meters=data.get("distance_m"))
    if kind == "work_log":
        return _("Work log")
    if kind == "maintenance_due":
        from app.services.dispatch_text import pick

        return _("Scheduled maintenance due %(date)s (plan: %(plan)s, every %(days)s days)", date=data.get("due"),
                 plan=pick(data.get("plan")), days=data.get("interval_days"))
    return None
