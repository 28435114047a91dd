"""The IMAP poller against a real Dovecot on loopback: new mail becomes tickets exactly once."""
import os
import re
import shutil
import tempfile
import uuid
from datetime import timedelta
from email.message import EmailMessage

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select

from app.models import Customer, Mailbox, Ticket, TicketEvent
from app.scheduler import JOBS, run_job
from app.services import mailpoll
from tests import imap_server
from tests.conftest import IN_CI
from tests.helpers import NOW

PASSWORD = "s3cret-imap"
USERS = [f"box{i}@service.example.com" for i in range(40)]  # one fresh account per test


@pytest.fixture(scope="module")
def imap():
    if not os.path.exists(imap_server.DOVECOT):
        if IN_CI:
            pytest.fail("dovecot is missing in CI (scripts/ensure-test-packages.sh installs it)")
        pytest.skip("Debian's dovecot-imapd is not installed (run scripts/ensure-test-packages.sh as root)")
    root = tempfile.mkdtemp(prefix="sit-imap-")
    server = imap_server.start(root, {name: PASSWORD for name in USERS})
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


_free_users = iter(USERS)


@pytest.fixture
def mailbox(imap, session):
    """A fresh IMAP account and the Mailbox row pointing at it."""
    username = next(_free_users)
    box = Mailbox(name=f"售后邮箱 {uuid.uuid4().hex[:6]}", host=imap.host, port=imap.port, use_ssl=False,
                  username=username, password=PASSWORD, folder="INBOX", active=True)
    session.add(box)
    session.commit()
    yield box
    session.rollback()
    session.delete(session.get(Mailbox, box.id))
    session.commit()


class _client:
    def __init__(self, server, username):
        self.c = IMAPClient(server.host, port=server.port, ssl=False)
        self.c.login(username, PASSWORD)

    def __enter__(self):
        return self.c

    def __exit__(self, *exc):
        self.c.logout()


def mail(subject, body, *, sender=None, message_id=True, headers=None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender or f"客户 <c{uuid.uuid4().hex[:10]}@example.cn>"
    msg["To"] = "service@example.com"
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.cn>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def deliver_to(imap, box, *messages, folder="INBOX", seen=False):
    with _client(imap, box.username) as client:
        for raw in messages:
            client.append(folder, raw, flags=[b"\\Seen"] if seen else [])


def tickets_from(session, address):
    return session.scalars(select(Ticket).join(Ticket.customer).where(Customer.email == address)).all()


def poll(session, box, now=NOW):
    result = mailpoll.poll_mailbox(session, box.id, now=now)
    session.expire_all()
    return result


def test_new_mail_becomes_tickets_replies_thread_and_auto_replies_are_ignored(session, imap, mailbox):
    sender = f"c{uuid.uuid4().hex[:10]}@example.cn"
    first = mail("热水器漏水", "您好，家里的热水器从昨晚开始漏水，请尽快安排师傅上门。", sender=f"王女士 <{sender}>")
    deliver_to(imap, mailbox, first,
               mail("自动回复: 已收到", "我正在休假。", headers={"Auto-Submitted": "auto-replied"}))

    result = poll(session, mailbox)
    assert result.fetched == 2 and result.error is None, result
    [ticket] = tickets_from(session, sender)
    assert "漏水" in ticket.description and ticket.channel == "email"
    box = session.get(Mailbox, mailbox.id)
    assert box.last_uid == 2 and box.uid_validity and box.last_error is None
    assert box.last_polled_at is not None

    reply = mail(f"RE: [{ticket.number}] 热水器漏水", "师傅什么时候来？", sender=sender)
    deliver_to(imap, mailbox, reply)
    assert poll(session, mailbox, NOW + timedelta(minutes=5)).fetched == 1
    assert len(tickets_from(session, sender)) == 1
    kinds = session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)).all()
    assert "customer_reply" in kinds

    # Nothing new: nothing fetched. The mail stays on the server, still unread for the people who read it.
    assert poll(session, mailbox, NOW + timedelta(minutes=10)).fetched == 0
    with _client(imap, mailbox.username) as client:
        client.select_folder("INBOX", readonly=True)
        assert len(client.search(["ALL"])) == 3
        assert client.search(["SEEN"]) == []


