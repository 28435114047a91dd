"""With CSRF protection on (as in production), the console's own forms carry valid tokens."""
import re

import pytest

from app.extensions import db
from app.services import status as st
from tests.conftest import PASSWORDS, make_app
from tests.helpers import new_ticket


def token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def protected_app(tmp_path_factory):
    app = make_app(tmp_path_factory, "sqlite", "csrf", WTF_CSRF_ENABLED=True)
    runner = app.test_cli_runner()
    for args in (["init"], ["demo", "seed"]):
        assert runner.invoke(args=args).exit_code == 0
    yield app
    with app.app_context():
        db.engine.dispose()


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
