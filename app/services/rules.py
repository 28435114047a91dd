"""Classification and priority by the rules managers edit (ClassificationRule, SynonymGroup).

The rules are compiled once and reused until a manager changes a rule, a synonym, a priority, a
product, the intake settings, the dispatch weights or the SLA policies and calendars. A change made through this process forgets the compiled rules at once;
a change made by another process (another web worker) is noticed by a one-row "stamp" query, asked at
most every STAMP_TTL_SECONDS — so a busy intake does not pay for it on every report.
"""
import re
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import case, event, func, select
from sqlalchemy.orm import Session

from app.models import (
    BusinessCalendar, CalendarDay, CalendarHours, ClassificationRule, DispatchSettings, EscalationStep,
    IntakeSettings, NotificationTemplate, NotifyEndpoint, NotifySettings, Priority, Product, ProductLine,
    ServiceType, SlaPolicy, SynonymGroup,
)
from app.models.intake import IOT_SEVERITIES
from app.services import text as tx
from app.services.notify import NotifyConfig
from app.services.notify import compile_config as compile_notify
from app.services.sla_config import SlaConfig, compile_sla

_SPLIT = re.compile(r"[,，、;；\n\r]+")


def split_list(value: str | None) -> list[str]:
    return [w.strip() for w in _SPLIT.split(value or "") if w.strip()]


@dataclass(frozen=True)
class Keyword:
    label: str  # as the manager wrote it
    variants: tuple[tuple[str, ...], ...]  # the word sequences of it and its synonyms

    # Most variants are one word: a set answers for all of them at once (the rule simulator classifies
    # thousands of reports in one request).
    @cached_property
    def single_words(self) -> frozenset:
        return frozenset(v[0] for v in self.variants if len(v) == 1)

    @cached_property
    def phrases(self) -> tuple[tuple[str, ...], ...]:
        return tuple(v for v in self.variants if len(v) > 1)


@dataclass
class CompiledRule:
    id: int
    name: str
    stop: bool
    keywords: list[Keyword]
    all_keywords: bool
    pattern: re.Pattern | None
    channels: frozenset
    product_line_id: int | None
    customer_tier: str | None
    min_severity: int | None
    max_sentiment: float | None
    repeat_within_days: int | None
    category_id: int | None
    service_type_id: int | None
    priority_id: int | None
    raise_priority: int
    team_id: int | None
    tags: list[str]
    confidence: float
    position: int = 100  # rules run in (position, id) order


@dataclass
class Settings:
    review_threshold: float = 0.6
    default_priority_id: int | None = None
    dedupe_window_hours: int = 24
    dedupe_similarity: int = 60
    iot_window_hours: int = 24
    max_attachment_kb: int = 10240


@dataclass(frozen=True)
class DispatchWeights:
    """配置 → 派单设置, as read when the configuration was compiled."""
    auto_dispatch: bool = True
    weight_load: float = 0.35
    weight_distance: float = 0.30
    weight_parts: float = 0.20
    weight_previous: float = 0.15
    distance_half_km: float = 10.0
    location_fresh_hours: int = 4
    candidates_shown: int = 3
    accept_remind_minutes: int = 15
    accept_redispatch_minutes: int = 30


@dataclass
class Ruleset:
    stamp: tuple
    rules: list[CompiledRule]
    settings: Settings
    priorities: list[tuple[int, str, int]]  # (id, code, rank), most urgent first
    product_lines: list[tuple[int, Keyword]]
    product_models: dict[str, tuple[int, int]]  # model (upper) -> (product id, product line id)
    dispatch: DispatchWeights = field(default_factory=DispatchWeights)
    sla: SlaConfig = field(default_factory=SlaConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)

    def priority_code(self, priority_id):
        return next((code for pid, code, _ in self.priorities if pid == priority_id), None)

    def raised(self, priority_id, levels: int):
        """The priority `levels` steps more urgent (never past the most urgent)."""
        ids = [pid for pid, _, _ in self.priorities]
        if priority_id not in ids:
            return priority_id
        return ids[max(0, ids.index(priority_id) - levels)]


@dataclass
class Facts:
    """What the rules look at."""

    words: tuple[str, ...]
    text: str  # simplified
    channel: str
    product_line_id: int | None = None
    customer_tier: str | None = None
    severity: str | None = None
    sentiment: float = 0.0
    recent_reports: callable = None  # days -> number of earlier reports by the customer or device


@dataclass
class Decision:
    category_id: int | None = None
    service_type_id: int | None = None
    priority_id: int | None = None
    team_id: int | None = None
    tags: list[str] = field(default_factory=list)
    confidence: float = 0.0
    reasons: list[dict] = field(default_factory=list)


STAMP_TTL_SECONDS = 2.0
_SLA_MODELS = (BusinessCalendar, CalendarHours, CalendarDay, SlaPolicy, EscalationStep)
_NOTIFY_MODELS = (NotifyEndpoint, NotifySettings, NotificationTemplate)
_CONFIG_MODELS = (ClassificationRule, SynonymGroup, Priority, Product, ProductLine, IntakeSettings, DispatchSettings,
                  ServiceType, *_SLA_MODELS, *_NOTIFY_MODELS)
