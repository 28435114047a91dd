"""What keeps the lists staff work from quick at a million tickets, as a clerk sees it: a status or a channel is
searched by picking it (in the reader's language) and compared for equality; the record count stops at a cap
("more than 10,000") instead of counting every row; the menu's permissions are read once per page."""
import re

import pytest

from app.services import status as st
from app.timeutil import utcnow
from app.views import datamodel
from app.services import tickets
from tests.helpers import new_ticket, user
from tests.querycount import Statements


def listed_subjects(html: str, marker: str) -> list[str]:
    return re.findall(rf"{marker}-\d", html)


@pytest.fixture
def three(session):
    """Three tickets of one marked subject: one new, one resolved on the phone, one cancelled."""
    marker = f"列表{utcnow():%H%M%S%f}"
    made = [new_ticket(session, subject=f"{marker}-{i}", now=utcnow()) for i in range(3)]
    clerk = user(session, "clerk")
    tickets.transition(session, made[1], st.RESOLVED, now=utcnow(), actor=clerk)
    tickets.transition(session, made[2], st.CANCELLED, now=utcnow(), actor=clerk, reason="客户撤销")
    session.commit()
    return marker


def test_a_status_is_picked_from_the_readers_words_and_matched_exactly(app, login_as, three):
    client = login_as("clerk")
    page = client.get(f"/ticketview/list/?_flt_2_subject={three}").get_data(as_text=True)
    # The search panel offers the statuses by name (its form travels as JSON inside the page).
    panel = re.sub(r"\\u([0-9a-f]{4})", lambda m: chr(int(m.group(1), 16)), page).replace('\\"', '"')
    assert f'<option value="{st.WAITING_CUSTOMER}">等待客户</option>' in panel
    resolved = client.get(f"/ticketview/list/?_flt_2_subject={three}&_flt_0_status={st.RESOLVED}")
    assert listed_subjects(resolved.get_data(as_text=True), three) == [f"{three}-1"]
    others = client.get(f"/ticketview/list/?_flt_2_subject={three}&_flt_1_status={st.CANCELLED}")
    assert sorted(listed_subjects(others.get_data(as_text=True), three)) == [f"{three}-0", f"{three}-1"]
    # Equality, not "starts with": part of a code finds nothing.
    part = client.get(f"/ticketview/list/?_flt_2_subject={three}&_flt_0_status=resol")
    assert listed_subjects(part.get_data(as_text=True), three) == []
    # A link saved when status had FAB's text filters (3 was "equal to") is not an error, just no filter.
    assert client.get(f"/ticketview/list/?_flt_3_status={st.NEW}").status_code == 200
    # The home page's status tiles open the list filtered by their status.
    home = client.get("/").get_data(as_text=True)
    assert f"_flt_0_status={st.NEW}" in home


def test_a_long_list_says_more_than_the_cap_and_pages_up_to_it(app, login_as, three, monkeypatch):
    monkeypatch.setattr(datamodel, "COUNT_CAP", 2)
    client = login_as("clerk")
    html = client.get(f"/ticketview/list/?_flt_2_subject={three}&psize_TicketView=1").get_data(as_text=True)
    assert re.search(r"记录数目:</strong>\s*超过 2\s*<", html), re.findall(r"记录数目:</strong>[^<]*", html)
    assert "page_TicketView=1" in html and "page_TicketView=2" not in html  # two pages of one: the cap
    assert len(listed_subjects(html, three)) == 1
    # At or under the cap the count is exact.
    exact = client.get(f"/ticketview/list/?_flt_2_subject={three}&_flt_1_status={st.CANCELLED}").get_data(as_text=True)
    assert re.search(r"记录数目:</strong>\s*2\s*<", exact)
    client.get("/lang/en")
    english = client.get(f"/ticketview/list/?_flt_2_subject={three}").get_data(as_text=True)
    assert re.search(r"Record Count:</strong>\s*more than 2\s*<", english)


def test_a_page_reads_the_menus_permissions_once(app, session, login_as):
    """FAB asked the database for each menu item it showed (about sixty queries a page for an admin)."""
    counter = Statements(app, session)
    for username in ("admin", "clerk"):
        seen = counter.of(login_as(username), "/ticketview/list/")
        asked = [s for s in seen if "ab_permission_view" in s]
        assert len(asked) == 1, (username, len(asked))


def test_a_changed_role_applies_at_the_next_request(app, session, login_as):
    """The permissions are read afresh for every request: what an admin takes away is gone at once."""
    from flask_appbuilder.security.sqla.models import PermissionView, Role

    client = login_as("warehouse")
    assert client.get("/stockview/list/").status_code == 200
    role = session.query(Role).filter_by(name="Warehouse").one()
    granted = [pv for pv in role.permissions
               if pv.view_menu.name == "Stock" and pv.permission.name == "can_list"]
    assert granted
    role.permissions = [pv for pv in role.permissions if pv not in granted]
    session.commit()
    try:
        assert client.get("/stockview/list/").status_code in (302, 403)
    finally:
        role = session.query(Role).filter_by(name="Warehouse").one()
        role.permissions = role.permissions + [session.get(PermissionView, pv.id) for pv in granted]
        session.commit()
    assert client.get("/stockview/list/").status_code == 200


@pytest.mark.parametrize("username, url", [("clerk", "/ticketview/list/?_flt_9_subject=x"),
                                           ("clerk", "/customerview/list/?_flt_9_name=x"),
                                           ("warehouse", "/stockmoveview/list/?_flt_8_part=1")])
def test_a_filter_position_the_column_does_not_have_is_left_out(app, login_as, username, url):
    """FAB looked the position up unchecked: a saved or mistyped address was a server error."""
    assert login_as(username).get(url).status_code == 200
