"""The one door every channel comes through: `intake(session, request, now=…)`.

A report becomes a new ticket, or is merged into the open ticket it repeats, or (IoT) updates the open
alarm ticket of that device — recognised, classified and explained on the timeline. A retried delivery
(same channel + message id) returns what the first one did and changes nothing.
"""
import hashlib
import mimetypes
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Asset, Customer, IntakeRecord, Ticket, TicketAttachment, TicketEvent
from app.models.intake import IOT_SEVERITIES
from app.services import assign, dedupe, recognise, rules, sentiment, timeline
from app.services import status as st
from app.services import text as tx
from app.services import tickets as ticket_service
from app.services.contacts import normalize_email, normalize_phone
from app.services.errors import ServiceError
from app.services.vocabulary import CHANNELS
from app.timeutil import as_utc

MAX_TEXT = 20000


@dataclass
class Attachment:
    filename: str
    content: bytes
    content_type: str | None = None


@dataclass
class IntakeRequest:
    channel: str
    description: str = ""
    subject: str | None = None
    customer_name: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat_openid: str | None = None
    address: str | None = None
    serial_number: str | None = None
    # The channel's own id of this message (app request id, e-mail Message-ID, call id, alarm id) or
    # the caller's Idempotency-Key: the same key twice is the same report.
    message_key: str | None = None
    # False when the key is ours alone (the phone form's double-click guard): then it is not shown on the
    # ticket as the sender's reference (外部编号).
    key_is_reference: bool = True
    customer_id: int | None = None  # chosen by a clerk in the console
    asset_id: int | None = None
    fault_code: str | None = None  # IoT
    severity: str | None = None
    recovered: bool = False
    occurred_at: datetime | None = None
    attachments: list[Attachment] = field(default_factory=list)
    language: str | None = None  # the reporter's language (portal), for a customer we do not know yet


@dataclass
class IntakeResult:
    outcome: str  # created | merged | alarm_repeat | alarm_recovered | replied | ignored
    ticket: Ticket | None
    reasons: list[dict] = field(default_factory=list)
    replayed: bool = False

    @property
    def created(self) -> bool:
        return self.outcome == "created" and not self.replayed

    @property
    def duplicate_of(self) -> Ticket | None:
        return self.ticket if self.outcome in ("merged", "alarm_repeat", "alarm_recovered") else None


# --- validation -------------------------------------------------------------------------------

def _clean(value, limit: int) -> str | None:
    if value is None:
        return None
    value = str(value).replace("\x00", "").strip()
    return value[:limit] or None


def validate(req: IntakeRequest) -> IntakeRequest:
    """Refuse what cannot become a ticket, naming the field; tidy what can."""
    if req.channel not in CHANNELS:
        raise ServiceError(_l("Unknown channel: %(channel)s", channel=req.channel), field="channel")
    req.description = _clean(req.description, MAX_TEXT) or ""
    req.subject = _clean(req.subject, 200)
    req.customer_name = _clean(req.customer_name, 100)
    req.address = _clean(req.address, 300)
    req.serial_number = _clean(req.serial_number, 60)
    req.message_key = _clean(req.message_key, 250)
    req.wechat_openid = _clean(req.wechat_openid, 64)
    req.fault_code = _clean(req.fault_code, 40)
    if req.phone not in (None, "") and normalize_phone(req.phone) is None:
        raise ServiceError(_l("%(value)s is not a phone number.", value=req.phone), field="customer.phone")
    if req.email not in (None, "") and normalize_email(req.email) is None:
        raise ServiceError(_l("%(value)s is not an e-mail address.", value=req.email), field="customer.email")
    if req.channel == "iot":
        if not req.serial_number:
            raise ServiceError(_l("The device serial number is required."), field="serial_number")
        if not req.fault_code:
            raise ServiceError(_l("The fault code is required."), field="fault_code")
        if req.severity not in IOT_SEVERITIES:
            raise ServiceError(_l("Severity must be one of: %(values)s.", values=", ".join(IOT_SEVERITIES)),
                               field="severity")
    else:
        if not (req.description or req.subject):
            raise ServiceError(_l("Describe the problem."), field="description")
        if not (req.phone or req.email or req.wechat_openid or req.customer_id or req.serial_number
                or recognise.codes_in(req.description)):
            raise ServiceError(_l("Give the customer's phone, e-mail or WeChat id."), field="customer")
    if req.occurred_at is not None:
        req.occurred_at = as_utc(req.occurred_at)
    return req