_cache: dict = {}  # database URL -> (Ruleset, monotonic time its stamp was last confirmed)
_cache_lock = threading.Lock()


def forget() -> None:
    """Drop the compiled rules: the next report rebuilds them (a change made outside this process's ORM)."""
    with _cache_lock:
        _cache.clear()


@event.listens_for(Session, "after_flush")
def _forget_on_config_change(session, flush_context):
    if any(isinstance(obj, _CONFIG_MODELS) for obj in (*session.new, *session.dirty, *session.deleted)):
        forget()


def _stamp(session: Session) -> tuple:
    row = session.execute(select(
        select(func.count(ClassificationRule.id)).scalar_subquery(),
        select(func.max(ClassificationRule.updated_at)).scalar_subquery(),
        select(func.count(SynonymGroup.id)).scalar_subquery(),
        select(func.max(SynonymGroup.updated_at)).scalar_subquery(),
        select(func.coalesce(func.sum(Priority.rank * Priority.id), 0)).scalar_subquery(),
        select(func.count(Product.id)).scalar_subquery(),
        select(func.count(ProductLine.id)).scalar_subquery(),
        select(func.max(IntakeSettings.updated_at)).scalar_subquery(),
        select(func.max(DispatchSettings.updated_at)).scalar_subquery(),
        select(func.coalesce(func.sum(case((ServiceType.on_site.is_(True), ServiceType.id), else_=0)), 0))
        .scalar_subquery(),
        *[select(func.count(m.id)).scalar_subquery() for m in _SLA_MODELS],
        *[select(func.max(m.updated_at)).scalar_subquery() for m in _SLA_MODELS],
        *[select(func.count(m.id)).scalar_subquery() for m in _NOTIFY_MODELS],
        *[select(func.max(m.updated_at)).scalar_subquery() for m in _NOTIFY_MODELS],
    )).one()
    return tuple(str(v) for v in row)


def current(session: Session) -> Ruleset:
    """The compiled rules, rebuilt when the configuration changed."""
    key = session.get_bind().url  # an immutable, hashable URL: no need to render it on every report
    cached, confirmed_at = _cache.get(key, (None, 0.0))
    now = time.monotonic()
    if cached is not None and now - confirmed_at < STAMP_TTL_SECONDS:
        return cached
    stamp = _stamp(session)
    ruleset = cached if cached is not None and cached.stamp == stamp else _compile(session, stamp)
    with _cache_lock:
        _cache[key] = (ruleset, now)
    return ruleset


def synonym_groups(session: Session) -> dict[str, list[str]]:
    """Every word of a synonym group -> the words of its group (simplified)."""
    by_word: dict[str, list[str]] = {}
    for words in session.scalars(select(SynonymGroup.words)):
        group = [tx.simplify(w) for w in split_list(words)]
        for word in group:
            by_word.setdefault(word, [])
            by_word[word] += [g for g in group if g not in by_word[word]]
    return by_word


def keyword_variants(label: str, synonyms: dict[str, list[str]]) -> list[str]:
    """The keyword as matched (simplified) and its synonyms."""
    base = tx.simplify(label)
    return [base] + [w for w in synonyms.get(base, []) if w != base]


def _keyword(label: str, synonyms: dict[str, list[str]], tokens=None) -> Keyword:
    variants = keyword_variants(label, synonyms)
    if tokens is None:  # the live rules: jieba learns their words
        tx.add_words(variants)
        tokens = tx.tokens
    return Keyword(label, tuple(tokens(v) for v in variants if tokens(v)))


def compile_rule(r: ClassificationRule, synonyms: dict[str, list[str]], *, tokens=None) -> CompiledRule | None:
    """One rule as classify() runs it; None for a pattern that does not compile. `tokens` cuts its keywords
    without teaching them to the live tokenizer (a draft in the rule simulator)."""
    try:
        pattern = re.compile(r.pattern, re.I) if r.pattern else None
    except re.error:
        return None  # the form refuses a bad pattern; an old one simply never matches
    return CompiledRule(
        id=r.id, name=r.name, stop=r.stop,
        keywords=[_keyword(k, synonyms, tokens) for k in split_list(r.keywords)],
        all_keywords=r.all_keywords, pattern=pattern,
        channels=frozenset(split_list(r.channels)), product_line_id=r.product_line_id,
        customer_tier=r.customer_tier or None,
        min_severity=IOT_SEVERITIES.index(r.min_severity) if r.min_severity in IOT_SEVERITIES else None,
        max_sentiment=r.max_sentiment, repeat_within_days=r.repeat_within_days,
        category_id=r.category_id, service_type_id=r.service_type_id, priority_id=r.priority_id,
        raise_priority=r.raise_priority or 0, team_id=r.team_id, tags=split_list(r.tags),
        confidence=r.confidence if r.confidence is not None else 0.9,
        position=r.position if r.position is not None else 100,
    )


