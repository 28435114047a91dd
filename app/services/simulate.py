"""Rule simulator (规则试算): what a draft classification rule, or a draft of the dispatch weights, would have
decided for the tickets of the last N days — before anyone saves it.

Both previews compare the draft with the configuration in force *replayed on the same facts*, not with what
the tickets hold today: clerks may have corrected a category or reassigned a ticket since, and that is not
what the draft changes. Nothing is written: the replay only reads (under `no_autoflush`, so not even a
pending change of the caller's session is flushed), the draft is never added to a session, never enters the
compiled-rules cache, and its new keywords are cut by a private copy of jieba's dictionary
(`text.tokens_with`), so intake keeps cutting reports as before.

- Rules: tickets that intake classified (they carry its `classified` timeline event) are replayed from the
  report as it came in — subject and description before any clerk's edit, channel, sentiment, and the
  product line, customer tier and IoT severity intake recorded (for tickets from before it recorded them:
  the ticket's product, the customer's tier now, no severity). Tickets a clerk typed in or split out were
  never classified by the rules, so a rule change would not have touched them: they are counted, not
  replayed. "An earlier report within N days" counts the customer's or device's other tickets of the N days
  before each ticket, as intake did.
- Dispatch: every ticket of the period is decided again by the hard constraints and the score with the
  engineers as they are *now* (on duty, shifts, leave, load, position, stock) — the past state is not kept,
  and the present is what the next tickets will meet — once with the weights in force and once with the
  draft; a ticket changes when its top candidate differs.

Replays are bounded: the most recent RULES_CAP / DISPATCH_CAP tickets of the period (bench/simulate.py).
"""
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ClassificationRule, Customer, Product, Ticket, TicketEvent
from app.models.intake import IOT_SEVERITIES
from app.services import assign, rules
from app.services import text as tx
from app.services.rules import DispatchWeights, Ruleset
from app.timeutil import as_utc

DAY_CHOICES = (7, 30, 90)
DEFAULT_DAYS = 30
# How many of the period's most recent tickets one preview replays, so that it answers within a few seconds
# (measured with bench/simulate.py at 1M tickets; README, "Rule simulator"). Deciding a ticket's engineer
# scores every qualified engineer: it costs several times what classifying a report does.
RULES_CAP = 20000
DISPATCH_CAP = 5000
ROWS_SHOWN = 200
RULE_FIELDS = ("category", "service_type", "priority", "team", "review")
DISPATCH_FIELDS = ("assignee",)


@dataclass
class Change:
    ticket_id: int
    number: str
    subject: str
    created_at: datetime
    fields: dict  # field -> (with what is in force, with the draft); ids, None = none / the pool


@dataclass
class Preview:
    days: int
    since: datetime
    until: datetime
    fields: tuple[str, ...]
    in_period: int = 0  # tickets received in the period
    not_by_rules: int = 0  # typed in or split out by a clerk: the rules never decided them (rules only)
    replayed: int = 0
    replayed_since: datetime | None = None  # the oldest ticket replayed
    capped: bool = False  # the period held more tickets to replay than the cap: the most recent were
    changed: dict = field(default_factory=dict)  # field -> how many tickets it changes for
    changed_tickets: int = 0
    changes: list[Change] = field(default_factory=list)  # the first ROWS_SHOWN, newest first
    seconds: float = 0.0

    @property
    def rows_capped(self) -> bool:
        return self.changed_tickets > len(self.changes)

    def add(self, change: Change) -> None:
        self.changed_tickets += 1
        for name in change.fields:
            self.changed[name] += 1
        if len(self.changes) < ROWS_SHOWN:
            self.changes.append(change)


def clamp_days(days) -> int:
    try:
        days = int(days)
    except (TypeError, ValueError):
        return DEFAULT_DAYS
    return min(max(days, 1), max(DAY_CHOICES))


def _period(days, now: datetime, fields) -> Preview:
    days = clamp_days(days)
    until = as_utc(now)
    preview = Preview(days=days, since=until - timedelta(days=days), until=until, fields=fields)
    preview.changed = {name: 0 for name in fields}
    return preview


def _in_period(preview: Preview):
    return Ticket.created_at >= preview.since, Ticket.created_at < preview.until


# --- classification rules -----------------------------------------------------------------------

