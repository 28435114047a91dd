"""Handing one composed message to its channel. Each sender raises SendError with what the other side said;
the delivery job records it and retries.

- E-mail: SMTP (stdlib smtplib), multipart plain text + HTML, UTF-8 subject (RFC 2047), a Message-ID
  derived from the idempotency key so a repeat is recognisably the same message.
- SMS: the company's SMS gateway over HTTP (JSON {phone, content, key}); the gateway adds the 短信签名
  and talks to the carrier or cloud provider.
- WeChat: the official account's template message API (access token cached, refreshed when rejected).
- WeCom / DingTalk / Feishu group robots: their documented webhook APIs, with DingTalk's 加签 and
  Feishu's signature when a secret is set. The robot URL is used as given, so an intranet relay works.
- Webhooks: JSON signed with HMAC-SHA256 over "<timestamp>.<body>".

apprise was considered: its robot plugins hard-code the providers' public hosts (no intranet relay, no
loopback test) and it has no per-payload signature for webhooks, so the documented HTTP APIs are used.
"""
import base64
import hashlib
import hmac
import json
import smtplib
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from urllib.parse import quote_plus

import requests

HTTP_TIMEOUT = 10


class SendError(Exception):
    pass


@dataclass(frozen=True)
class Transport:
    """The outside channels' settings (from the environment, see README)."""
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_security: str = "none"  # none | starttls | ssl
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = "service@localhost"
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = None
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"
    public_url: str = "http://127.0.0.1:8080"
    tracking_url: str | None = None  # e.g. https://service.example.com/track?no={number}
    # Where customers reach the portal (the signed tracking links point there), when not at public_url.
    portal_url: str | None = None
    secret_key: str | None = field(default=None, repr=False)  # signs the tracking links
    timeout: int = HTTP_TIMEOUT

    @property
    def channels(self) -> frozenset:
        found = set()
        if self.smtp_host:
            found.add("email")
        if self.sms_gateway_url:
            found.add("sms")
        if self.wechat_app_id and self.wechat_app_secret:
            found.add("wechat")
        return frozenset(found)

    def tracking_link(self, ticket) -> str:
        """The customer's link to the ticket: the company's own page when TRACKING_URL is set, else the
        portal's signed link (which proves ownership without the phone number)."""
        if self.tracking_url:
            return self.tracking_url.format(number=ticket.number)
        if not self.secret_key:
            return ""
        from app.services import tracking

        base = (self.portal_url or self.public_url).rstrip("/")
        return f"{base}/portal/t/{tracking.sign(ticket.id, self.secret_key)}"

    @classmethod
    def current(cls) -> "Transport":
        try:
            from flask import current_app

            config = current_app.config
        except RuntimeError:
            return cls()
        return cls.from_config(config)

    @classmethod
    def from_config(cls, config) -> "Transport":
        # Each field is the config key of the same name in capitals (SMTP_HOST…); the timeout is ours.
        names = {f: f.upper() for f in cls.__dataclass_fields__ if f != "timeout"}
        values = {f: config[key] for f, key in names.items() if config.get(key) not in (None, "")}
        if "smtp_port" in values:
            values["smtp_port"] = int(values["smtp_port"])
        return cls(**values)


@dataclass
class Outgoing:
    """A composed message, ready for its channel."""
    key: str
    channel: str
    address: str | None = None
    subject: str = ""
    text: str = ""
    html: str = ""
    link: str = ""
    wechat_template_id: str | None = None
    endpoint_kind: str | None = None
    endpoint_url: str | None = None
    endpoint_secret: str | None = None
    payload: dict = field(default_factory=dict)
    event: str = ""


def send(transport: Transport, message: Outgoing) -> None:
    sender = {"email": _email, "sms": _sms, "wechat": _wechat, "robot": _robot, "webhook": _webhook}.get(
        message.channel)
    if sender is None:
        raise SendError(f"no sender for channel {message.channel!r}")
    sender(transport, message)


# ---------------------------------------------------------------- e-mail

def message_id(key: str, mail_from: str) -> str:
    domain = parseaddr(mail_from)[1].partition("@")[2] or "localhost"
    local = "".join(c if c.isalnum() or c in ".-_" else "." for c in key)
    return f"<{local}@{domain}>"


def _email(t: Transport, m: Outgoing) -> None:
    if not t.smtp_host:
        raise SendError("SMTP is not configured (SMTP_HOST)")
    mail = EmailMessage()
    mail["Subject"] = m.subject  # non-ASCII becomes an RFC 2047 encoded word
    name, address = parseaddr(t.mail_from)
    mail["From"] = formataddr((name, address)) if name else address
    mail["To"] = m.address
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id(m.key, t.mail_from)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: vacation responders must not answer
    mail.set_content(m.text)
    mail.add_alternative(m.html, subtype="html")
    try:
        if t.smtp_security == "ssl":
            client = smtplib.SMTP_SSL(t.smtp_host, t.smtp_port, timeout=t.timeout)
        else:
            client = smtplib.SMTP(t.smtp_host, t.smtp_port, timeout=t.timeout)
        with client:
            if t.smtp_security == "starttls":
                client.starttls()
            if t.smtp_username:
                client.login(t.smtp_username, t.smtp_password or "")
            client.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"SMTP {t.smtp_host}:{t.smtp_port}: {exc}") from exc