# --- the entry point --------------------------------------------------------------------------

def intake(session: Session, req: IntakeRequest, *, now: datetime, actor=None) -> IntakeResult:
    """Turn one report into a ticket (or a merge). The caller commits."""
    now = as_utc(now)
    validate(req)
    return _once(session, req.channel, req.message_key, lambda: _process(session, req, now=now, actor=actor),
                 now=now)


def _once(session: Session, channel: str, key: str | None, work, *, now: datetime) -> IntakeResult:
    """Run `work` once per (channel, key); a retry gets the first answer back. The key is claimed first,
    inside the savepoint: a concurrent delivery of the same message waits on it, fails, and replays."""
    if key:
        replay = _replay(session, channel, key)
        if replay is not None:
            return replay
    try:
        with session.begin_nested():
            record = None
            if key:
                record = IntakeRecord(channel=channel, message_key=key, outcome="pending", created_at=now)
                session.add(record)
                session.flush()
            result = work()
            if record is not None:
                record.outcome = result.outcome
                record.ticket = result.ticket
            session.flush()
    except IntegrityError:
        replay = _replay(session, channel, key, after_conflict=True) if key else None
        if replay is None:
            raise
        return replay
    return result


def _replay(session: Session, channel: str, key: str, *, after_conflict: bool = False) -> IntakeResult | None:
    record = session.scalar(select(IntakeRecord).where(IntakeRecord.channel == channel,
                                                       IntakeRecord.message_key == key))
    if record is not None:
        return IntakeResult(record.outcome, record.ticket, _decision_reasons(record.ticket), replayed=True)
    if after_conflict:
        # A ticket the plain ticket API made with this reference: its unique (channel, external_ref) refused
        # ours. Only looked up then, so the usual report pays for one lookup, not two.
        ticket = session.scalar(select(Ticket).where(Ticket.channel == channel, Ticket.external_ref == key))
        if ticket is not None:
            return IntakeResult("created", ticket, _decision_reasons(ticket), replayed=True)
    return None


def _decision_reasons(ticket: Ticket | None) -> list[dict]:
    if ticket is None:
        return []
    event = decision_event(ticket)
    return list((event.data or {}).get("reasons", [])) if event is not None else []


def decision_event(ticket: Ticket) -> TicketEvent | None:
    """The latest automatic classification of the ticket (its explanation)."""
    for event in reversed(ticket.events):
        if event.kind == "classified":
            return event
    return None


