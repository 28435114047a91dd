"""Notifications in the console: managers' templates with checks and a preview, webhooks and robots,
settings, the admins' outbox with re-send, and each staff member's bell and channel choices."""
from datetime import datetime, timedelta

from sqlalchemy import select

from app.models import Notification, NotificationTemplate, NotifyEndpoint, StaffNotifyPreference
from app.scheduler import tick
from app.services import tickets
from tests.conftest import flashes
from tests.helpers import engineer_of, new_ticket, user
from tests.notify_servers import HttpServer

DAY = datetime(2032, 5, 4, 2, 30)


def _template_form(**fields):
    return {"event": "ticket_received", "channel": "sms", "language": "en", "subject": "",
            "body": "Ticket {{ number }} received", **fields}


def test_a_manager_edits_a_template_with_checks_named_by_field(login_as, session):
    manager = login_as("manager")
    row = session.scalar(select(NotificationTemplate).filter_by(event="ticket_received", channel="sms", language="en"))
    page = manager.post(f"/notificationtemplateview/edit/{row.id}?_l_=en",
                        data=_template_form(body="Hello {{ customer_name }}, ticket {{ number }}"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Unknown placeholder: customer_name" in html
    assert "Hello {{ customer_name }}" in html  # what they typed is kept
    page = login_as("manager").post(f"/notificationtemplateview/edit/{row.id}", data=_template_form(body="您好，已受理"))
    assert "请在消息中写明工单号" in page.get_data(as_text=True)
    page = manager.post("/notificationtemplateview/add?_l_=en", data=_template_form(body="{{ number }}"))
    assert "There is already a template for this event, channel and language." in page.get_data(as_text=True)

    page = manager.post(f"/notificationtemplateview/edit/{row.id}",
                        data=_template_form(body="[Acme] Ticket {{ number }} is registered."))
    assert page.status_code == 302
    session.expire_all()
    assert session.get(NotificationTemplate, row.id).body == "[Acme] Ticket {{ number }} is registered."
    manager.post(f"/notificationtemplateview/edit/{row.id}", data=_template_form(
        body="Your service request has been registered as {{ number }}; we will arrange service soon."
             "{% if tracking_link %} Track it here: {{ tracking_link }}{% endif %}"))


def test_the_preview_shows_the_message_with_a_sample_ticket(login_as):
    manager = login_as("manager")
    answer = manager.post("/notificationtemplateview/preview", data=_template_form(
        language="zh", subject="工单 {{ number }}", body="{{ engineer }} 将于 {{ deadline }} 前上门")).get_json()
    assert answer == {"problems": [], "subject": "工单 SR20261125-000123", "text": "李师傅 将于 2026-11-25 18:00 前上门",
                      "html": answer["html"]}
    answer = manager.post("/notificationtemplateview/preview", data=_template_form(body="{% if %}")).get_json()
    assert answer["problems"][0]["field"] == "body"
    assert login_as("clerk").post("/notificationtemplateview/preview", data=_template_form()).status_code == 403


def test_a_webhook_is_subscribed_through_the_form(login_as, session):
    manager = login_as("manager")
    page = manager.post("/notifyendpointview/add?_l_=en", data={
        "name": "CRM", "kind": "webhook", "url": "not a url", "events": ["ticket_received"], "language": "zh",
        "active": "y"})
    assert page.status_code == 200 and "Invalid URL" in page.get_data(as_text=True)
    page = manager.post("/notifyendpointview/add", data={
        "name": "CRM-form", "kind": "webhook", "url": "http://crm.intranet:8000/hooks", "secret": " k3y ",
        "events": ["ticket_received", "status_changed"], "language": "zh", "active": "y"})
    assert page.status_code == 302
    endpoint = session.scalar(select(NotifyEndpoint).filter_by(name="CRM-form"))
    assert (endpoint.events, endpoint.secret) == ("ticket_received,status_changed", "k3y")
    edit = manager.get(f"/notifyendpointview/edit/{endpoint.id}").get_data(as_text=True)
    assert '<option selected value="status_changed">' in edit and '<option value="ticket_assigned">' in edit
    endpoint.active = False
    session.commit()


def test_an_admin_sees_a_failed_message_and_sends_it_again(app, login_as, session, channels):
    channels()
    with HttpServer(routes={"/erp": lambda r: (503, {"error": "maintenance"})}) as erp:
        endpoint = NotifyEndpoint(name="ERP-resend", kind="webhook", url=erp.url("/erp"), events="ticket_received")
        session.add(endpoint)
        session.commit()
        ticket = new_ticket(session, now=DAY)
        for minutes in (0, 1, 3, 7, 15, 31, 63, 127):
            tick(app, DAY + timedelta(minutes=minutes), only=("deliver_notifications",))
        row = session.scalar(select(Notification).filter_by(ticket_id=ticket.id, endpoint_id=endpoint.id))
        session.refresh(row)
        assert (row.state, row.attempts) == ("dead", 8)

        admin = login_as("admin")
        listing = admin.get("/outboxview/list/?_flt_0_state=dead&_l_=en").get_data(as_text=True)
        assert ticket.number in listing and "Failed, gave up" in listing and "HTTP 503" in listing
        shown = admin.get(f"/outboxview/show/{row.id}?_l_=en").get_data(as_text=True)
        assert shown.count("HTTP 503") >= 8  # every attempt is listed with the server's answer
        denied = login_as("manager").get("/outboxview/list/")
        assert denied.status_code == 403

        erp.routes["/erp"] = lambda r: (200, {})
        page = admin.post("/outboxview/action_post", data={"action": "resend", "rowid": [str(row.id)]})
        assert page.status_code == 302
        tick(app, datetime.utcnow(), only=("deliver_notifications",))
        session.refresh(row)
        assert (row.state, row.attempts) == ("sent", 1)
        assert len(erp.to("/erp")) == 9


def test_the_bell_counts_unread_messages_and_opening_one_marks_it_read(login_as, session):
    engineer = engineer_of(session)
    ticket = new_ticket(session, now=DAY)
    tickets.assign(session, ticket, engineer, now=DAY, actor=user(session, "clerk"))
    session.commit()
    browser = login_as("engineer")
    home = browser.get("/inboxview/list/?_l_=zh").get_data(as_text=True)
    assert 'id="notification-count"' in home
    assert f"新工单 {ticket.number}" in home
    note = session.scalar(select(Notification).filter_by(ticket_id=ticket.id, channel="inapp",
                                                         user_id=user(session, "engineer").id))
    # Nobody else can open (or mark read) it.
    other = login_as("clerk").get(f"/inboxview/open/{note.id}")
    assert other.status_code == 302
    session.refresh(note)
    assert note.read_at is None
    opened = browser.get(f"/inboxview/open/{note.id}")
    assert opened.headers["Location"].endswith(f"/ticketview/number/{ticket.number}")
    session.refresh(note)
    assert note.read_at is not None
    browser.post("/inboxview/read_all")
    assert 'id="notification-count"' not in browser.get("/inboxview/list/").get_data(as_text=True)


def test_the_bell_stops_counting_past_what_it_shows(login_as, session, monkeypatch):
    """A manager with tens of thousands of unread escalations: every page counted them all (19 ms at 38,752)."""
    import re

    from app.views import notifications

    engineer = engineer_of(session)
    for _ in range(2):
        tickets.assign(session, new_ticket(session, now=DAY), engineer, now=DAY, actor=user(session, "clerk"))
    session.commit()
    browser = login_as("engineer")
    monkeypatch.setattr(notifications, "BELL_SHOWN", 1)
    page = browser.get("/inboxview/list/").get_data(as_text=True)
    assert re.search(r'id="notification-count"[^>]*>1\+</span>', page)
    monkeypatch.setattr(notifications, "BELL_SHOWN", 99)
    browser.post("/inboxview/read_all")
    page = browser.get("/inboxview/list/").get_data(as_text=True)
    assert 'id="notification-count"' not in page and "fa-bell-o" in page


def test_staff_choose_their_channels(login_as, session):
    clerk = login_as("clerk")
    page = clerk.post("/preferenceview/form?_l_=en", data={"email": "y", "sms": "y", "phone": "", "language": "en"})
    assert "Give the mobile phone number for SMS." in page.get_data(as_text=True)
    page = clerk.post("/preferenceview/form", data={"sms": "y", "phone": "13600136000", "language": "en"})
    assert page.status_code == 302
    assert "您的通知方式已保存。" in flashes(clerk.get("/preferenceview/form").get_data(as_text=True))
    pref = session.get(StaffNotifyPreference, user(session, "clerk").id)
    session.refresh(pref)
    assert (pref.email, pref.sms, pref.phone, pref.language) == (False, True, "13600136000", "en")


def test_the_ticket_page_shows_the_clerk_what_the_customer_was_told(app, login_as, session, channels):
    from app.models import Customer

    with HttpServer() as gateway:
        channels(http=gateway)
        buyer = Customer(name="王芳", phone="13511112222", preferred_channel="sms")
        silent = Customer(name="赵磊", phone="13533334444", preferred_channel="sms", sms_opt_out=True)
        session.add_all([buyer, silent])
        ticket, quiet = new_ticket(session, customer=buyer, now=DAY), new_ticket(session, customer=silent, now=DAY)
        tick(app, DAY, only=("deliver_notifications",))
    clerk = login_as("clerk")
    page = clerk.get(f"/ticketview/show/{ticket.id}").get_data(as_text=True)
    panel = page[page.index('id="ticket-messages"'):page.index('id="ticket-timeline"')]
    assert "请求已受理" in panel and "短信" in panel and "13511112222" in panel and 'data-state="sent"' in panel
    page = clerk.get(f"/ticketview/show/{quiet.id}").get_data(as_text=True)
    panel = page[page.index('id="ticket-messages"'):page.index('id="ticket-timeline"')]
    assert "未发送" in panel and "客户已退订所有可送达的渠道" in panel


def test_the_bell_and_the_outbox_cost_the_same_queries_for_a_full_page(app, login_as, session):
    """One more message on the page must not mean more queries (no per-row loading)."""
    from app.models import Customer
    from tests.querycount import Statements, extra

    counter = Statements(app, session)

    def assign_one():  # each with its own customer: nothing on one row is already loaded for another
        ticket = new_ticket(session, now=DAY, customer=Customer(name="客户", phone="13700000000"))
        tickets.assign(session, ticket, engineer_of(session), now=DAY, actor=user(session, "clerk"))
        session.commit()

    for _ in range(5):
        assign_one()
    engineer_client, admin = login_as("engineer"), login_as("admin")
    # The newest messages first: a page of one row against a page of five different tickets' rows.
    for client, url in ((engineer_client, "/inboxview/list/?psize_InboxView="),
                        (admin, "/outboxview/list/?psize_OutboxView=")):
        first, second = counter.of(client, url + "1"), counter.of(client, url + "5")
        # Said in full when it fails: which statement a page of five ran that a page of one did not.
        assert len(first) == len(second), (url, len(first), len(second), extra(first, second), extra(second, first))