def test_a_new_mailbox_takes_the_unread_mail_and_leaves_the_history(session, imap, mailbox):
    old, waiting, later = (f"c{uuid.uuid4().hex[:10]}@example.cn" for _ in range(3))
    deliver_to(imap, mailbox, mail("去年的咨询", "滤芯多久换一次？", sender=old), seen=True)
    deliver_to(imap, mailbox, mail("热水器不出热水", "洗澡时突然没有热水了。", sender=waiting))
    assert poll(session, mailbox).fetched == 1
    assert tickets_from(session, old) == [] and len(tickets_from(session, waiting)) == 1
    assert session.get(Mailbox, mailbox.id).last_uid == 2

    # From then on every new message counts, even one a person opened before the poll.
    deliver_to(imap, mailbox, mail("空调漏水", "空调内机滴水。", sender=later), seen=True)
    assert poll(session, mailbox).fetched == 1
    assert len(tickets_from(session, later)) == 1


def test_lost_progress_replays_instead_of_making_second_tickets(session, imap, mailbox):
    sender = f"c{uuid.uuid4().hex[:10]}@example.cn"
    deliver_to(imap, mailbox,
               mail("空调不制冷", "空调开了一小时还是不制冷。", sender=sender),
               mail("洗衣机不脱水", "洗衣机不脱水，显示E21。", sender=sender, message_id=False))
    assert poll(session, mailbox).fetched == 2
    before = session.scalar(select(func.count(Ticket.id)))
    assert len(tickets_from(session, sender)) == 2

    # As after a crash between taking the mail and recording the progress.
    session.get(Mailbox, mailbox.id).last_uid = 0
    session.commit()
    assert poll(session, mailbox).fetched == 2
    assert session.scalar(select(func.count(Ticket.id))) == before


def test_a_recreated_folder_is_read_from_its_start(session, imap, mailbox):
    with _client(imap, mailbox.username) as client:
        client.create_folder("售后")
    mailbox.folder = "售后"
    session.commit()
    deliver_to(imap, mailbox, mail("油烟机异响", "油烟机声音很大。"), folder="售后")
    assert poll(session, mailbox).fetched == 1
    validity = session.get(Mailbox, mailbox.id).uid_validity

    with _client(imap, mailbox.username) as client:
        client.delete_folder("售后")
        client.create_folder("售后")
    sender = f"c{uuid.uuid4().hex[:10]}@example.cn"
    deliver_to(imap, mailbox, mail("冰箱不制冷", "冰箱冷藏室不冷了。", sender=sender), folder="售后")
    assert poll(session, mailbox).fetched == 1
    box = session.get(Mailbox, mailbox.id)
    assert box.uid_validity != validity and box.last_uid == 1
    assert len(tickets_from(session, sender)) == 1


def test_a_refused_message_is_reported_and_does_not_block_the_ones_after_it(session, imap, mailbox):
    sender = f"c{uuid.uuid4().hex[:10]}@example.cn"
    deliver_to(imap, mailbox,
               mail("没有发件人", "这封信没有可用的发件地址。", sender="undisclosed-recipients:;"),
               mail("燃气灶打不着火", "燃气灶点火没反应。", sender=sender))
    result = poll(session, mailbox)
    assert result.fetched == 2
    assert len(tickets_from(session, sender)) == 1
    box = session.get(Mailbox, mailbox.id)
    assert box.last_uid == 2
    assert box.last_error.startswith("UID 1:")


def test_a_wrong_password_is_shown_on_the_mailbox_and_other_mailboxes_still_run(session, imap, mailbox, app):
    broken = Mailbox(name="密码错误的邮箱", host=imap.host, port=imap.port, use_ssl=False,
                     username=mailbox.username, password="wrong", active=True)
    session.add(broken)
    session.commit()
    sender = f"c{uuid.uuid4().hex[:10]}@example.cn"
    deliver_to(imap, mailbox, mail("热水器打不着火", "热水器点不着。", sender=sender))
    try:
        [job] = [j for j in JOBS if j.id == "poll_mailboxes"]
        assert run_job(app, job, NOW) == 1
        session.expire_all()
        assert "LoginError" in session.get(Mailbox, broken.id).last_error
        assert session.get(Mailbox, mailbox.id).last_error is None
        assert len(tickets_from(session, sender)) == 1
    finally:
        session.delete(session.get(Mailbox, broken.id))
        session.commit()


