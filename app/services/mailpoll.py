"""IMAP polling: new mail in each configured mailbox goes through the e-mail channel, exactly once.

Progress is the mailbox row's (uid_validity, last_uid), advanced in the same transaction as the tickets the
messages made, so a crash re-reads at most the batch it did not commit — and that batch replays through the
intake log (keyed by Message-ID) instead of making second tickets. Messages are read with BODY.PEEK and left
on the server untouched: the mailbox stays the customer-facing archive and a person can still read it.
"""
import logging
import ssl
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.channels import email as email_channel
from app.models import Mailbox
from app.services.errors import ServiceError
from app.timeutil import as_utc

log = logging.getLogger(__name__)

BATCH = 50  # messages per transaction: small enough that a failure re-reads little
TIMEOUT_SECONDS = 30
_NETWORK_ERRORS = (IMAPClientError, OSError)  # socket timeouts and TLS failures are OSErrors


@dataclass
class PollResult:
    fetched: int = 0
    error: str | None = None


def _connect(box: Mailbox) -> IMAPClient:
    context = ssl.create_default_context() if box.use_ssl else None
    client = IMAPClient(box.host, port=box.port, ssl=box.use_ssl, ssl_context=context, timeout=TIMEOUT_SECONDS)
    client.login(box.username, box.password)
    return client


def _new_uids(client: IMAPClient, box: Mailbox) -> list[int]:
    # "N:*" always matches the newest message even when its UID is below N, hence the filter.
    return sorted(uid for uid in client.search(["UID", f"{box.last_uid + 1}:*"]) if uid > box.last_uid)


def _take(session: Session, box: Mailbox, uid: int, raw: bytes, now: datetime) -> str | None:
    """One message through the channel inside a savepoint; returns why it was refused, if it was."""
    fallback_key = f"imap:{box.id}:{box.uid_validity}:{uid}"
    try:
        with session.begin_nested():
            email_channel.deliver(session, raw, now=now, fallback_key=fallback_key)
    except ServiceError as exc:
        return f"UID {uid}: {exc}"
    except Exception as exc:  # one unreadable message must not stop the mailbox; it stays on the server
        log.exception("mailbox %s: UID %s could not be taken", box.name, uid)
        return f"UID {uid}: {type(exc).__name__}: {exc}"
    return None


def _lock(session: Session, box_id: int) -> Mailbox | None:
    """The mailbox row, locked for this transaction; None if another scheduler process holds it."""
    return session.scalars(select(Mailbox).where(Mailbox.id == box_id, Mailbox.active)
                           .with_for_update(skip_locked=True).execution_options(populate_existing=True)).first()


def poll_mailbox(session: Session, box_id: int, *, now: datetime, max_messages: int = 500) -> PollResult:
    """Fetch what arrived since the last poll, one committed batch at a time. The row lock is taken again
    for every batch, so a second process can never read a message this one has not yet committed."""
    result = PollResult()
    box = _lock(session, box_id)
    if box is None:
        session.rollback()
        return result
    refusals: list[str] = []
    try:
        client = _connect(box)
    except _NETWORK_ERRORS as exc:
        return _failed(session, box_id, exc, now)
    try:
        info = client.select_folder(box.folder, readonly=True)
        validity = int(info[b"UIDVALIDITY"])
        high_water = None
        if box.uid_validity != validity:
            # A new mailbox, another folder, or the server renumbered it: unread mail is what nobody has
            # handled yet and becomes tickets; mail already read is history and stays out.
            box.uid_validity, box.last_uid = validity, 0
            todo = sorted(client.search(["UNSEEN"]))
            high_water = max(client.search(["ALL"]), default=0)
        else:
            todo = _new_uids(client, box)[:max_messages]
        for start in range(0, len(todo), BATCH):
            uids = todo[start:start + BATCH]
            messages = client.fetch(uids, ["BODY.PEEK[]"])
            for uid in uids:
                data = messages.get(uid)
                if data is not None:  # None: expunged between SEARCH and FETCH
                    why = _take(session, box, uid, data[b"BODY[]"], now)
                    if why:
                        log.warning("mailbox %s refused %s", box.name, why)
                        refusals.append(why)
                    result.fetched += 1
                box.last_uid = uid
            _note(box, now, refusals)
            session.commit()
            box = _lock(session, box_id)
            if box is None:
                session.rollback()
                return result
        if high_water is not None:
            box.last_uid = max(box.last_uid, high_water)
        _note(box, now, refusals)
        session.commit()
    except _NETWORK_ERRORS as exc:
        session.rollback()
        return _failed(session, box_id, exc, now, fetched=result.fetched)
    finally:
        try:
            client.logout()
        except Exception:  # the connection may already be gone; nothing to tidy up
            pass
    return result


def _note(box: Mailbox, now: datetime, refusals: list[str]) -> None:
    box.last_polled_at = as_utc(now)
    box.last_error = "\n".join(refusals[-10:]) or None


def _failed(session: Session, box_id: int, exc: Exception, now: datetime, fetched: int = 0) -> PollResult:
    message = f"{type(exc).__name__}: {exc}"[:1000]
    log.warning("mailbox %s: %s", box_id, message)
    session.execute(update(Mailbox).where(Mailbox.id == box_id)
                    .values(last_polled_at=as_utc(now), last_error=message))
    session.commit()
    return PollResult(fetched=fetched, error=message)


def check_connection(box: Mailbox) -> dict:
    """What an admin wants to know after typing the settings: can we log in, and what waits there."""
    try:
        client = _connect(box)
        try:
            info = client.select_folder(box.folder, readonly=True)
            first = box.uid_validity != int(info[b"UIDVALIDITY"])
            waiting = len(client.search(["UNSEEN"]) if first else _new_uids(client, box))
        finally:
            client.logout()
    except _NETWORK_ERRORS as exc:
        raise ServiceError(_l("Could not read %(folder)s on %(host)s: %(error)s", folder=box.folder, host=box.host,
                              error=f"{type(exc).__name__}: {exc}"), field="host") from exc
    return {"messages": int(info[b"EXISTS"]), "waiting": waiting}


def poll_all(session: Session, *, now: datetime) -> int:
    """The scheduler job: every active mailbox in turn."""
    ids = session.scalars(select(Mailbox.id).where(Mailbox.active).order_by(Mailbox.id)).all()
    session.rollback()
    return sum(poll_mailbox(session, box_id, now=now).fetched for box_id in ids)
