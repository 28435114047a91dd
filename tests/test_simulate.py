"""The rule simulator (规则试算): a draft classification rule or draft dispatch weights replayed over the last
N days, before saving — which tickets would change, from what to what, and that nothing is written.

Service tests use a window of time of their own (years ahead, where no other test puts tickets) so the counts
are exact; the console tests run on the real clock (the console previews up to now) and look for their own
tickets by a word no other test uses.
"""
import random
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

import jieba
import pytest
from sqlalchemy import func, select

from app.models import (
    Category, ClassificationRule, DispatchSettings, IntakeRecord, Priority, Ticket, TicketEvent,
)
from app.services import intake as intake_service
from app.services import assign, rules, simulate, tickets
from app.services import text as tx
from app.services.intake import IntakeRequest
from app.timeutil import utcnow
from tests.conftest import PASSWORDS, csrf_token_of as token, login
from tests.dispatch_world import World
from tests.helpers import NOW, user

_rng = random.Random()


def fresh_phone() -> str:
    return f"1{_rng.choice('3578')}{_rng.randrange(10**9):09d}"


def unique_word() -> str:
    """A word no other report contains (one token for jieba: letters and digits stay together)."""
    return "zq" + uuid.uuid4().hex[:8]


def report(session, text, at, channel="app"):
    """A report through the real intake at a fixed time, from a new customer (no repeat, no merge)."""
    result = intake_service.intake(session, IntakeRequest(channel=channel, description=text, phone=fresh_phone()),
                                   now=at)
    session.commit()
    return result.ticket


def by_code(session, model, code):
    return session.scalar(select(model).where(model.code == code))


def draft(**fields) -> ClassificationRule:
    values = dict(name="试算规则", position=5, active=True, stop=False, all_keywords=False, raise_priority=0,
                  confidence=0.9)
    values.update(fields)
    return ClassificationRule(**values)


def copy_of(rule: ClassificationRule, **changes) -> ClassificationRule:
    """A rule's form as it stands, changed: what the edit form posts."""
    values = {c.key: getattr(rule, c.key) for c in ClassificationRule.__table__.columns if c.key not in ("id", "code")}
    values.update(changes)
    return ClassificationRule(**values)


def changed(preview):
    return {c.ticket_id: c.fields for c in preview.changes}


def counts(session):
    return tuple(session.scalar(select(func.count()).select_from(m))
                 for m in (Ticket, TicketEvent, ClassificationRule, IntakeRecord))


# --- classification rules (service) -------------------------------------------------------------

def test_a_draft_rule_lists_exactly_the_tickets_it_would_change_from_what_to_what(session):
    word, now = unique_word(), datetime(2035, 3, 1, 4, 0)
    fault, urgent, medium = (by_code(session, Category, "fault"), by_code(session, Priority, "urgent"),
                             by_code(session, Priority, "medium"))
    hits = [report(session, f"空调屏幕上出现{word}提示，师傅来看看", now - timedelta(days=d)) for d in (1, 2, 10)]
    report(session, f"空调屏幕上出现{word}提示", now - timedelta(days=40))  # before the period
    report(session, "空调的遥控器电池没电了", now - timedelta(hours=5))  # in the period, no word
    rule = draft(keywords=word, category_id=fault.id, priority_id=urgent.id, tags="试算")

    month = simulate.preview_rules(session, rule, days=30, now=now)
    assert (month.in_period, month.replayed, month.not_by_rules, month.capped) == (4, 4, 0, False)
    # Today the rules cannot place these reports (no category → review, default priority); the draft can.
    assert changed(month) == {t.id: {"category": (None, fault.id), "priority": (medium.id, urgent.id),
                                     "review": (True, False)} for t in hits}
    assert (month.changed_tickets, month.changed["category"], month.changed["priority"]) == (3, 3, 3)
    assert (month.changed["service_type"], month.changed["team"]) == (0, 0)
    assert [c.number for c in month.changes] == [t.number for t in hits]  # newest first

    week = simulate.preview_rules(session, rule, days=7, now=now)
    assert (week.in_period, set(changed(week))) == (3, {hits[0].id, hits[1].id})