def test_an_unreachable_server_is_shown_on_the_mailbox(session, mailbox):
    mailbox.port = imap_server._free_port()  # nothing listens there
    session.commit()
    result = poll(session, mailbox)
    assert result.fetched == 0 and "ConnectionRefusedError" in result.error
    assert "ConnectionRefusedError" in session.get(Mailbox, mailbox.id).last_error


@pytest.mark.postgres_only
def test_a_mailbox_being_polled_is_skipped_by_a_second_scheduler(app, session, imap, mailbox):
    from app.extensions import db
    from sqlalchemy.orm import Session

    deliver_to(imap, mailbox, mail("电视没有声音", "电视机突然没有声音了。"))
    with Session(db.engine) as holder:
        holder.scalars(select(Mailbox).where(Mailbox.id == mailbox.id).with_for_update()).one()
        assert poll(session, mailbox).fetched == 0
    assert poll(session, mailbox).fetched == 1


def test_admin_adds_a_mailbox_tests_it_and_the_password_is_never_shown(app, imap):
    from tests.conftest import flashes, login

    username = next(_free_users)
    deliver_to(imap, type("Box", (), {"username": username}), mail("净水器漏水", "净水器下面一直滴水。"))
    admin = login(app.test_client(), "admin")
    form = {"name": "售后服务邮箱", "host": imap.host, "port": str(imap.port), "username": username,
            "folder": "INBOX", "active": "y"}
    refused = admin.post("/mailboxview/add", data=form).get_data(as_text=True)
    assert re.search(r'id="new_password".{0,300}该字段是必填字段', refused, re.S)
    assert refused.count("该字段是必填字段") == 1

    admin.post("/mailboxview/add", data={**form, "new_password": PASSWORD}, follow_redirects=True)
    with app.app_context():
        from app.extensions import db
        box = db.session.scalars(select(Mailbox).where(Mailbox.username == username)).one()
        box_id = box.id
        assert box.password == PASSWORD
    for page in (f"/mailboxview/show/{box_id}", "/mailboxview/list/", f"/mailboxview/edit/{box_id}"):
        assert PASSWORD not in admin.get(page).get_data(as_text=True)

    checked = admin.post(f"/mailboxview/action/check/{box_id}", data={"action": "check"}, follow_redirects=True)
    assert "共 1 封邮件，1 封尚未收取" in flashes(checked.get_data(as_text=True))

    # Editing without typing a password keeps the one stored; another folder starts afresh.
    with app.app_context():
        from app.extensions import db
        db.session.get(Mailbox, box_id).uid_validity, db.session.get(Mailbox, box_id).last_uid = 7, 9
        db.session.commit()
    admin.post(f"/mailboxview/edit/{box_id}", data={**form, "folder": "Archive", "new_password": ""},
               follow_redirects=True)
    with app.app_context():
        from app.extensions import db
        box = db.session.get(Mailbox, box_id)
        assert (box.folder, box.password, box.uid_validity, box.last_uid) == ("Archive", PASSWORD, None, 0)
    admin.post(f"/mailboxview/edit/{box_id}", data={**form, "new_password": ""}, follow_redirects=True)
    admin.post(f"/mailboxview/edit/{box_id}", data={**form, "new_password": "wrong"}, follow_redirects=True)
    checked = admin.post(f"/mailboxview/action/check/{box_id}", data={"action": "check"}, follow_redirects=True)
    assert "LoginError" in flashes(checked.get_data(as_text=True))

    assert login(app.test_client(), "manager").get("/mailboxview/list/").status_code in (302, 403)
    with app.app_context():
        from app.extensions import db
        db.session.delete(db.session.get(Mailbox, box_id))
        db.session.commit()
