"""Why a ticket looks the way it does, as sentences in the reader's language.

Reasons are stored as codes with their facts (rule id and name, matched words, scores) so one
timeline reads in Chinese and in English, and integrators get the same facts as data.
"""
from flask_babel import gettext as _
from sqlalchemy import literal, select, union_all

from app.models.mixins import localized
from app.services.vocabulary import CHANNELS

_BY = {
    "phone": lambda: _("phone number"), "email": lambda: _("e-mail address"),
    "wechat": lambda: _("WeChat id"), "asset": lambda: _("the device's owner"),
    "chosen": lambda: _("the clerk's choice"),
}
_ASSET_BY = {
    "serial": lambda: _("the serial number given"), "text": lambda: _("a serial number in the text"),
    "chosen": lambda: _("the clerk's choice"), "only_asset": lambda: _("the customer's only registered device"),
}
_WARRANTY = {"in": lambda: _("in warranty"), "out": lambda: _("out of warranty"), "unknown": lambda: _("unknown")}
_IGNORED = {
    "auto_reply": lambda: _("an automatic reply"), "bounce": lambda: _("a delivery failure notice"),
    "empty": lambda: _("an empty message"),
}


def _sets(sets: dict, names: dict) -> str:
    labels = {"category": _("category"), "service_type": _("service type"), "priority": _("priority"),
              "team": _("team")}
    return ", ".join(f"{labels[k]} = {names.get((k, v), v)}" for k, v in sets.items() if k in labels)


def describe(reason: dict, names: dict | None = None) -> str:
    """`names` maps (field, id) to a display name for the ids a rule set."""
    names = names or {}
    code = reason.get("code")
    if code == "customer_found":
        return _("Customer %(name)s recognised by %(by)s %(value)s", name=reason.get("name"),
                 by=_BY.get(reason.get("by"), lambda: reason.get("by"))(), value=reason.get("value") or "")
    if code == "customer_created":
        return _("Unknown sender: new customer %(name)s created, marked unverified", name=reason.get("name"))
    if code == "asset_found":
        return _("Device %(serial)s recognised by %(by)s", serial=reason.get("serial"),
                 by=_ASSET_BY.get(reason.get("by"), lambda: reason.get("by"))())
    if code == "asset_unknown":
        return _("Serial number %(serial)s is not a registered device", serial=reason.get("serial"))
    if code == "product_in_text":
        return _("Product model %(model)s found in the text", model=reason.get("model"))
    if code == "warranty":
        status = _WARRANTY.get(reason.get("status"), lambda: reason.get("status"))()
        if reason.get("until"):
            return _("Warranty: %(status)s (until %(until)s)", status=status, until=reason["until"])
        if reason.get("why") == "no_asset":
            return _("Warranty: unknown (no device recognised)")
        return _("Warranty: unknown (the device has no warranty end date)")
    if code == "sentiment":
        return _("Sentiment score %(score)s (−1 angry … +1 pleased)", score=reason.get("score"))
    if code == "rule":
        parts = [_("Rule 「%(rule)s」", rule=reason.get("rule"))]
        if reason.get("matched"):
            parts.append(_("matched %(words)s", words="、".join(reason["matched"])))
        if reason.get("repeat_days"):
            parts.append(_("an earlier report within %(days)s days", days=reason["repeat_days"]))
        if reason.get("sentiment") is not None:
            parts.append(_("sentiment %(score)s", score=reason["sentiment"]))
        if reason.get("sets"):
            parts.append(_("set %(what)s", what=_sets(reason["sets"], names)))
        if reason.get("raise"):
            parts.append(_("raise priority by %(levels)s", levels=reason["raise"]))
        if reason.get("tags"):
            parts.append(_("tags %(tags)s", tags="、".join(reason["tags"])))
        if reason.get("confidence") is not None:
            parts.append(_("confidence %(value)s", value=reason["confidence"]))
        return "; ".join(parts)
    if code == "default_priority":
        return _("No rule set a priority: the default priority applies")
    if code == "raised":
        return _("Priority raised %(levels)s level(s): %(old)s → %(new)s", levels=reason.get("levels"),
                 old=names.get(("priority_code", reason.get("from")), reason.get("from")),
                 new=names.get(("priority_code", reason.get("to")), reason.get("to")))
    if code == "no_category":
        return _("No rule recognised the kind of problem")
    if code == "review":
        return _("Confidence %(value)s is below %(threshold)s: waiting for a clerk's review",
                 value=reason.get("confidence"), threshold=reason.get("threshold"))
    if code == "merged":
        return _("Same problem as open ticket %(ticket)s (similarity %(score)s ≥ %(threshold)s within "
                 "%(hours)s h): merged into it", ticket=reason.get("ticket"), score=reason.get("similarity"),
                 threshold=reason.get("threshold"), hours=reason.get("window_hours"))
    if code == "alarm_repeat":
        return _("Repeated alarm counted on open ticket %(ticket)s (%(count)s alarms)",
                 ticket=reason.get("ticket"), count=reason.get("count"))
    if code == "alarm_recovered":
        return _("Device reported recovery on ticket %(ticket)s", ticket=reason.get("ticket"))
    if code == "recovery_without_alarm":
        return _("Recovery of %(code)s without an open alarm ticket: nothing to do", code=reason.get("fault_code"))
    if code == "threaded":
        return _("Reply added to ticket %(ticket)s", ticket=reason.get("ticket"))
    if code == "ignored":
        return _("Not a request: %(why)s", why=_IGNORED.get(reason.get("why"), lambda: reason.get("why"))())
    if code == "attachment_too_large":
        return _("Attachment %(name)s (%(size)s KB) not stored: larger than %(limit)s KB",
                 name=reason.get("filename"), size=reason.get("size_kb"), limit=reason.get("limit_kb"))
    return str(code)