def test_the_replay_reads_the_report_as_it_came_in_not_the_ticket_as_clerks_left_it(session):
    word, now = unique_word(), datetime(2035, 4, 1, 4, 0)
    fault, urgent = by_code(session, Category, "fault"), by_code(session, Priority, "urgent")
    ticket = report(session, f"油烟机{word}闪烁", now - timedelta(days=2))
    # A clerk rewrote the description (the word is gone) and set what the draft would set.
    tickets.edit_ticket(session, ticket, {"description": "油烟机指示灯闪烁", "category": fault, "priority": urgent},
                        now=now - timedelta(days=1), actor=user(session, "clerk"))
    session.commit()
    typed_in, _ = tickets.create_ticket(session, channel="phone", subject=f"油烟机{word}闪烁", now=now - timedelta(days=1),
                                        actor=user(session, "clerk"))
    session.commit()

    preview = simulate.preview_rules(session, draft(keywords=word, category_id=fault.id, priority_id=urgent.id),
                                     days=7, now=now)
    # Still listed: the comparison is between the rules in force and the draft on the same report.
    assert set(changed(preview)) == {ticket.id}
    # The clerk's ticket was never classified by the rules: counted, not replayed.
    assert (preview.in_period, preview.not_by_rules, preview.replayed) == (2, 1, 1)


def test_editing_a_rule_replaces_it_in_its_place_and_an_unchanged_draft_changes_nothing(session):
    word, now = unique_word(), datetime(2035, 5, 1, 4, 0)
    installation = session.scalar(select(ClassificationRule).where(ClassificationRule.code == "installation"))
    high, medium = by_code(session, Priority, "high"), by_code(session, Priority, "medium")
    ticket = report(session, f"新买的空调想预约上门安装，型号{word}", now - timedelta(days=3))
    assert ticket.priority_id == medium.id  # the installation rule decided it

    same = simulate.preview_rules(session, copy_of(installation), days=30, now=now, replacing_id=installation.id)
    assert same.replayed == 1 and same.changed_tickets == 0 and same.changes == []

    raised = simulate.preview_rules(session, copy_of(installation, priority_id=high.id), days=30, now=now,
                                    replacing_id=installation.id)
    assert changed(raised) == {ticket.id: {"priority": (medium.id, high.id)}}

    switched_off = simulate.preview_rules(session, copy_of(installation, active=False), days=30, now=now,
                                          replacing_id=installation.id)
    assert changed(switched_off)[ticket.id]["category"][1] is None  # nothing else places it: to review
    assert changed(switched_off)[ticket.id]["review"] == (False, True)


def test_a_draft_word_jieba_does_not_know_is_matched_without_teaching_it_or_touching_the_cache(session):
    now = datetime(2035, 6, 1, 4, 0)
    word = "".join(random.sample("鳜鲥鲻鳊鲂鳙鲢鳡", 4))
    text = f"热水器{word}了好几天"
    ticket = report(session, text, now - timedelta(days=1))
    urgent = by_code(session, Priority, "urgent")
    ruleset = rules.current(session)
    words_before, before = tx.words(text), counts(session)

    preview = simulate.preview_rules(session, draft(name=f"试算{word}", keywords=word, priority_id=urgent.id),
                                     days=7, now=now)
    assert changed(preview)[ticket.id]["priority"][1] == urgent.id
    # Nothing learnt, cached or written: intake cuts and classifies the next report exactly as before.
    assert tx.words(text) == words_before and word not in tx._known_words and word not in jieba.dt.FREQ
    assert rules.current(session) is ruleset and f"试算{word}" not in [r.name for r in ruleset.rules]
    assert counts(session) == before and not (session.new or session.dirty or session.deleted)


# --- dispatch weights (service) -----------------------------------------------------------------