def _process(session: Session, req: IntakeRequest, *, now: datetime, actor) -> IntakeResult:
    ruleset = rules.current(session)
    text = "\n".join(p for p in (req.subject, req.description) if p)
    customer = session.get(Customer, req.customer_id) if req.customer_id else None
    if req.customer_id and customer is None:
        raise ServiceError(_l("Unknown customer."), field="customer_id")
    asset = session.get(Asset, req.asset_id) if req.asset_id else None
    if req.asset_id and asset is None:
        raise ServiceError(_l("Unknown asset."), field="asset_id")
    seen = recognise.recognise(
        session, now=now, name=req.customer_name, phone=req.phone, email=req.email,
        wechat_openid=req.wechat_openid, serial_number=req.serial_number, text=text,
        customer=customer, asset=asset, language=req.language)
    reasons = list(seen.reasons)

    if req.channel == "iot" and seen.asset is not None:
        # The window is between alarms, so it is measured from when the device says this one happened.
        alarm = _open_alarm(session, seen.asset.id, req.fault_code, now=req.occurred_at or now,
                            window_hours=ruleset.settings.iot_window_hours)
        if alarm is not None:
            return _repeat_alarm(session, alarm, req, now=now)
    if req.channel == "iot" and req.recovered:
        return IntakeResult("ignored", None, [{"code": "recovery_without_alarm", "fault_code": req.fault_code}])

    words = tx.words(text)
    product_line_id = seen.product_line_id or rules.product_line_in(ruleset, words)
    product_id = seen.product_id
    if product_id is None:
        for code in recognise.codes_in(text):
            if code in ruleset.product_models:
                product_id, product_line_id = ruleset.product_models[code]
                reasons.append({"code": "product_in_text", "model": code})
                break
    mood = sentiment.score(text)
    reasons.append({"code": "sentiment", "score": mood})
    customer = seen.customer
    customer_id = customer.id if customer is not None and customer.id is not None else None
    asset_id = seen.asset.id if seen.asset is not None else None
    facts = rules.Facts(
        words=words, text=tx.simplify(text), channel=req.channel, product_line_id=product_line_id,
        customer_tier=customer.tier if customer is not None else None, severity=req.severity, sentiment=mood,
        recent_reports=lambda days: dedupe.recent_reports(session, customer_id=customer_id, asset_id=asset_id,
                                                          now=now, days=days),
    )
    decision = rules.classify(ruleset, facts)
    reasons += decision.reasons

    settings = ruleset.settings
    duplicate = None
    if req.channel != "iot":  # alarms are the same when device and fault code are (above), not by wording
        duplicate, score = dedupe.find_duplicate(
            session, customer_id=customer_id, asset_id=asset_id, category_id=decision.category_id, text=text,
            now=now, window_hours=settings.dedupe_window_hours, threshold=settings.dedupe_similarity)
    if duplicate is not None:
        reasons.append({"code": "merged", "ticket": duplicate.number, "similarity": score,
                        "threshold": settings.dedupe_similarity, "window_hours": settings.dedupe_window_hours})
        return _merge_report(session, duplicate, req, customer=customer, asset=seen.asset, reasons=reasons,
                             max_kb=settings.max_attachment_kb, now=now, actor=actor)

    needs_review = decision.category_id is None or decision.confidence < settings.review_threshold
    if needs_review:
        reasons.append({"code": "review", "confidence": decision.confidence,
                        "threshold": settings.review_threshold})
    ticket = Ticket(
        channel=req.channel, external_ref=req.message_key if req.key_is_reference else None,
        subject=_subject(req, text),
        description=req.description or None, customer=customer, asset=seen.asset, product_id=product_id,
        contact_name=req.customer_name, contact_phone=normalize_phone(req.phone),
        contact_email=normalize_email(req.email), contact_address=req.address,
        category_id=decision.category_id, service_type_id=decision.service_type_id,
        priority_id=decision.priority_id, team_id=decision.team_id, tags=",".join(decision.tags) or None,
        warranty_status=seen.warranty_status, sentiment=mood, confidence=decision.confidence,
        needs_review=needs_review, report_count=1, last_reported_at=req.occurred_at or now,
        fault_code=req.fault_code,
    )
    ticket_service.register_new(session, ticket, now=now, actor=actor)
    timeline.record(session, ticket, "received", now=now, actor=actor,
                    data={"channel": req.channel, "number": ticket.number})
    # With the facts the rules read that the ticket row does not keep: the rule simulator replays the report
    # as it came in (app.services.simulate).
    timeline.record(session, ticket, "classified", now=now, data={"reasons": reasons, "facts": {
        "subject_read": bool(req.subject), "product_line_id": product_line_id,
        "customer_tier": facts.customer_tier, "severity": req.severity}})
    reasons += store_attachments(session, ticket, req.attachments, max_kb=settings.max_attachment_kb, now=now)
    assign.auto_dispatch(session, ticket, now=now)
    return IntakeResult("created", ticket, reasons)


def _subject(req: IntakeRequest, text: str) -> str:
    if req.subject:
        return req.subject
    if req.channel == "iot":
        return str(_l("Device alarm %(code)s", code=req.fault_code))
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:60] + ("…" if len(first) > 60 else "")


# --- merges, alarms, replies ------------------------------------------------------------------

def _contact(req: IntakeRequest) -> dict:
    return {"name": req.customer_name, "phone": normalize_phone(req.phone), "email": normalize_email(req.email),
            "wechat_openid": req.wechat_openid, "address": req.address}