def with_draft(ruleset: Ruleset, draft: rules.CompiledRule | None, *, replacing_id: int | None) -> Ruleset:
    """The rules as they would run with the draft saved: it replaces the rule it edits and takes its place by
    position (a new rule comes after the rules of its position, as its id will be the highest). A draft that
    is switched off, or whose pattern does not compile, just takes the edited rule out. Never cached."""
    kept = [r for r in ruleset.rules if replacing_id is None or r.id != replacing_id]
    if draft is not None:
        kept.append(draft)
    kept.sort(key=lambda r: (r.position, r.id if r.id is not None else float("inf")))
    return replace(ruleset, stamp=("draft", *ruleset.stamp), rules=kept)


def preview_rules(session: Session, draft_rule: ClassificationRule, *, days=DEFAULT_DAYS, now: datetime,
                  replacing_id: int | None = None) -> Preview:
    """Replay the period's intake-classified tickets with the rules in force and with `draft_rule` (a transient
    ClassificationRule built from the form, never added to a session) inserted or replacing rule
    `replacing_id`; report the tickets whose category, service type, priority, team or review would change."""
    started = time.perf_counter()
    preview = _period(days, now, RULE_FIELDS)
    with session.no_autoflush:
        in_force = rules.current(session)
        synonyms = rules.synonym_groups(session)
        new_words = tx.unknown_words(v for k in rules.split_list(draft_rule.keywords)
                                     for v in rules.keyword_variants(k, synonyms))
        draft_tokens = tx.tokens_with(new_words)
        compiled = rules.compile_rule(draft_rule, synonyms, tokens=draft_tokens) if draft_rule.active else None
        if compiled is not None and replacing_id is not None:
            compiled = replace(compiled, id=replacing_id)  # ties of position go by id, as once saved
        drafted = with_draft(in_force, compiled, replacing_id=replacing_id)
        edited = next((r for r in in_force.rules if replacing_id is not None and r.id == replacing_id), None)
        changed_rules = [r for r in (edited, compiled) if r is not None]

        classified = select(TicketEvent.id).where(TicketEvent.ticket_id == Ticket.id,
                                                  TicketEvent.kind == "classified").exists()
        preview.in_period = session.scalar(select(func.count(Ticket.id)).where(*_in_period(preview)))
        replayable = session.scalar(select(func.count(Ticket.id)).where(*_in_period(preview), classified))
        preview.not_by_rules = preview.in_period - replayable
        preview.capped = replayable > RULES_CAP
        tickets = _reports(session, preview, classified)
        recent = _RecentReports(session, tickets, max([r.repeat_within_days or 0
                                                       for r in in_force.rules + drafted.rules], default=0))
        for report in tickets:
            # Only the edited rule and the draft differ between the two rule lists, and a rule that does not
            # match adds nothing: when neither can match, both answer the same — no need to cut the text. A
            # text with one of the draft's new words may be cut differently once they are learnt, so it is
            # replayed in full. (One without them is taken as cut the same: a new word only adds routes
            # through itself, and moves jieba's total word frequency by well under a tenth of a per cent.)
            if not any(_could_match(r, report, recent) for r in changed_rules) and not any(
                    w in report.text for w in new_words):
                continue
            facts = report.facts(in_force, tx.tokens, recent)
            draft_facts = facts if draft_tokens is tx.tokens else report.facts(in_force, draft_tokens, recent)
            before = _outcome(in_force, rules.classify(in_force, facts))
            after = _outcome(drafted, rules.classify(drafted, draft_facts))
            differs = {name: (before[name], after[name]) for name in RULE_FIELDS if before[name] != after[name]}
            if differs:
                preview.add(Change(report.id, report.number, report.subject, report.created_at, differs))
        preview.replayed = len(tickets)
        preview.replayed_since = tickets[-1].created_at if tickets else None
    preview.seconds = time.perf_counter() - started
    return preview


def _could_match(rule: rules.CompiledRule, report: "_Report", recent: "_RecentReports") -> bool:
    """False only when rules._evaluate(rule, facts) is surely false for this report, judged from the text
    without cutting it into words: every word of a matching phrase is a piece of the text."""
    if rule.channels and report.channel not in rule.channels:
        return False
    if rule.product_line_id and report.product_line_id and report.product_line_id != rule.product_line_id:
        return False
    if rule.customer_tier and report.customer_tier != rule.customer_tier:
        return False
    if rule.min_severity is not None and (report.severity not in IOT_SEVERITIES
                                          or IOT_SEVERITIES.index(report.severity) < rule.min_severity):
        return False
    if rule.max_sentiment is not None and report.sentiment > rule.max_sentiment:
        return False
    if rule.keywords:
        present = [any(all(word in report.text for word in variant) for variant in k.variants)
                   for k in rule.keywords]
        if not (all(present) if rule.all_keywords else any(present)):
            return False
    if rule.pattern is not None and rule.pattern.search(report.text) is None:
        return False
    return not rule.repeat_within_days or recent.count(report, rule.repeat_within_days) > 0


