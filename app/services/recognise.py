"""Who is reporting and about which device: customer by WeChat id, phone or e-mail; asset by the
serial number given or found in the text; warranty decided on the local date."""
import re
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from app.models import Asset, Customer, CustomerContact
from app.services import settings
from app.services.contacts import normalize_email, normalize_phone
from app.timeutil import iso_utc, to_local

# Serial numbers and model numbers: letters and digits (and dashes), at least one digit, 6–30 long.
_CODE = re.compile(r"(?<![A-Za-z0-9-])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9][A-Za-z0-9-]{5,29}(?![A-Za-z0-9-])")


def codes_in(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(0).upper() for m in _CODE.finditer(text or "")))


@dataclass
class Recognition:
    customer: Customer | None = None
    asset: Asset | None = None
    product_id: int | None = None
    product_line_id: int | None = None
    warranty_status: str = "unknown"
    reasons: list[dict] = field(default_factory=list)


def _by_contact(session: Session, kind: str, value: str, column) -> Customer | None:
    """The oldest customer with this value as their main contact or one of their further contacts —
    one round trip, two index lookups."""
    ids = union_all(
        select(Customer.id.label("id")).where(column == value),
        select(CustomerContact.customer_id).where(CustomerContact.kind == kind, CustomerContact.value == value),
    ).subquery()
    return session.scalar(select(Customer).where(Customer.id == select(func.min(ids.c.id)).scalar_subquery()))


def find_customer(session: Session, *, phone=None, email=None, wechat_openid=None):
    """(customer, how it was found, the value) — WeChat id first, then phone, then e-mail."""
    if wechat_openid:
        found = _by_contact(session, "wechat", wechat_openid, Customer.wechat_openid)
        if found:
            return found, "wechat", wechat_openid
    phone = normalize_phone(phone)
    if phone:
        found = _by_contact(session, "phone", phone, Customer.phone)
        if found:
            return found, "phone", phone
    email = normalize_email(email)
    if email:
        found = _by_contact(session, "email", email, Customer.email)
        if found:
            return found, "email", email
    return None, None, None


def find_asset(session: Session, serial: str | None, text: str) -> tuple[Asset | None, str | None]:
    if serial and serial.strip():
        asset = session.scalar(select(Asset).where(Asset.serial_number == serial.strip().upper()))
        if asset is not None:
            return asset, "serial"
    candidates = codes_in(text)
    if candidates:
        asset = session.scalar(select(Asset).where(Asset.serial_number.in_(candidates)).limit(1))
        if asset is not None:
            return asset, "text"
    return None, None


def warranty(asset: Asset | None, now: datetime) -> tuple[str, dict]:
    if asset is None:
        return "unknown", {"code": "warranty", "status": "unknown", "why": "no_asset"}
    if asset.warranty_end is None:
        return "unknown", {"code": "warranty", "status": "unknown", "why": "no_end_date"}
    today = to_local(now, settings.current().timezone).date()
    status = "in" if asset.under_warranty(today) else "out"
    return status, {"code": "warranty", "status": status, "until": asset.warranty_end.isoformat()}


def recognise(session: Session, *, now: datetime, name=None, phone=None, email=None, wechat_openid=None,
              serial_number=None, text: str = "", customer: Customer | None = None,
              asset: Asset | None = None, create_unknown: bool = True, language: str | None = None) -> Recognition:
    """Find (or, for an unknown sender, create unverified) the customer and the device."""
    out = Recognition()
    if asset is None:
        asset, by = find_asset(session, serial_number, text)
        if asset is not None:
            out.reasons.append({"code": "asset_found", "by": by, "serial": asset.serial_number})
        elif serial_number:
            out.reasons.append({"code": "asset_unknown", "serial": serial_number.strip().upper()})
    else:
        out.reasons.append({"code": "asset_found", "by": "chosen", "serial": asset.serial_number})
    if customer is None:
        customer, by, value = find_customer(session, phone=phone, email=email, wechat_openid=wechat_openid)
        if customer is not None:
            out.reasons.append({"code": "customer_found", "by": by, "value": value, "name": customer.name})
        elif asset is not None and asset.customer is not None:
            customer = asset.customer
            out.reasons.append({"code": "customer_found", "by": "asset", "value": asset.serial_number,
                                "name": customer.name})
    else:
        out.reasons.append({"code": "customer_found", "by": "chosen", "value": customer.phone, "name": customer.name})
    if customer is None and create_unknown:
        customer = _new_customer(session, name=name, phone=phone, email=email, wechat_openid=wechat_openid, now=now,
                                 language=language)
        if customer is not None:
            out.reasons.append({"code": "customer_created", "name": customer.name})
    if asset is None and customer is not None and customer.id is not None:
        owned = list(customer.assets)
        if len(owned) == 1:
            asset = owned[0]
            out.reasons.append({"code": "asset_found", "by": "only_asset", "serial": asset.serial_number})
    out.customer, out.asset = customer, asset
    if asset is not None:
        out.product_id = asset.product_id
        out.product_line_id = asset.product.product_line_id
    out.warranty_status, reason = warranty(asset, now)
    out.reasons.append(reason)
    return out


def _new_customer(session: Session, *, name, phone, email, wechat_openid, now, language=None) -> Customer | None:
    phone, email = normalize_phone(phone), normalize_email(email)
    if not (phone or email or wechat_openid):
        return None
    name = (name or "").strip()[:100] or phone or email or str(_l("WeChat user"))
    customer = Customer(name=name, phone=phone, email=email, wechat_openid=wechat_openid or None,
                        verified=False, created_at=now, updated_at=now,
                        # Messages to a new customer go out in the language they wrote to us in.
                        preferred_language=language if language in ("zh", "en") else "zh")
    session.add(customer)
    return customer


def caller_card(session: Session, phone: str | None, *, now: datetime) -> dict:
    """What a clerk (or the CTI screen pop) needs when a number calls: who, which devices, what is open."""
    from app.models import Ticket
    from app.services import status as st

    number = normalize_phone(phone)
    if number is None:
        return {"phone": phone, "valid": False, "customer": None, "assets": [], "open_tickets": []}
    customer = _by_contact(session, "phone", number, Customer.phone)
    card = {"phone": number, "valid": True, "customer": None, "assets": [], "open_tickets": []}
    if customer is None:
        return card
    card["customer"] = {"id": customer.id, "name": customer.name, "tier": customer.tier,
                        "verified": customer.verified, "email": customer.email, "address": customer.address}
    for asset in customer.assets:
        status, _ = warranty(asset, now)
        card["assets"].append({"id": asset.id, "serial_number": asset.serial_number, "product": str(asset.product),
                               "warranty_end": asset.warranty_end.isoformat() if asset.warranty_end else None,
                               "warranty_status": status})
    tickets = session.scalars(select(Ticket).where(Ticket.customer_id == customer.id,
                                                   Ticket.status.in_(st.OPEN_STATUSES))
                              .order_by(Ticket.created_at.desc()).limit(20))
    card["open_tickets"] = [{"id": t.id, "number": t.number, "status": t.status, "status_label": str(st.label(t.status)),
                             "subject": t.subject, "created_at": iso_utc(t.created_at)} for t in tickets]
    return card
