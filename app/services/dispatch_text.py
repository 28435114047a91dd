"""Dispatch decisions as sentences in the reader's language: why this engineer, why the pool."""
from flask_babel import gettext as _

from app.models.mixins import localized


def pick(pair) -> str:
    """The reader's half of a stored [zh, en] name."""
    if not pair:
        return ""
    if isinstance(pair, str):
        return pair
    return localized(*pair)


def candidate_line(c: dict, need: dict) -> str:
    """「硬件维修 ✓，热水器 ✓，覆盖 朝阳区 ✓，3.2 公里，在办 2 / 容量 6，FX-200 有货（北京中心仓）」"""
    names = need.get("names") or {}
    parts = [f"{pick(names[key])} ✓" for key in ("service_type", "product_line") if need.get(key) and key in names]
    if c.get("region"):
        parts.append(_("covers %(region)s ✓", region=pick(c["region"])))
    if c.get("distance_km") is not None:
        where = _("from where they are now") if c.get("located_by") == "last" else _("from their base")
        parts.append(_("%(km)s km away (%(where)s)", km=c["distance_km"], where=where))
    elif need.get("on_site"):
        parts.append(_("distance unknown"))
    parts.append(_("%(count)s open tickets of capacity %(capacity)s", count=c.get("open_count"),
                   capacity=c.get("capacity")))
    if c.get("parts_in_stock"):
        parts.append(_("%(parts)s in stock at %(warehouse)s", parts=", ".join(c["parts_in_stock"]),
                       warehouse=pick(c.get("warehouse"))))
    if c.get("parts_missing"):
        parts.append(_("%(parts)s not in their warehouse", parts=", ".join(c["parts_missing"])))
    if c.get("previous"):
        parts.append(_("served this device or customer before"))
    return _("%(reasons)s — score %(score)s", reasons=_(", ").join(parts), score=f"{c.get('total', 0):.2f}")


def component_labels() -> dict:
    return {"load": _("Load"), "distance": _("Distance"), "parts": _("Parts"), "previous": _("Served before")}


def pool_reason(pooled: dict | None, need: dict) -> str:
    if not pooled:
        return ""
    names = need.get("names") or {}
    failed = pooled.get("failed", "")
    if failed == "active":
        return _("No active engineer in the team.")
    if failed.startswith("skill:"):
        key = "service_type" if failed[6:] == need.get("service_type") else "product_line"
        return _("No engineer has the skill %(skill)s.", skill=pick(names.get(key)) or failed[6:])
    if failed == "region_unknown":
        return _("The customer's region is not known: fill in their address and region, then dispatch again.")
    if failed == "region":
        return _("No engineer with these skills covers %(region)s or the regions above it.",
                 region=pick(names.get("region")))
    if failed == "on_duty":
        return _("The engineers who could do it are off duty, on leave or outside their shifts now.")
    if failed == "not_rejected":
        return _("Every engineer who could do it has rejected it.")
    return _("The engineers who could do it are at full capacity.")


def describe(kind: str, data: dict) -> str | None:
    """The timeline sentence of a dispatch event, or None when `kind` is not one."""
    need = data.get("requirements") or {}
    if kind == "dispatched":
        chosen = data.get("chosen") or {}
        return _("Dispatched to %(engineer)s: %(why)s", engineer=chosen.get("name"),
                 why=candidate_line(chosen, need))
    if kind == "pooled":
        team = pick(data.get("team"))
        reason = pool_reason(data.get("pooled"), need)
        if team:
            return _("Put in the pool of %(team)s: %(why)s", team=team, why=reason)
        return _("Put in the unassigned pool: %(why)s", why=reason)
    if kind == "claimed":
        return _("Claimed from the pool by %(engineer)s", engineer=data.get("engineer"))
    if kind == "rejected":
        return _("Rejected by %(engineer)s", engineer=data.get("engineer"))
    if kind == "part_needed":
        return _("Needs spare part %(sku)s %(name)s × %(quantity)s", sku=data.get("sku"), name=pick(data.get("part")),
                 quantity=data.get("quantity"))
    if kind == "part_dropped":
        return _("No longer needs spare part %(sku)s %(name)s", sku=data.get("sku"), name=pick(data.get("part")))
    if kind == "transferred":
        return _("Transferred from %(old)s to %(new)s", old=pick(data.get("from")) or _("no team"),
                 new=pick(data.get("to")))
    return None
