"""Rate limits for the portal, counted with the `limits` library (what Flask-Limiter is built on) so the
portal decides what counts: every post from an address, but only the *failed* look-ups of a ticket number.
Storage is RATELIMIT_STORAGE_URI: memory per process by default, Redis to share between web workers and
machines; while Redis does not answer they are counted in the process's memory (app.limit_storage)."""
from flask import current_app, request
from limits import parse_many

from app.limit_storage import SharedLimiter

# Which config key holds each limit.
LIMITS = {"submit": "PORTAL_SUBMIT_LIMIT", "track": "PORTAL_TRACK_LIMIT", "number": "PORTAL_NUMBER_LIMIT",
          "contact": "PORTAL_CONTACT_LIMIT", "action": "PORTAL_ACTION_LIMIT", "help": "PORTAL_HELP_LIMIT"}


class PortalLimits:
    def __init__(self, app):
        self.limiter = SharedLimiter(app.config)
        self.items = {name: parse_many(app.config[key]) for name, key in LIMITS.items()}

    def hit(self, name: str, key: str) -> bool:
        """Count one request; False when it is over any of the limits."""
        results = [self.limiter.hit(item, name, key) for item in self.items[name]]
        return all(results)

    def allows(self, name: str, key: str) -> bool:
        """Whether one more would still be allowed, without counting it."""
        return all(self.limiter.test(item, name, key) for item in self.items[name])

    def reset(self) -> None:
        self.limiter.reset()


def install(app) -> PortalLimits:
    app.extensions["portal_limits"] = PortalLimits(app)
    return app.extensions["portal_limits"]


def current() -> PortalLimits:
    return current_app.extensions["portal_limits"]


def client_address() -> str:
    """The caller's address; behind a reverse proxy, werkzeug's ProxyFix (README) makes this the real one."""
    return request.remote_addr or "unknown"