def _compile(session: Session, stamp: tuple) -> Ruleset:
    synonyms = synonym_groups(session)
    rules = []
    for r in session.scalars(select(ClassificationRule).where(ClassificationRule.active.is_(True))
                             .order_by(ClassificationRule.position, ClassificationRule.id)):
        compiled = compile_rule(r, synonyms)
        if compiled is not None:
            rules.append(compiled)
    row = session.get(IntakeSettings, 1)
    settings = Settings() if row is None else Settings(
        review_threshold=row.review_threshold, default_priority_id=row.default_priority_id,
        dedupe_window_hours=row.dedupe_window_hours, dedupe_similarity=row.dedupe_similarity,
        iot_window_hours=row.iot_window_hours,
        max_attachment_kb=row.max_attachment_kb)
    priorities = [(p.id, p.code, p.rank) for p in session.scalars(select(Priority).order_by(Priority.rank))]
    if settings.default_priority_id is None:
        settings.default_priority_id = next((pid for pid, code, _ in priorities if code == "medium"), None)
    lines = []
    for line in session.scalars(select(ProductLine)):
        lines.append((line.id, _keyword(line.name_zh, synonyms)))
        if line.name_en:
            lines.append((line.id, _keyword(line.name_en, synonyms)))
    models = {m.upper(): (pid, lid) for pid, m, lid in session.execute(
        select(Product.id, Product.model, Product.product_line_id))}
    row = session.get(DispatchSettings, 1)
    dispatch = DispatchWeights() if row is None else DispatchWeights(**{
        name: getattr(row, name) for name in DispatchWeights.__dataclass_fields__})
    return Ruleset(stamp, rules, settings, priorities, lines, models, dispatch, compile_sla(session),
                   compile_notify(session))


def _matches(keyword: Keyword, words: tuple[str, ...]) -> bool:
    return not keyword.single_words.isdisjoint(words) or any(tx.contains_phrase(words, v) for v in keyword.phrases)


def product_line_in(ruleset: Ruleset, words: tuple[str, ...]) -> int | None:
    for line_id, keyword in ruleset.product_lines:
        if _matches(keyword, words):
            return line_id
    return None


def _evaluate(rule: CompiledRule, facts: Facts) -> tuple[bool, list[str]]:
    """Whether every condition holds, and the words that matched."""
    if rule.channels and facts.channel not in rule.channels:
        return False, []
    if rule.product_line_id and facts.product_line_id != rule.product_line_id:
        return False, []
    if rule.customer_tier and facts.customer_tier != rule.customer_tier:
        return False, []
    if rule.min_severity is not None:
        if facts.severity not in IOT_SEVERITIES or IOT_SEVERITIES.index(facts.severity) < rule.min_severity:
            return False, []
    if rule.max_sentiment is not None and facts.sentiment > rule.max_sentiment:
        return False, []
    matched = []
    if rule.keywords:
        matched = [k.label for k in rule.keywords if _matches(k, facts.words)]
        if not matched or (rule.all_keywords and len(matched) < len(rule.keywords)):
            return False, []
    if rule.pattern is not None:
        found = rule.pattern.search(facts.text)
        if not found:
            return False, []
        matched.append(found.group(0))
    if rule.repeat_within_days:
        if not facts.recent_reports or facts.recent_reports(rule.repeat_within_days) < 1:
            return False, []
    return True, matched


def classify(ruleset: Ruleset, facts: Facts) -> Decision:
    decision = Decision()
    raises = 0
    for rule in ruleset.rules:
        ok, matched = _evaluate(rule, facts)
        if not ok:
            continue
        sets = {}
        if rule.category_id and decision.category_id is None:
            decision.category_id = rule.category_id
            decision.confidence = rule.confidence
            sets["category"] = rule.category_id
        if rule.service_type_id and decision.service_type_id is None:
            decision.service_type_id = sets["service_type"] = rule.service_type_id
        if rule.priority_id and decision.priority_id is None:
            decision.priority_id = sets["priority"] = rule.priority_id
        if rule.team_id and decision.team_id is None:
            decision.team_id = sets["team"] = rule.team_id
        new_tags = [t for t in rule.tags if t not in decision.tags]
        decision.tags += new_tags
        raises += rule.raise_priority
        if sets or rule.raise_priority or new_tags:
            reason = {"code": "rule", "rule_id": rule.id, "rule": rule.name, "matched": matched,
                      "sets": sets, "raise": rule.raise_priority, "tags": new_tags}
            if rule.repeat_within_days:
                reason["repeat_days"] = rule.repeat_within_days
            if rule.max_sentiment is not None:
                reason["sentiment"] = facts.sentiment
            if "category" in sets:
                reason["confidence"] = rule.confidence
            decision.reasons.append(reason)
        if rule.stop:
            break
    if decision.priority_id is None:
        decision.priority_id = ruleset.settings.default_priority_id
        decision.reasons.append({"code": "default_priority"})
    if raises:
        before = decision.priority_id
        decision.priority_id = ruleset.raised(before, raises)
        if decision.priority_id != before:
            decision.reasons.append({"code": "raised", "levels": raises, "from": ruleset.priority_code(before),
                                     "to": ruleset.priority_code(decision.priority_id)})
    if decision.category_id is None:
        decision.reasons.append({"code": "no_category"})
    return decision