def _outcome(ruleset: Ruleset, decision: rules.Decision) -> dict:
    return {"category": decision.category_id, "service_type": decision.service_type_id,
            "priority": decision.priority_id, "team": decision.team_id,
            # as intake decides it: no category, or one the rules were not sure enough of
            "review": decision.category_id is None or decision.confidence < ruleset.settings.review_threshold}


@dataclass
class _Report:
    """One ticket as intake received it."""
    id: int
    number: str
    subject: str
    created_at: datetime
    text: str  # what the rules read, simplified
    channel: str
    customer_id: int | None
    asset_id: int | None
    product_line_id: int | None  # None: found in the words, if at all
    customer_tier: str | None
    severity: str | None
    sentiment: float

    def facts(self, ruleset: Ruleset, tokens, recent: "_RecentReports") -> rules.Facts:
        words = tokens(self.text)
        return rules.Facts(
            words=words, text=self.text, channel=self.channel,
            product_line_id=self.product_line_id or rules.product_line_in(ruleset, words),
            customer_tier=self.customer_tier, severity=self.severity, sentiment=self.sentiment,
            recent_reports=lambda days: recent.count(self, days))


def _reports(session: Session, preview: Preview, classified) -> list[_Report]:
    """The most recent RULES_CAP intake-classified tickets of the period, newest first, as reported."""
    facts = (select(TicketEvent.data["facts"]).where(TicketEvent.ticket_id == Ticket.id,
                                                     TicketEvent.kind == "classified")
             .order_by(TicketEvent.id).limit(1).scalar_subquery())
    rows = session.execute(
        select(Ticket.id, Ticket.number, Ticket.subject, Ticket.description, Ticket.created_at, Ticket.channel,
               Ticket.customer_id, Ticket.asset_id, Ticket.sentiment, Product.product_line_id, Customer.tier, facts)
        .outerjoin(Product, Product.id == Ticket.product_id).outerjoin(Customer, Customer.id == Ticket.customer_id)
        .where(*_in_period(preview), classified)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(RULES_CAP)).all()
    originals = _texts_before_edits(session, preview)
    reports = []
    for (ticket_id, number, subject, description, created_at, channel, customer_id, asset_id, sentiment,
         product_line_id, tier, recorded) in rows:
        edited = originals.get(ticket_id, {})
        first_subject, first_description = edited.get("subject", subject), edited.get("description", description)
        if recorded:  # intake recorded what the row does not keep
            subject_read = recorded.get("subject_read", True)
            product_line_id, tier, severity = (recorded.get("product_line_id"), recorded.get("customer_tier"),
                                               recorded.get("severity"))
        else:  # classified before intake recorded its facts: the ticket's and the customer's present values
            subject_read = channel != "iot" and first_subject != _derived_subject(first_description)
            severity = None
        text = "\n".join(p for p in (first_subject if subject_read else None, first_description) if p)
        reports.append(_Report(ticket_id, number, subject, created_at, tx.simplify(text), channel, customer_id,
                               asset_id, product_line_id, tier, severity, sentiment or 0.0))
    return reports


def _derived_subject(description: str | None) -> str:
    """The subject intake makes from the text when the report had none (intake._subject)."""
    first = next((line.strip() for line in (description or "").splitlines() if line.strip()), "")
    return first[:60] + ("…" if len(first) > 60 else "")


def _texts_before_edits(session: Session, preview: Preview) -> dict[int, dict]:
    """{ticket id: {"subject"/"description": the value before a clerk first changed it}} for the period."""
    period_ids = select(Ticket.id).where(*_in_period(preview))
    originals: dict[int, dict] = {}
    for ticket_id, changes in session.execute(
            select(TicketEvent.ticket_id, TicketEvent.data["changes"])
            .where(TicketEvent.kind == "edited", TicketEvent.ticket_id.in_(period_ids)).order_by(TicketEvent.id)):
        for name in ("subject", "description"):
            if isinstance(changes, dict) and name in changes:
                originals.setdefault(ticket_id, {}).setdefault(name, changes[name][0])
    return originals