# ---------------------------------------------------------------- HTTP channels

def _post(url: str, *, timeout: int, **kwargs) -> requests.Response:
    try:
        response = requests.post(url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        raise SendError(f"{url}: {exc.__class__.__name__}: {exc}") from exc
    if response.status_code >= 300:
        raise SendError(f"{url}: HTTP {response.status_code} {response.text[:200]}")
    return response


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError as exc:
        raise SendError(f"{response.url}: not JSON: {response.text[:200]}") from exc
    return body if isinstance(body, dict) else {}


def _sms(t: Transport, m: Outgoing) -> None:
    if not t.sms_gateway_url:
        raise SendError("the SMS gateway is not configured (SMS_GATEWAY_URL)")
    headers = {"X-Idempotency-Key": m.key}
    if t.sms_gateway_token:
        headers["Authorization"] = f"Bearer {t.sms_gateway_token}"
    _post(t.sms_gateway_url, timeout=t.timeout, headers=headers,
          json={"phone": m.address, "content": m.text, "key": m.key})


_wechat_tokens: dict = {}  # (api base, app id) -> (token, monotonic expiry)
_wechat_lock = threading.Lock()
WECHAT_TOKEN_ERRORS = {40001, 40014, 42001}  # invalid / expired access token


def _wechat_token(t: Transport, *, fresh: bool = False) -> str:
    cache_key = (t.wechat_api_base, t.wechat_app_id)
    with _wechat_lock:
        token, expires = _wechat_tokens.get(cache_key, (None, 0.0))
        if token and not fresh and time.monotonic() < expires:
            return token
        try:
            response = requests.get(f"{t.wechat_api_base}/cgi-bin/token", timeout=t.timeout, params={
                "grant_type": "client_credential", "appid": t.wechat_app_id, "secret": t.wechat_app_secret})
        except requests.RequestException as exc:
            raise SendError(f"WeChat token: {exc}") from exc
        body = _json(response)
        if not body.get("access_token"):
            raise SendError(f"WeChat token: errcode {body.get('errcode')} {body.get('errmsg')}")
        # Renewed five minutes early: WeChat honours the old token for a while, not for ever.
        _wechat_tokens[cache_key] = (body["access_token"], time.monotonic() + int(body.get("expires_in", 7200)) - 300)
        return body["access_token"]


def _wechat(t: Transport, m: Outgoing) -> None:
    if not (t.wechat_app_id and t.wechat_app_secret):
        raise SendError("the WeChat official account is not configured (WECHAT_APP_ID, WECHAT_APP_SECRET)")
    if not m.wechat_template_id:
        raise SendError("this event's WeChat template has no template id")
    payload = {"touser": m.address, "template_id": m.wechat_template_id, "data": m.payload}
    if m.link:
        payload["url"] = m.link
    for fresh in (False, True):
        token = _wechat_token(t, fresh=fresh)
        body = _json(_post(f"{t.wechat_api_base}/cgi-bin/message/template/send", timeout=t.timeout,
                           params={"access_token": token}, json=payload))
        code = body.get("errcode", 0)
        if code == 0:
            return
        if code not in WECHAT_TOKEN_ERRORS:
            break
    raise SendError(f"WeChat: errcode {body.get('errcode')} {body.get('errmsg')}")


def _sign(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


def _robot(t: Transport, m: Outgoing) -> None:
    content = f"{m.subject}\n{m.text}" if m.subject else m.text
    url, kind, secret = m.endpoint_url, m.endpoint_kind, m.endpoint_secret
    if kind == "feishu":
        payload = {"msg_type": "text", "content": {"text": content}}
        if secret:
            stamp = str(int(time.time()))
            # Feishu signs an empty message with "<timestamp>\n<secret>" as the key.
            payload |= {"timestamp": stamp, "sign": base64.b64encode(
                hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()}
        body = _json(_post(url, timeout=t.timeout, json=payload))
        code = body.get("code", body.get("StatusCode", 0))
        if code != 0:
            raise SendError(f"Feishu: code {code} {body.get('msg') or body.get('StatusMessage')}")
        return
    if kind == "dingtalk" and secret:
        stamp = str(int(time.time() * 1000))
        sign = quote_plus(_sign(secret, stamp + "\n" + secret))
        url += ("&" if "?" in url else "?") + f"timestamp={stamp}&sign={sign}"
    body = _json(_post(url, timeout=t.timeout, json={"msgtype": "text", "text": {"content": content}}))
    if body.get("errcode", 0) != 0:
        raise SendError(f"{kind}: errcode {body.get('errcode')} {body.get('errmsg')}")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What a receiver recomputes to trust a webhook: hex HMAC-SHA256 of "<timestamp>." + body."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _webhook(t: Transport, m: Outgoing) -> None:
    body = json.dumps(m.payload, ensure_ascii=False, separators=(",", ":")).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Service-Event": m.event,
               "X-Idempotency-Key": m.key, "X-Service-Timestamp": stamp}
    if m.endpoint_secret:
        headers["X-Service-Signature"] = "sha256=" + signature(m.endpoint_secret, stamp, body)
    _post(m.endpoint_url, timeout=t.timeout, data=body, headers=headers)