def _merge_report(session, ticket: Ticket, req: IntakeRequest, *, customer, asset, reasons, max_kb, now, actor):
    ticket.report_count = (ticket.report_count or 1) + 1
    ticket.last_reported_at = now
    ticket.updated_at = now
    timeline.record(session, ticket, "merged_report", now=now, actor=actor, reason=req.description or req.subject,
                    data={"channel": req.channel, "message_key": req.message_key, "subject": req.subject,
                          "description": req.description, "contact": _contact(req),
                          "customer_id": customer.id if customer is not None else None,
                          "asset_id": asset.id if asset is not None else None, "reasons": reasons})
    reasons = reasons + store_attachments(session, ticket, req.attachments, max_kb=max_kb, now=now)
    return IntakeResult("merged", ticket, reasons)


def _open_alarm(session: Session, asset_id: int, fault_code: str, *, now: datetime, window_hours: int):
    return session.scalar(
        select(Ticket).where(Ticket.asset_id == asset_id, Ticket.fault_code == fault_code,
                             Ticket.status.in_(st.OPEN_STATUSES),
                             Ticket.last_reported_at >= now - timedelta(hours=window_hours))
        .order_by(Ticket.id.desc()).limit(1))


def _repeat_alarm(session: Session, ticket: Ticket, req: IntakeRequest, *, now: datetime) -> IntakeResult:
    at = req.occurred_at or now
    if req.recovered:
        timeline.record(session, ticket, "alarm_recovered", now=now,
                        data={"fault_code": req.fault_code, "at": at.isoformat()})
        ticket.updated_at = now
        return IntakeResult("alarm_recovered", ticket, [{"code": "alarm_recovered", "ticket": ticket.number}])
    # A device may repeat an alarm every minute: count it, don't flood the timeline.
    ticket.report_count = (ticket.report_count or 1) + 1
    ticket.last_reported_at = max(ticket.last_reported_at or at, at)
    return IntakeResult("alarm_repeat", ticket, [{"code": "alarm_repeat", "ticket": ticket.number,
                                                  "count": ticket.report_count}])


def add_reply(session: Session, ticket: Ticket, *, channel: str, message_key: str | None, text: str,
              sender: str | None, attachments: list[Attachment], now: datetime) -> IntakeResult:
    """A customer's answer on an existing ticket (e-mail reply): onto the timeline; a ticket that was
    waiting for the customer goes back to work."""
    now = as_utc(now)

    def reply() -> IntakeResult:
        timeline.record(session, ticket, "customer_reply", now=now, reason=text,
                        data={"channel": channel, "from": sender})
        ticket.updated_at = now
        reasons = [{"code": "threaded", "ticket": ticket.number}]
        reasons += store_attachments(session, ticket, attachments,
                                     max_kb=rules.current(session).settings.max_attachment_kb, now=now)
        if ticket.status == st.WAITING_CUSTOMER:
            ticket_service.transition(session, ticket, st.IN_PROGRESS, now=now)
        return IntakeResult("replied", ticket, reasons)

    return _once(session, channel, message_key, reply, now=now)


def record_ignored(session: Session, *, channel: str, message_key: str | None, why: str, now: datetime):
    """Remember a message that makes no ticket (auto-reply, bounce), so a retry is answered the same."""
    if message_key and _replay(session, channel, message_key) is None:
        try:
            with session.begin_nested():
                session.add(IntakeRecord(channel=channel, message_key=message_key, outcome="ignored",
                                         created_at=as_utc(now)))
        except IntegrityError:
            pass
    return IntakeResult("ignored", None, [{"code": "ignored", "why": why}])


# --- attachments ------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")


def safe_filename(name: str | None) -> str:
    name = unicodedata.normalize("NFC", os.path.basename((name or "").replace("\\", "/")))
    name = _UNSAFE.sub("_", name).strip(" .")
    return name[:200] or "attachment"