def test_a_draft_of_the_weights_changes_the_engineer_of_a_known_ticket(session):
    world, now = World(session), datetime(2036, 6, 1, 2, 30)
    near = world.engineer("近但忙", at=(39.9001, 116.4001))
    far = world.engineer("远但闲", at=(40.10, 116.60))
    for _ in range(4):  # near is busy with work from before the period
        earlier = now - timedelta(days=60)
        tickets.assign(session, world.ticket(now=earlier), near, now=earlier)
    known = world.ticket(now=now - timedelta(days=1))
    settings = session.get(DispatchSettings, 1)
    saved = (settings.weight_load, settings.weight_distance)
    settings.weight_load, settings.weight_distance = 1.0, 0.0  # in force: the least loaded wins
    session.commit()
    try:
        in_force = rules.current(session).dispatch
        assert (in_force.weight_load, in_force.weight_distance) == (1.0, 0.0)
        nearest = simulate.preview_dispatch(session, replace(in_force, weight_load=0.0, weight_distance=100.0),
                                            days=7, now=now)
        assert (nearest.in_period, nearest.replayed) == (1, 1)
        assert changed(nearest) == {known.id: {"assignee": (far.id, near.id)}}
        assert nearest.changed == {"assignee": 1}
        same = simulate.preview_dispatch(session, in_force, days=7, now=now)
        assert same.changes == [] and same.replayed == 1
    finally:
        settings.weight_load, settings.weight_distance = saved
        session.commit()
    assert (session.get(Ticket, known.id).assignee_id, near.open_count) == (None, 4)  # the replay assigned nobody


def test_the_simulators_one_question_per_kind_of_work_qualifies_the_same_engineers_as_dispatch(session):
    """preview_dispatch asks the database once for every team and priority and narrows in Python
    (assign.narrowed): the same engineers as dispatch's own query, team, room and exclusions included."""
    world = World(session)
    ours = world.engineer("本组")
    world.engineer("二组", team=world.other_team)
    full = world.engineer("满员", capacity=1)
    tickets.assign(session, world.ticket(), full, now=NOW)
    session.commit()
    for priority, team in (("medium", True), ("urgent", True), ("medium", world.other_team), ("low", None)):
        need = assign.requirements(session, world.ticket(priority=priority, team=team))
        wide = assign.eligible(session, {**need, "team_id": None, "priority_overflow": 100}, now=NOW, exclude=set())
        for exclude in (set(), {ours.id}):
            direct = assign.eligible(session, need, now=NOW, exclude=exclude)
            assert direct or exclude, (priority, team)  # someone qualifies: the comparison says something
            assert sorted((e.id, r) for e, r in assign.narrowed(wide, need, exclude)) == sorted(
                (e.id, r) for e, r in direct)
    session.rollback()


# --- the console ----------------------------------------------------------------------------------

def _rule_form(**fields) -> dict:
    # as a browser posts it: the two choice lists send their empty choice
    form = {"name": "试算规则", "position": "5", "active": "y", "confidence": "0.9", "raise_priority": "0",
            "customer_tier": "", "min_severity": "", "preview_days": "7", "_preview": "1"}
    form.update(fields)
    return form


def test_a_manager_previews_a_new_rule_on_its_form_and_nothing_is_saved(app, session):
    word = unique_word()
    ticket = report(session, f"洗碗机面板显示{word}", utcnow() - timedelta(hours=3))
    fault, urgent = by_code(session, Category, "fault"), by_code(session, Priority, "urgent")
    manager = login(app.test_client(), "manager")
    form_page = manager.get("/classificationruleview/add").get_data(as_text=True)
    assert 'formaction="/classificationruleview/preview/"' in form_page and 'name="preview_days"' in form_page
    ruleset, before = rules.current(session), counts(session)

    response = manager.post("/classificationruleview/preview/", data=_rule_form(
        name=f"试算{word}", keywords=word, category=str(fault.id), priority=str(urgent.id)))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="simulation"' in page
    row = page[page.index(f'data-ticket="{ticket.number}"'):]
    row = row[:row.index("</tr>")]
    assert f'/ticketview/show/{ticket.id}"' in row and "故障" in row and "紧急" in row and "→" in row
    assert f'value="试算{word}"' in page  # the form keeps the draft, ready to save or adjust
    assert counts(session) == before
    assert session.scalar(select(func.count()).select_from(ClassificationRule)
                          .where(ClassificationRule.name == f"试算{word}")) == 0
    assert rules.current(session) is ruleset and not (session.new or session.dirty)


