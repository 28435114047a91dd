"""The password policy (README "Security"): what a new password must be, wherever it is set — the console's
user and password forms (FAB_PASSWORD_COMPLEXITY_VALIDATOR), ADMIN_PASSWORD at `init`, generated ones."""
import math
import secrets

from flask_babel import gettext as _

MIN_LENGTH = 10
# Shorter login names (two-letter pinyin initials) would forbid too many harmless passwords.
NAME_CHECK_FROM = 3


def problems(password: str | None, username: str | None = None, *, min_length: int = MIN_LENGTH) -> list[str]:
    """What is wrong with this password, one translated sentence each; empty when it is acceptable."""
    password = password or ""
    found = []
    if len(password) < min_length:
        found.append(_("A password needs at least %(count)s characters.", count=min_length))
    if not (any(c.isalpha() for c in password) and any(c.isdigit() for c in password)):
        found.append(_("A password needs both letters and digits."))
    name = (username or "").strip().casefold()
    if len(name) >= NAME_CHECK_FROM and name in password.casefold():
        found.append(_("A password must not contain the login name."))
    return found


def generate(username: str | None = None, *, min_length: int = MIN_LENGTH) -> str:
    """A random password the policy accepts (URL-safe characters, at least 16 of them)."""
    length = max(16, min_length)
    while True:
        candidate = secrets.token_urlsafe(math.ceil(length * 3 / 4))[:length]
        if not problems(candidate, username, min_length=min_length):
            return candidate
