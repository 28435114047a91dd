"""With CSRF protection on (as in production), the console's own forms carry valid tokens."""
import re

from app.extensions import db
from app.services import status as st
from tests.conftest import PASSWORDS, csrf_token_of as token
from tests.helpers import new_ticket


def test_ticket_page_forms_work_with_csrf_and_forged_posts_are_refused(protected_app):
    client = protected_app.test_client()
    login_page = client.get("/login/").get_data(as_text=True)
    client.post("/login/", data={"username": "clerk", "password": PASSWORDS["clerk"], "csrf_token": token(login_page)})
    with protected_app.app_context():
        ticket = new_ticket(db.session)
        ticket_id, version = ticket.id, ticket.version

    forged = client.post(f"/ticketview/transition/{ticket_id}", data={"to_status": st.RESOLVED})
    assert forged.status_code == 400

    page = client.get(f"/ticketview/show/{ticket_id}").get_data(as_text=True)
    client.post(f"/ticketview/transition/{ticket_id}", data={
        "to_status": st.RESOLVED, "expected_version": version, "csrf_token": token(page)})
    with protected_app.app_context():
        from app.models import Ticket

        assert db.session.get(Ticket, ticket_id).status == st.RESOLVED


def test_the_portal_forms_carry_their_token_and_a_forged_submit_makes_nothing(protected_app):
    from sqlalchemy import func, select

    from app.models import Ticket

    client = protected_app.test_client()
    form = {"name": "赵敏", "phone": "13755557777", "description": "空调不制冷，开机十分钟还是热风"}
    with protected_app.app_context():
        before = db.session.scalar(select(func.count(Ticket.id)))
    assert client.post("/portal/submit", data=form).status_code == 400
    with protected_app.app_context():
        assert db.session.scalar(select(func.count(Ticket.id))) == before

    page = client.get("/portal/submit").get_data(as_text=True)
    key = re.search(r'name="form_key"[^>]*value="([^"]+)"', page).group(1)
    sent = client.post("/portal/submit", data={**form, "csrf_token": token(page), "form_key": key})
    assert sent.status_code == 303
    # The ticket page's own forms carry a token too.
    ticket_page = client.get(sent.headers["Location"]).get_data(as_text=True)
    reply = client.post(sent.headers["Location"] + "/reply", data={
        "text": "补充：型号 KFR-35GW", "form_key": "r", "csrf_token": token(ticket_page)})
    assert reply.status_code == 303


def test_a_portal_page_left_open_too_long_is_shown_again_with_what_was_typed(protected_app):
    """An expired token (the form was opened yesterday, or before a restart) is not Flask-WTF's bare English
    400: the customer sees their own words again, told why in their language, and sending again works."""
    from sqlalchemy import func, select

    from app.models import Ticket

    client = protected_app.test_client()
    page = client.get("/portal/submit").get_data(as_text=True)
    key = re.search(r'name="form_key"[^>]*value="([^"]+)"', page).group(1)
    form = {"name": "赵敏", "phone": "13755557778", "description": "洗碗机E4报警，底部积水", "form_key": key}
    with protected_app.app_context():
        before = db.session.scalar(select(func.count(Ticket.id)))
    stale = client.post("/portal/submit", data={**form, "csrf_token": "IjE2YjY0ZjA.expired.token"})
    html = stale.get_data(as_text=True)
    assert stale.status_code == 400
    assert "此页面打开时间过长，未能提交" in html and "洗碗机E4报警，底部积水" in html and "13755557778" in html
    assert "CSRF" not in html
    with protected_app.app_context():
        assert db.session.scalar(select(func.count(Ticket.id))) == before
    again = client.post("/portal/submit", data={**form, "csrf_token": token(html)})
    assert again.status_code == 303

    english = client.post("/portal/track?_l_=en", data={"number": "SR1", "contact": "13755557778"},
                          headers={"Accept-Language": "en"})
    assert english.status_code == 400 and "open for a long time" in english.get_data(as_text=True)