def test_a_draft_with_a_bad_pattern_is_a_form_error_not_a_preview(app):
    manager = login(app.test_client(), "manager")
    response = manager.post("/classificationruleview/preview/", data=_rule_form(pattern="(unclosed"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "不是有效的正则表达式" in page and 'id="simulation"' not in page


def test_a_manager_previews_an_edit_of_a_shipped_rule(app, session):
    word = unique_word()
    ticket = report(session, f"净水器滤芯{word}该换了吗", utcnow() - timedelta(hours=2))
    parts = session.scalar(select(ClassificationRule).where(ClassificationRule.code == "parts"))
    high = by_code(session, Priority, "high")
    assert ticket.priority.code == "low"
    manager = login(app.test_client(), "manager")
    form = _rule_form(name=parts.name, position=str(parts.position), keywords=parts.keywords,
                      category=str(parts.category_id), service_type=str(parts.service_type_id),
                      priority=str(high.id), confidence=str(parts.confidence))
    page = manager.post(f"/classificationruleview/preview/{parts.id}", data=form).get_data(as_text=True)
    assert f'data-ticket="{ticket.number}"' in page
    assert f'action="/classificationruleview/edit/{parts.id}"' in page  # Save still saves this rule
    session.refresh(parts)
    assert parts.priority.code == "low"


def test_a_manager_previews_dispatch_weights_and_a_bad_weight_is_a_form_error(app, session):
    manager = login(app.test_client(), "manager")
    row = session.get(DispatchSettings, 1)
    form = {name: str(getattr(row, name)) for name in rules.DispatchWeights.__dataclass_fields__}
    form.update(auto_dispatch="y", weight_distance="0", preview_days="30", _preview="1")
    assert 'formaction="/dispatchsettingsview/preview/1"' in manager.get("/dispatchsettingsview/edit/1").get_data(
        as_text=True)
    page = manager.post("/dispatchsettingsview/preview/1", data=form).get_data(as_text=True)
    assert 'id="simulation"' in page and 'data-field="assignee"' in page
    session.refresh(row)
    assert row.weight_distance > 0  # not saved
    bad = manager.post("/dispatchsettingsview/preview/1", data={**form, "weight_load": "-1"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "数值大小必须介于 0 到 100 之间" in text and 'id="simulation"' not in text


@pytest.mark.parametrize("username", ["clerk", "engineer"])
def test_previewing_is_for_those_who_may_edit_the_rules(app, username):
    client = login(app.test_client(), username)
    assert client.post("/classificationruleview/preview/", data=_rule_form(keywords="漏水")).status_code == 403
    assert client.post("/classificationruleview/preview/1", data=_rule_form(keywords="漏水")).status_code == 403
    assert client.post("/dispatchsettingsview/preview/1", data={"weight_load": "1"}).status_code == 403


def test_the_preview_button_sends_the_forms_token_and_a_forged_preview_is_refused(protected_app):

    client = protected_app.test_client()
    client.post("/login/", data={"username": "manager", "password": PASSWORDS["manager"],
                                 "csrf_token": token(client.get("/login/").get_data(as_text=True))})
    form = _rule_form(keywords="漏水")
    assert client.post("/classificationruleview/preview/", data=form).status_code == 400
    page = client.get("/classificationruleview/add").get_data(as_text=True)
    answer = client.post("/classificationruleview/preview/", data={**form, "csrf_token": token(page)})
    assert answer.status_code == 200 and 'id="simulation"' in answer.get_data(as_text=True)