def channel_name(code: str | None) -> str:
    return str(CHANNELS.get(code, code or ""))


def references(session, reasons: list[dict], also: dict[str, int | None] | None = None) -> dict:
    """Names for the ids the rules set (and for `also`, e.g. the ticket's own), in one query:
    (kind, id) -> name in the reader's language, ("code", kind, id) -> code, ("priority_code", code) -> name."""
    from app.models import Category, Priority, ServiceType, Team

    models = {"category": Category, "service_type": ServiceType, "priority": Priority, "team": Team}
    wanted: dict[str, set] = {}
    priority_codes: set[str] = set()
    for reason in reasons:
        if reason.get("code") == "raised":
            priority_codes.update(c for c in (reason.get("from"), reason.get("to")) if c)
        for key, value in (reason.get("sets") or {}).items():
            if key in models and value is not None:
                wanted.setdefault(key, set()).add(value)
    for key, value in (also or {}).items():
        if value is not None:
            wanted.setdefault(key, set()).add(value)
    parts = [select(literal(key).label("kind"), models[key].id, models[key].code, models[key].name_zh,
                    models[key].name_en).where(models[key].id.in_(sorted(ids))) for key, ids in wanted.items()]
    if priority_codes:
        parts.append(select(literal("priority_code").label("kind"), Priority.id, Priority.code, Priority.name_zh,
                            Priority.name_en).where(Priority.code.in_(sorted(priority_codes))))
    names: dict = {}
    for kind, row_id, code, name_zh, name_en in (session.execute(union_all(*parts)) if parts else []):
        name = localized(name_zh, name_en)
        if kind == "priority_code":
            names[("priority_code", code)] = name
        else:
            names[(kind, row_id)] = name
            names[("code", kind, row_id)] = code
    return names


def sentences(session, reasons: list[dict], names: dict | None = None) -> list[str]:
    names = references(session, reasons) if names is None else names
    return [describe(r, names) for r in reasons]