def store_attachments(session: Session, ticket: Ticket, attachments: list[Attachment], *, max_kb: int,
                      now: datetime) -> list[dict]:
    reasons = []
    for item in attachments or []:
        name = safe_filename(item.filename)
        size = len(item.content)
        if size > max_kb * 1024:
            reasons.append({"code": "attachment_too_large", "filename": name, "size_kb": -(-size // 1024),
                            "limit_kb": max_kb})
            timeline.record(session, ticket, "attachment_refused", now=now,
                            data={"filename": name, "size_kb": -(-size // 1024), "limit_kb": max_kb})
            continue
        content_type = (item.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream")[:100]
        session.add(TicketAttachment(ticket=ticket, filename=name, content_type=content_type, size=size,
                                     sha256=hashlib.sha256(item.content).hexdigest(), content=item.content,
                                     created_at=now))
        timeline.record(session, ticket, "attachment", now=now, data={"filename": name, "size": size})
    return reasons


# --- clerk actions: review, split, merge ------------------------------------------------------

def mark_reviewed(session: Session, ticket: Ticket, *, now: datetime, actor=None) -> None:
    if not ticket.needs_review:
        return
    ticket.needs_review = False
    ticket.updated_at = as_utc(now)
    timeline.record(session, ticket, "reviewed", now=as_utc(now), actor=actor)
    assign.auto_dispatch(session, ticket, now=now)


def split_report(session: Session, ticket: Ticket, event_id: int, *, now: datetime, actor=None,
                 reason: str | None = None) -> Ticket:
    """Take a report that was merged into `ticket` back out as a ticket of its own."""
    now = as_utc(now)
    event = session.get(TicketEvent, event_id)
    if event is None or event.ticket_id != ticket.id or event.kind != "merged_report":
        raise ServiceError(_l("That report is not merged into this ticket."), field="event_id")
    if any(e.kind == "split" and (e.data or {}).get("event_id") == event_id for e in ticket.events):
        raise ServiceError(_l("That report was already split out."), field="event_id")
    data = event.data or {}
    contact = data.get("contact") or {}
    channel = data.get("channel") or ticket.channel
    report = IntakeRequest(channel=channel, subject=data.get("subject"), description=data.get("description") or "")
    new = Ticket(
        channel=channel, subject=_subject(report, report.description),
        description=data.get("description"), customer_id=data.get("customer_id"), asset_id=data.get("asset_id"),
        contact_name=contact.get("name"), contact_phone=contact.get("phone"), contact_email=contact.get("email"),
        contact_address=contact.get("address"), category_id=ticket.category_id,
        service_type_id=ticket.service_type_id, priority_id=ticket.priority_id, needs_review=True,
        report_count=1, last_reported_at=event.created_at,
    )
    if new.customer_id:
        new.customer = session.get(Customer, new.customer_id)
    ticket_service.register_new(session, new, now=now, actor=actor)
    timeline.record(session, new, "split_from", now=now, actor=actor, reason=reason,
                    data={"ticket": ticket.number, "event_id": event_id})
    ticket.report_count = max(1, (ticket.report_count or 1) - 1)
    ticket.updated_at = now
    session.flush()
    timeline.record(session, ticket, "split", now=now, actor=actor, reason=reason,
                    data={"ticket": new.number, "event_id": event_id})
    return new


def merge_tickets(session: Session, source: Ticket, target: Ticket, *, now: datetime, actor=None,
                  reason: str | None = None, expected_version=None) -> None:
    """A clerk's merge: `source` is the same problem as `target`; its report goes onto `target`
    and `source` is cancelled as a duplicate."""
    now = as_utc(now)
    ticket_service.check_version(source, expected_version)
    if source.id == target.id:
        raise ServiceError(_l("A ticket cannot be merged into itself."), field="target")
    for t in (source, target):
        if t.status not in st.OPEN_STATUSES:
            raise ServiceError(_l("Ticket %(number)s is not open.", number=t.number), field="target")
    if target.duplicate_of_id is not None:
        raise ServiceError(_l("Ticket %(number)s is itself a duplicate.", number=target.number), field="target")
    target.report_count = (target.report_count or 1) + (source.report_count or 1)
    target.last_reported_at = max(filter(None, [target.last_reported_at, source.last_reported_at, now]))
    target.updated_at = now
    timeline.record(session, target, "merged_report", now=now, actor=actor, reason=source.description or source.subject,
                    data={"channel": source.channel, "subject": source.subject, "description": source.description,
                          "from_ticket": source.number,
                          "contact": {"name": source.contact_name, "phone": source.contact_phone,
                                      "email": source.contact_email, "address": source.contact_address},
                          "customer_id": source.customer_id, "asset_id": source.asset_id})
    source.duplicate_of = target
    ticket_service.transition(session, source, st.CANCELLED, now=now, actor=actor,
                              reason=reason or str(_l("Merged into %(number)s", number=target.number)))
    timeline.record(session, source, "merged_into", now=now, actor=actor, data={"ticket": target.number})