class _RecentReports:
    """dedupe.recent_reports for every replayed ticket from one query: the other tickets of its customer or
    device created in the `days` before it (loaded only when a rule asks)."""

    def __init__(self, session: Session, reports: list[_Report], max_days: int):
        self._by = None
        self._session, self._reports, self._max_days = session, reports, max_days

    def _load(self):
        since = min(r.created_at for r in self._reports) - timedelta(days=self._max_days)
        until = max(r.created_at for r in self._reports)
        self._by = {}
        for customer_id, asset_id, created_at in self._session.execute(
                select(Ticket.customer_id, Ticket.asset_id, Ticket.created_at)
                .where(Ticket.created_at >= since, Ticket.created_at <= until)):
            for key in (("c", customer_id), ("a", asset_id), ("ca", customer_id, asset_id)):
                if None not in key[1:]:
                    self._by.setdefault(key, []).append(created_at)
        for times in self._by.values():
            times.sort()

    def _within(self, key, start, end) -> int:
        times = self._by.get(key, ())
        return bisect_right(times, end) - bisect_left(times, start)

    def count(self, report: _Report, days: int) -> int:
        if days > self._max_days or (report.customer_id is None and report.asset_id is None):
            return 0
        if self._by is None:
            self._load()
        start, end = report.created_at - timedelta(days=days), report.created_at
        c, a = report.customer_id, report.asset_id
        # the customer's tickets + the device's - those that are both, less the ticket itself (counted once)
        total = (self._within(("c", c), start, end) if c is not None else 0) \
            + (self._within(("a", a), start, end) if a is not None else 0) \
            - (self._within(("ca", c, a), start, end) if c is not None and a is not None else 0)
        return max(total - 1, 0)


# --- dispatch weights ---------------------------------------------------------------------------

def preview_dispatch(session: Session, draft_weights: DispatchWeights, *, days=DEFAULT_DAYS,
                     now: datetime) -> Preview:
    """Decide the period's tickets again with the weights in force and with `draft_weights`, engineers as they
    are at `now`; report the tickets whose best engineer (or the pool, None) differs."""
    started = time.perf_counter()
    preview = _period(days, now, DISPATCH_FIELDS)
    now = preview.until
    with session.no_autoflush:
        in_force = rules.current(session).dispatch
        # The parts of the score depend on these two settings only; the weights just add them up.
        same_parts = ((draft_weights.distance_half_km, draft_weights.location_fresh_hours)
                      == (in_force.distance_half_km, in_force.location_fresh_hours))
        preview.in_period = session.scalar(select(func.count(Ticket.id)).where(*_in_period(preview)))
        preview.capped = preview.in_period > DISPATCH_CAP
        rows = session.execute(
            select(Ticket.id, Ticket.number, Ticket.subject, Ticket.created_at).where(*_in_period(preview))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(DISPATCH_CAP)).all()
        needs = assign.requirements_of(session, [row.id for row in rows])
        widest = max((need["priority_overflow"] for need in needs.values()), default=0)
        # The hard constraints do not depend on the weights: asked once per kind of work and place, for every
        # team and priority, then narrowed once per team, priority and exclusions (assign.narrowed).
        asked: dict[tuple, list] = {}
        qualified: dict[tuple, list] = {}
        for ticket_id, number, subject, created_at in rows:
            need = needs[ticket_id]
            if need["on_site"] and not need["region_ids"]:
                continue  # waits for the address, whatever the weights
            ticket = session.get(Ticket, ticket_id) if need["has_parts"] or need["has_rejections"] else None
            exclude = assign.excluded(session, ticket) if need["has_rejections"] else set()
            kind = (need["service_type"], need["product_line"], need["on_site"], tuple(need["region_ids"]))
            shape = (*kind, need["team_id"], need["priority_overflow"], frozenset(exclude))
            if shape not in qualified:
                if kind not in asked:
                    asked[kind] = assign.eligible(session, {**need, "team_id": None, "priority_overflow": widest},
                                                  now=now, exclude=set())
                qualified[shape] = assign.narrowed(asked[kind], need, exclude)
            candidates = qualified[shape]
            if len(candidates) < 2:
                continue  # the pool, or the only one qualified, whatever the weights
            assessed, needs_parts = assign.assess(session, ticket, candidates, need, now=now, config=in_force)
            before = assign.rank(assessed, in_force, need, needs_parts=needs_parts)[0].engineer_id
            if not same_parts:
                assessed, needs_parts = assign.assess(session, ticket, candidates, need, now=now,
                                                      config=draft_weights)
            after = assign.rank(assessed, draft_weights, need, needs_parts=needs_parts)[0].engineer_id
            if before != after:
                preview.add(Change(ticket_id, number, subject, created_at, {"assignee": (before, after)}))
        preview.replayed = len(rows)
        preview.replayed_since = rows[-1].created_at if rows else None
    preview.seconds = time.perf_counter() - started
    return preview
