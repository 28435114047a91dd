"""What notifications say: the events, the placeholders a template may use, the built-in texts in both
languages, checking a manager's template on save, and rendering one for a message.

Templates are Jinja in a sandbox ({{ number }}, {% if tracking_link %}…{% endif %}); an unknown placeholder
or a syntax error is refused on save and, should one slip through, fails that message's delivery
(retried, then dead and visible) rather than sending half a sentence.
"""
import re
from dataclasses import dataclass
from html import escape

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import NotificationTemplate

CUSTOMER, STAFF, HOOK = "customer", "staff", "hook"

EVENTS = {
    "ticket_received": (_l("Request received"), CUSTOMER),
    "ticket_assigned": (_l("Engineer assigned"), CUSTOMER),
    "engineer_on_way": (_l("Engineer on the way"), CUSTOMER),
    "waiting_parts": (_l("Waiting for parts"), CUSTOMER),
    "ticket_resolved": (_l("Resolved, please confirm"), CUSTOMER),
    "satisfaction_survey": (_l("Satisfaction survey"), CUSTOMER),
    "new_assignment": (_l("New assignment"), STAFF),
    "sla_reminder": (_l("Deadline reminder"), STAFF),
    "sla_escalation": (_l("Escalation"), STAFF),
    "assignment_chase": (_l("Assignment not accepted"), STAFF),
    "low_satisfaction": (_l("Unhappy customer"), STAFF),
    "low_stock": (_l("Low stock"), STAFF),
    "status_changed": (_l("Status changed"), HOOK),
}

CHANNELS = {
    "email": _l("E-mail"),
    "sms": _l("SMS"),
    "wechat": _l("WeChat template message"),
    "robot": _l("Group robot (WeCom / DingTalk / Feishu)"),
    "inapp": _l("In-app (the bell)"),
    "webhook": _l("Webhook (signed JSON)"),
}
CHANNEL_LABELS = {**CHANNELS, "none": _l("None")}
STATE_LABELS = {"pending": _l("Waiting to be sent"), "sent": _l("Sent"), "dead": _l("Failed, gave up"),
                "skipped": _l("Not sent")}
# Channels a manager writes text for; webhooks carry data, not prose.
TEMPLATE_CHANNELS = ("email", "sms", "wechat", "robot", "inapp")
# The channels that have a subject line (WeChat shows it as the message's first line).
WITH_SUBJECT = ("email", "wechat", "robot", "inapp")

PLACEHOLDERS = {
    "number": _l("Ticket number"),
    "subject": _l("Ticket subject"),
    "status": _l("Status"),
    "priority": _l("Priority"),
    "category": _l("Category"),
    "customer": _l("Customer name"),
    "customer_phone": _l("Customer phone"),
    "address": _l("Service address"),
    "engineer": _l("Engineer name"),
    "engineer_phone": _l("Engineer phone"),
    "team": _l("Team"),
    "deadline": _l("Deadline (local time)"),
    "tracking_link": _l("Tracking link for the customer (empty when none is configured)"),
    "ticket_link": _l("Link to the ticket in the console"),
    "detail": _l("What happened, in one sentence (reminders, escalations, status changes)"),
}
REQUIRED = ("number",)  # whoever reads a message must be able to tell which ticket it is about

SAMPLE = {
    "number": "SR20261125-000123", "subject": "热水器漏水 / water heater leaking", "status": "已派工",
    "priority": "高", "category": "故障报修", "customer": "张伟", "customer_phone": "13800138000",
    "address": "上海市浦东新区世纪大道100号", "engineer": "李师傅", "engineer_phone": "13900139000",
    "team": "浦东服务站", "deadline": "2026-11-25 18:00", "tracking_link": "https://service.example.com/t/abc",
    "ticket_link": "http://127.0.0.1:8080/ticketview/number/SR20261125-000123",
    "detail": "响应时限将于 30分钟 后到期",
}

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def event_label(code: str) -> str:
    return str(EVENTS[code][0]) if code in EVENTS else code


def audience(code: str) -> str | None:
    return EVENTS[code][1] if code in EVENTS else None


# ---------------------------------------------------------------- built-in texts (seeded, and the fallback)

