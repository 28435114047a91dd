"""E-mail: a raw RFC 822 message → a new ticket, a reply on an existing one, or nothing (auto-replies
and bounces). Chinese mail arrives in every legacy charset; GB2312/GBK labels are read as GB18030 (their
superset: senders routinely label GBK text as GB2312) and Big5 as Big5-HKSCS."""
import email
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.header import decode_header
from email.message import Message
from email.utils import parseaddr

from bs4 import BeautifulSoup
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import IntakeRecord, Ticket
from app.services import intake, settings
from app.services.intake import Attachment, IntakeRequest, IntakeResult

_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "euc-cn": "gb18030",
    "big5": "big5hkscs", "x-big5": "big5hkscs", "cp950": "big5hkscs",
    "unknown-8bit": "", "x-unknown": "", "us-ascii": "utf-8", "ascii": "utf-8",
}


def decode_bytes(payload: bytes, charset: str | None) -> str:
    label = (charset or "").strip().strip('"').lower()
    label = _ALIASES.get(label, label)
    for candidate in (label, "utf-8", "gb18030", "big5hkscs"):
        if not candidate:
            continue
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", errors="replace")


def decode_words(value) -> str:
    """A header with RFC 2047 encoded words (=?GB2312?B?…?=) as text."""
    if value is None:
        return ""
    parts = []
    for chunk, charset in decode_header(str(value)):
        parts.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return re.sub(r"\s+", " ", "".join(parts)).strip()


@dataclass
class Mail:
    message_id: str | None
    subject: str
    from_name: str
    from_addr: str
    text: str
    references: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    automatic: str | None = None  # "auto_reply" | "bounce"
    forwarded: bool = False


_ID = re.compile(r"<[^<>\s]+>")
_FWD = re.compile(r"^\s*(fwd?|转发|轉寄|转寄)\s*[:：]\s*", re.I)
_RE = re.compile(r"^\s*((re|aw|答复|回复|回覆)\s*[:：]\s*)+", re.I)


def _html_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head"]):
        tag.decompose()
    for tag in soup.find_all(["br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"]):
        tag.insert_before("\n")
    text = soup.get_text("")
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    return decode_bytes(payload, part.get_content_charset())


def _automatic(msg: Message, subject: str, sender: str) -> str | None:
    """RFC 3834 auto-replies, RFC 3464 delivery status notifications, and their common disguises."""
    content_type = msg.get_content_type()
    report = (msg.get_param("report-type") or "").lower() if content_type == "multipart/report" else ""
    local = sender.split("@")[0].lower()
    if report == "delivery-status" or local in ("mailer-daemon", "postmaster") or \
            re.search(r"undeliver|delivery status notification|returned mail|退信|未能送达|投递失败", subject, re.I):
        return "bounce"
    auto = (msg.get("Auto-Submitted") or "").strip().lower()
    if (auto and auto != "no") or msg.get("X-Autoreply") or msg.get("X-Autorespond") or \
            (msg.get("Precedence") or "").strip().lower() in ("bulk", "junk", "auto_reply", "list") or \
            re.search(r"^(auto(matic)? ?reply|out of (the )?office|自动回复|自動回覆)", subject, re.I):
        return "auto_reply"
    return None


def parse(raw: bytes) -> Mail:
    msg = email.message_from_bytes(raw)
    subject = decode_words(msg.get("Subject"))
    from_name, from_addr = parseaddr(decode_words(msg.get("From")))
    text_plain, text_html, attachments = None, None, []
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        disposition = (part.get_content_disposition() or "").lower()
        content_type = part.get_content_type()
        if filename or disposition == "attachment" or content_type == "message/rfc822":
            name = decode_words(filename) if filename else ("message.eml" if content_type == "message/rfc822"
                                                            else "attachment")
            payload = part.get_payload(decode=True)
            if payload is None and content_type == "message/rfc822":
                payload = b"".join(p.as_bytes() for p in part.get_payload())
            attachments.append(Attachment(name, payload or b"", content_type))
        elif content_type == "text/plain" and text_plain is None:
            text_plain = _part_text(part)
        elif content_type == "text/html" and text_html is None:
            text_html = _part_text(part)
    text = text_plain if text_plain and text_plain.strip() else _html_text(text_html or "")
    references = _ID.findall(msg.get("In-Reply-To") or "") + _ID.findall(msg.get("References") or "")
    message_id = (_ID.findall(msg.get("Message-ID") or "") or [None])[0]
    return Mail(
        message_id=message_id, subject=subject, from_name=from_name, from_addr=from_addr.lower(),
        text=text.replace("\r\n", "\n").strip(), references=list(dict.fromkeys(references)),
        attachments=attachments, automatic=_automatic(msg, subject, from_addr),
        forwarded=bool(_FWD.match(subject)),
    )


_QUOTE_HEADS = [
    re.compile(r"^-{2,}\s*(original message|原始邮件|原始郵件|原邮件)\s*-{2,}", re.I),
    re.compile(r"^on .{4,200} wrote:\s*$", re.I),
    re.compile(r"^.{0,200}(在|于|於).{2,200}写道[:：]\s*$"),
    re.compile(r"^(from|发件人|寄件者)\s*[:：].+$", re.I),
    re.compile(r"^_{10,}\s*$"),
]


def strip_quoted(text: str) -> str:
    """The new part of a reply: up to the first quote header, without '>' lines."""
    kept = []
    for line in text.splitlines():
        stripped = line.strip()
        if any(p.match(stripped) for p in _QUOTE_HEADS):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def _thread(session: Session, mail: Mail) -> Ticket | None:
    prefix = re.escape(settings.current().ticket_number_prefix)
    found = re.search(rf"{prefix}\d{{8}}-\d{{6}}", mail.subject)
    if found:
        ticket = session.scalar(select(Ticket).where(Ticket.number == found.group(0)))
        if ticket is not None:
            return ticket
    if mail.references:
        return session.scalar(
            select(Ticket).join(IntakeRecord, IntakeRecord.ticket_id == Ticket.id)
            .where(IntakeRecord.channel == "email", IntakeRecord.message_key.in_(mail.references))
            .order_by(IntakeRecord.id.desc()).limit(1))
    return None


def deliver(session: Session, raw: bytes, *, now: datetime, fallback_key: str | None = None) -> IntakeResult:
    """One raw message through intake. The caller commits. `fallback_key` stands in for a missing
    Message-ID so that a retry is still recognised."""
    mail = parse(raw)
    if not mail.message_id and fallback_key:
        mail.message_id = fallback_key
    if mail.automatic:
        return intake.record_ignored(session, channel="email", message_key=mail.message_id, why=mail.automatic,
                                     now=now)
    ticket = _thread(session, mail)
    if ticket is not None:
        return intake.add_reply(session, ticket, channel="email", message_key=mail.message_id,
                                text=strip_quoted(mail.text) or mail.text, sender=mail.from_addr,
                                attachments=mail.attachments, now=now)
    subject = _RE.sub("", _FWD.sub("", mail.subject)).strip() or None
    body = mail.text if mail.forwarded else (strip_quoted(mail.text) or mail.text)
    if not (body or subject) and not mail.attachments:
        return intake.record_ignored(session, channel="email", message_key=mail.message_id, why="empty", now=now)
    return intake.intake(session, IntakeRequest(
        channel="email", subject=subject, description=body, customer_name=mail.from_name or None,
        email=mail.from_addr or None, message_key=mail.message_id, attachments=mail.attachments,
    ), now=now)

