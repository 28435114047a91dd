"""Where the rate limits are counted — the login limit (FAB's Flask-Limiter, AUTH_RATE_LIMIT) and the portal's
(app.portal.ratelimit) — and what happens when that storage is mistyped or down.

RATELIMIT_STORAGE_URI is memory:// (each process counts alone) or redis://host:6379/0 (every worker on every
machine counts together). A storage that cannot be used must not take the site with it, nor let a guesser
through:

- at start-up the URI is tried once. One that cannot be used at all (an unknown scheme, a port that is not a
  number, the client library missing) is replaced by memory:// and said once in the log at ERROR: the app
  starts and every limit still applies, counted in each process's memory;
- one that does not answer is said once at ERROR, with the reason. Requests then count in each process's
  memory (Flask-Limiter's RATELIMIT_IN_MEMORY_FALLBACK_ENABLED; SharedLimiter below does the same for the
  portal) and the storage is tried again after 1, 2, 4 … 32 seconds; going and coming back are one WARNING and
  one INFO line each, never a stack trace per request. A Redis that hangs costs a request at most its
  socket timeouts (REDIS_TIMEOUTS), not the system's minutes-long TCP timeout.
"""
import logging
import re
import threading
import time
from urllib.parse import urlsplit

from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)

REDIS_SCHEMES = {"redis", "rediss", "redis+unix", "valkey", "valkeys", "valkey+unix"}
# Seconds to connect and to wait for an answer, unless RATELIMIT_STORAGE_OPTIONS or the URI's own query
# (redis://host:6379/0?socket_timeout=0.5, which redis-py lets win) says otherwise.
REDIS_TIMEOUTS = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}
# A storage gone away is tried again after these many seconds (then every 32), as Flask-Limiter does.
RETRY_SECONDS = (1, 2, 4, 8, 16, 32)


def masked(uri: str) -> str:
    """The URI as a log may show it: a password in it replaced by ***."""
    return re.sub(r"(//[^/@]*?:)[^/@]*@", r"\1***@", uri)


def storage_options(uri: str, options: dict | None) -> dict:
    """The options the storage is built with: short socket timeouts for Redis unless given."""
    options = dict(options or {})
    if urlsplit(uri).scheme in REDIS_SCHEMES:
        options = {**REDIS_TIMEOUTS, **options}
    return options


def why_unreachable(storage) -> str | None:
    """None when the storage answers, else why not (Storage.check() answers only yes or no)."""
    try:
        connection = getattr(storage, "get_connection", None)
        if connection is None:
            return None if storage.check() else "it does not answer"
        connection().ping()
        return None
    except Exception as exc:  # noqa: BLE001  (any client's error is the reason to tell)
        return str(exc) or type(exc).__name__


def configure(app) -> str | None:
    """Before AppBuilder starts (its Flask-Limiter reads these settings once): the storage options, and a URI
    that cannot be used replaced by memory:// so that the app starts. Returns the problem said in the log, or
    None."""
    cfg = app.config
    uri = cfg.get("RATELIMIT_STORAGE_URI") or "memory://"
    options = storage_options(uri, cfg.get("RATELIMIT_STORAGE_OPTIONS"))
    cfg["RATELIMIT_STORAGE_URI"], cfg["RATELIMIT_STORAGE_OPTIONS"] = uri, options
    if urlsplit(uri).scheme == "memory":
        return None
    problem = None
    try:
        storage = storage_from_string(uri, **options)
    except Exception as exc:  # noqa: BLE001  (ConfigurationError, ValueError from the URL's parser, …)
        reason = str(exc).replace(uri, masked(uri)) or type(exc).__name__
        problem = (f"RATELIMIT_STORAGE_URI={masked(uri)} cannot be used ({reason}). The login and portal rate "
                   "limits are counted in each process's memory instead, not shared between workers or machines: "
                   "correct the setting (e.g. redis://redis.internal:6379/0) and restart.")
        cfg["RATELIMIT_STORAGE_URI"], cfg["RATELIMIT_STORAGE_OPTIONS"] = "memory://", {}
    else:
        reason = why_unreachable(storage)
        if reason is not None:
            problem = (f"RATELIMIT_STORAGE_URI={masked(uri)} does not answer ({reason}). Until it does, each process "
                       "counts the login and portal rate limits in its own memory (they still apply, but are not "
                       "shared between workers or machines); it is tried again every few seconds.")
        client = getattr(storage, "storage", None)
        if hasattr(storage, "get_connection") and hasattr(client, "close"):
            client.close()  # the check's connection; each limiter opens its own
    if problem:
        log.error(problem)
    return problem


class SharedLimiter:
    """A moving-window limiter counting in RATELIMIT_STORAGE_URI that behaves as Flask-Limiter does with the same
    settings when the storage fails: with RATELIMIT_IN_MEMORY_FALLBACK_ENABLED it counts in this process's memory
    until the storage answers again; else with RATELIMIT_SWALLOW_ERRORS it lets requests through uncounted;
    with neither, the storage's error is raised."""

    def __init__(self, config):
        self.uri = config["RATELIMIT_STORAGE_URI"]
        self.storage = storage_from_string(self.uri, wrap_exceptions=True,
                                           **storage_options(self.uri, config.get("RATELIMIT_STORAGE_OPTIONS")))
        self.shared = MovingWindowRateLimiter(self.storage)
        self.fall_back = bool(config.get("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"))
        self.swallow = bool(config.get("RATELIMIT_SWALLOW_ERRORS"))
        self._memory: MovingWindowRateLimiter | None = None  # made when first needed
        self._memory_lock = threading.Lock()
        self.down = False
        self._tries = 0
        self._next_try = 0.0

    def hit(self, item, *identifiers) -> bool:
        """Count one; False when it is over the limit."""
        return self._run("hit", item, identifiers)

    def test(self, item, *identifiers) -> bool:
        """Whether one more would be allowed, without counting it."""
        return self._run("test", item, identifiers)

    def reset(self) -> None:
        """Forget every count (tests): the storage's, when it answers, and the memory's."""
        try:
            self.storage.reset()
        except StorageError:
            pass
        if self._memory is not None:
            self._memory.storage.reset()

    @property
    def memory(self) -> MovingWindowRateLimiter:
        with self._memory_lock:
            if self._memory is None:
                self._memory = MovingWindowRateLimiter(MemoryStorage())
            return self._memory

    def _run(self, method: str, item, identifiers) -> bool:
        if self.down and time.monotonic() >= self._next_try:
            if self.storage.check():
                log.info("Rate limit storage %s answers again: the portal's limits are shared again", masked(self.uri))
                self.down = False
                self._tries = 0
            else:
                self._schedule()
        if not self.down:
            try:
                return getattr(self.shared, method)(item, *identifiers)
            except StorageError as exc:
                if not (self.fall_back or self.swallow):
                    raise
                log.warning("Rate limit storage %s does not answer (%s): the portal's limits are %s until it does",
                            masked(self.uri), exc.storage_error,
                            "counted in this process's memory" if self.fall_back else "not applied")
                self.down = True
                self._tries = 0
                self._schedule()
        if self.fall_back:
            return getattr(self.memory, method)(item, *identifiers)
        return True

    def _schedule(self) -> None:
        self._next_try = time.monotonic() + RETRY_SECONDS[min(self._tries, len(RETRY_SECONDS) - 1)]
        self._tries += 1