def _defaults(event: str) -> tuple[str, str, str]:
    """(subject, body, short text for SMS and robots) in the current locale. Every message to a customer
    carries their tracking link (when one is configured): the page is where they answer, confirm and rate."""
    tail_track = _("{% if tracking_link %} Track it here: {{ tracking_link }}{% endif %}")
    if event == "ticket_received":
        return (_("Your service request {{ number }} has been received"),
                _("Dear {{ customer }},\n\nwe have received your request \"{{ subject }}\" and registered it as "
                  "ticket {{ number }}. We will arrange service as soon as possible.") + tail_track,
                _("Your service request has been registered as {{ number }}; we will arrange service soon.")
                + tail_track)
    if event == "ticket_assigned":
        text = _("Engineer {{ engineer }} (phone {{ engineer_phone }}) will take care of ticket {{ number }}"
                 "{% if deadline %}, expected by {{ deadline }}{% endif %}.")
        text += tail_track
        return (_("An engineer has been assigned to {{ number }}"), _("Dear {{ customer }},\n\n") + text, text)
    if event == "engineer_on_way":
        text = _("Engineer {{ engineer }} is on the way to you for ticket {{ number }}"
                 "{% if engineer_phone %}; phone {{ engineer_phone }}{% endif %}.") + tail_track
        return _("{{ engineer }} is on the way ({{ number }})"), _("Dear {{ customer }},\n\n") + text, text
    if event == "waiting_parts":
        text = _("Ticket {{ number }} is waiting for spare parts; we will continue as soon as they arrive.") + tail_track
        return _("{{ number }} is waiting for spare parts"), _("Dear {{ customer }},\n\n") + text, text
    if event == "ticket_resolved":
        text = _("Ticket {{ number }} has been resolved. Please confirm, or tell us if the problem persists"
                 "{% if tracking_link %}: {{ tracking_link }}{% endif %}.")
        return _("{{ number }} has been resolved"), _("Dear {{ customer }},\n\n") + text, text
    if event == "satisfaction_survey":
        text = _("How did we do on ticket {{ number }}? Please rate our service"
                 "{% if tracking_link %}: {{ tracking_link }}{% endif %}. Thank you!")
        return _("How was our service on {{ number }}?"), _("Dear {{ customer }},\n\n") + text, text
    if event == "new_assignment":
        return (_("New ticket {{ number }}: {{ subject }}"),
                _("You have been assigned ticket {{ number }} ({{ priority }}): {{ subject }}\n"
                  "Customer: {{ customer }} {{ customer_phone }}\nAddress: {{ address }}\n"
                  "Deadline: {{ deadline }}\n{{ ticket_link }}"),
                _("New ticket {{ number }} ({{ priority }}) for {{ engineer }}: {{ subject }}"))
    # sla_reminder, sla_escalation, assignment_chase, low_satisfaction, status_changed: the sentence says what
    # happened.
    return (_("{{ number }}: {{ detail }}"),
            _("Ticket {{ number }} ({{ priority }}): {{ subject }}\n{{ detail }}\n"
              "Engineer: {{ engineer }}\n{{ ticket_link }}"),
            _("{{ number }} ({{ priority }}): {{ detail }}"))


def default_text(event: str, channel: str, language: str) -> tuple[str | None, str]:
    with force_locale(language):
        subject, body, short = _defaults(event)
    if channel == "email":
        return subject, body
    if channel == "sms":
        return None, short
    return subject, short  # WeChat, robots, the bell: a title and one short paragraph


def default_channels(event: str) -> tuple[str, ...]:
    who = audience(event)
    if who == CUSTOMER:
        return "email", "sms", "wechat", "robot"
    if who == STAFF:
        return "email", "sms", "inapp", "robot"
    return ("robot",)


def seed_defaults(session: Session, languages=("zh", "en")) -> int:
    """Give managers every built-in text as a row to edit; existing rows are theirs and stay."""
    have = set(session.execute(select(NotificationTemplate.event, NotificationTemplate.channel,
                                      NotificationTemplate.language)).tuples())
    added = 0
    for event in EVENTS:
        for channel in default_channels(event):
            for language in languages:
                if (event, channel, language) in have:
                    continue
                subject, body = default_text(event, channel, language)
                session.add(NotificationTemplate(event=event, channel=channel, language=language,
                                                 subject=subject, body=body))
                added += 1
    return added


# ---------------------------------------------------------------- checking and rendering

@dataclass
class Problem:
    field: str
    message: str


def check(subject: str | None, body: str | None) -> list[Problem]:
    """What is wrong with a template, naming the field: syntax, unknown placeholders, a missing number."""
    problems, used = [], set()
    for field, text in (("subject", subject), ("body", body)):
        if not text:
            continue
        try:
            names = meta.find_undeclared_variables(_env.parse(text))
        except TemplateSyntaxError as exc:
            problems.append(Problem(field, _("Line %(line)s: %(error)s", line=exc.lineno, error=exc.message)))
            continue
        used |= names
        unknown = sorted(names - set(PLACEHOLDERS))
        if unknown:
            problems.append(Problem(field, _("Unknown placeholder: %(names)s. Allowed: %(allowed)s",
                                             names=", ".join(unknown), allowed=", ".join(PLACEHOLDERS))))
    if not (body or "").strip():
        problems.append(Problem("body", _("The message text is required.")))
    elif not problems and not set(REQUIRED) <= used:
        problems.append(Problem("body", _("The message must name the ticket: use {{ number }}.")))
    return problems


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str

    @property
    def html(self) -> str:
        """The e-mail's HTML part: the same words, escaped, paragraphs kept, links clickable."""
        paragraphs = []
        for block in self.text.split("\n\n"):
            lines = [_linkify(escape(line)) for line in block.split("\n")]
            paragraphs.append("<p>" + "<br>".join(lines) + "</p>")
        return ('<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
                '<body style="font-family: sans-serif; font-size: 14px; line-height: 1.6">'
                f'<h3 style="margin: 0 0 12px">{escape(self.subject)}</h3>{"".join(paragraphs)}</body></html>')


def _linkify(line: str) -> str:
    return re.sub(r"(https?://[^\s<]+)", r'<a href="\1">\1</a>', line)


def render(subject: str | None, body: str, values: dict) -> Rendered:
    """Raises jinja2 errors for a broken template; values missing from `values` render empty."""
    context = {name: _plain(values.get(name)) for name in PLACEHOLDERS}
    text = _env.from_string(body).render(context).strip()
    title = _env.from_string(subject).render(context).strip() if subject else ""
    return Rendered(title, text)


def _plain(value) -> str:
    if value is None:
        return ""
    return str(value) if not isinstance(value, Markup) else value.unescape()


def find(templates: dict, event: str, channel: str, language: str) -> tuple[str | None, str, str | None]:
    """(subject, body, WeChat template id): the manager's template, else the built-in text."""
    found = templates.get((event, channel, language))
    if found is not None:
        return found
    subject, body = default_text(event, channel, language)
    return subject, body, None
