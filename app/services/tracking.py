"""Signed tracking links: a link in a notification opens the customer's ticket without asking for the phone
number again. It names the ticket, carries the time it was signed, and is checked with the app's secret
key: it cannot be forged or pointed at another ticket, and it expires (PORTAL_LINK_DAYS)."""
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "portal-ticket-link"


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def sign(ticket_id: int, secret: str) -> str:
    return _serializer(secret).dumps(int(ticket_id))


class LinkExpired(Exception):
    pass


class LinkInvalid(Exception):
    pass


def verify(token: str, secret: str, *, max_age_days: int) -> int:
    """The ticket id the link was made for; LinkExpired or LinkInvalid otherwise."""
    try:
        value = _serializer(secret).loads(token, max_age=max_age_days * 86400)
    except SignatureExpired:
        raise LinkExpired() from None
    except BadSignature:
        raise LinkInvalid() from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise LinkInvalid()
    return value
