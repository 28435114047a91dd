"""Settings. Every value can be overridden from the environment; README lists them."""
import os

BASEDIR = os.path.abspath(os.path.dirname(__file__))


def _env(name, default=None):
    value = os.environ.get(name)
    return default if value in (None, "") else value


def _env_bool(name, default):
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _sqlalchemy_url(url):
    # Heroku-style and plain "postgresql://" URLs both go through psycopg 3, the driver we ship.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


INSTANCE_DIR = _env("INSTANCE_DIR", os.path.join(BASEDIR, "instance"))
SQLALCHEMY_DATABASE_URI = _sqlalchemy_url(
    _env("DATABASE_URL", "sqlite:///" + os.path.join(INSTANCE_DIR, "service.db"))
)
SQLALCHEMY_TRACK_MODIFICATIONS = False
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

# A fresh random key on every start would log everybody out on restart; `make run` writes one
# into instance/secret_key, production sets SECRET_KEY.
SECRET_KEY = _env("SECRET_KEY")

APP_NAME = _env("APP_NAME", "售后服务工单")
APP_THEME = ""
TIMEZONE = _env("TIMEZONE", "Asia/Shanghai")
TICKET_NUMBER_PREFIX = _env("TICKET_NUMBER_PREFIX", "SR")
# Resolved tickets the customer neither confirms nor reopens are closed after this many days.
AUTO_CLOSE_DAYS = int(_env("AUTO_CLOSE_DAYS", "7"))
# Tickets the SLA job handles per transaction (a crash loses at most one batch's work, which is redone).
SLA_BATCH_SIZE = int(_env("SLA_BATCH_SIZE", "500"))
# An engineer's check-in further than this from the customer's address is flagged on the ticket.
CHECKIN_FAR_METERS = int(_env("CHECKIN_FAR_METERS", "1000"))

# Notifications (README "Notifications"): outside channels are on when their settings are given.
NOTIFY_BATCH_SIZE = int(_env("NOTIFY_BATCH_SIZE", "50"))
SMTP_HOST = _env("SMTP_HOST")
SMTP_PORT = int(_env("SMTP_PORT", "25"))
SMTP_SECURITY = _env("SMTP_SECURITY", "none")  # none | starttls | ssl
SMTP_USERNAME = _env("SMTP_USERNAME")
SMTP_PASSWORD = _env("SMTP_PASSWORD")
MAIL_FROM = _env("MAIL_FROM", "售后服务 <service@localhost>")
SMS_GATEWAY_URL = _env("SMS_GATEWAY_URL")
SMS_GATEWAY_TOKEN = _env("SMS_GATEWAY_TOKEN")
WECHAT_APP_ID = _env("WECHAT_APP_ID")
WECHAT_APP_SECRET = _env("WECHAT_APP_SECRET")
WECHAT_API_BASE = _env("WECHAT_API_BASE", "https://api.weixin.qq.com")
# Links in messages: the console as staff reach it, and the customers' tracking page ({number}).
PUBLIC_URL = _env("PUBLIC_URL", "http://127.0.0.1:8080")
# Empty: messages link to the portal's own signed tracking page (PORTAL_URL, else PUBLIC_URL + /portal).
TRACKING_URL = _env("TRACKING_URL")

# Customer portal (README "Customer portal"). Rate limits use Flask-Limiter's notation and storage: the
# default memory storage counts per process; several web workers share limits through Redis
# (RATELIMIT_STORAGE_URI=redis://…).
PORTAL_URL = _env("PORTAL_URL")
SERVICE_HOTLINE = _env("SERVICE_HOTLINE")  # shown at the foot of every portal page, e.g. 400-800-8888
PORTAL_LINK_DAYS = int(_env("PORTAL_LINK_DAYS", "60"))
PORTAL_SUBMIT_LIMIT = _env("PORTAL_SUBMIT_LIMIT", "5 per 10 minutes;30 per day")
PORTAL_TRACK_LIMIT = _env("PORTAL_TRACK_LIMIT", "10 per minute;100 per day")
# Failed look-ups of one ticket number, from any address: guessing its phone number stops here.
PORTAL_NUMBER_LIMIT = _env("PORTAL_NUMBER_LIMIT", "5 per hour")
# Failed look-ups with one phone number or e-mail against any ticket number: guessing numbers stops here.
PORTAL_CONTACT_LIMIT = _env("PORTAL_CONTACT_LIMIT", "10 per day")
PORTAL_ACTION_LIMIT = _env("PORTAL_ACTION_LIMIT", "30 per hour")
PORTAL_HELP_LIMIT = _env("PORTAL_HELP_LIMIT", "60 per minute;2000 per day")
# Excel imports (console upload and `flask import`): the largest file taken, in rows and in KB.
IMPORT_MAX_ROWS = int(_env("IMPORT_MAX_ROWS", "200000"))
IMPORT_MAX_KB = int(_env("IMPORT_MAX_KB", "20480"))
PORTAL_MAX_PHOTOS = int(_env("PORTAL_MAX_PHOTOS", "5"))
PORTAL_MAX_PHOTO_KB = int(_env("PORTAL_MAX_PHOTO_KB", "8192"))
RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
# When that storage is down or mistyped (app/limit_storage.py) the app still starts and answers: every limit
# keeps applying, counted in each process's memory, until the storage answers again (checked every few
# seconds); without the fallback the limits are not applied meanwhile (swallowed), without either a 500.
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = _env_bool("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
RATELIMIT_SWALLOW_ERRORS = _env_bool("RATELIMIT_SWALLOW_ERRORS", True)
# How many reverse proxies (nginx…) stand in front: their X-Forwarded-For names the client. 0: none.
PROXY_FIX_HOPS = int(_env("PROXY_FIX_HOPS", "0"))
RATELIMIT_HEADERS_ENABLED = True

ADMIN_USERNAME = _env("ADMIN_USERNAME", "admin")
ADMIN_PASSWORD = _env("ADMIN_PASSWORD")
ADMIN_EMAIL = _env("ADMIN_EMAIL", "admin@example.com")

# Flask-AppBuilder
AUTH_TYPE = 1  # AUTH_DB
AUTH_ROLE_ADMIN = "Admin"
AUTH_ROLE_PUBLIC = "Public"
FAB_CREATE_DB = False  # Alembic owns the schema
FAB_UPDATE_PERMS = False  # `flask init` syncs permissions; web workers never write them
FAB_API_SWAGGER_UI = True
FAB_ADD_SECURITY_API = False
FAB_INDEX_VIEW = "app.views.home.HomeView"
FAB_API_MAX_PAGE_SIZE = 200

# i18n: Chinese first, English second.
BABEL_DEFAULT_LOCALE = _env("DEFAULT_LOCALE", "zh")
BABEL_DEFAULT_TIMEZONE = TIMEZONE
BABEL_TRANSLATION_DIRECTORIES = os.path.join(BASEDIR, "translations")
LANGUAGES = {
    "zh": {"flag": "cn", "name": "中文"},
    "en": {"flag": "gb", "name": "English"},
}

WTF_CSRF_ENABLED = _env_bool("WTF_CSRF_ENABLED", True)
# Web security (README "Security"). Behind HTTPS set SESSION_COOKIE_SECURE=true: it also makes the remember-me
# cookie secure and turns on Strict-Transport-Security for requests that arrive over HTTPS.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
# FAB's login never sets the remember-me cookie; should a login ever do, it gets the session cookie's flags.
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
HSTS_MAX_AGE = int(_env("HSTS_MAX_AGE", str(365 * 24 * 3600)))
# Login attempts (console form and REST login) per client address, counted in RATELIMIT_STORAGE_URI. Generous
# enough for an office whose staff share one address; guessing one login's password is stopped by the lock.
AUTH_RATE_LIMITED = _env_bool("AUTH_RATE_LIMITED", True)
AUTH_RATE_LIMIT = _env("AUTH_RATE_LIMIT", "30 per minute;300 per hour")
# Flask-Limiter's own switch, which FAB defaults to off: without it AUTH_RATE_LIMITED limits nothing.
RATELIMIT_ENABLED = AUTH_RATE_LIMITED
# This many wrong passwords in a row lock a login for LOGIN_LOCK_MINUTES, even against the right password;
# an admin unlocks it earlier (Security → List Users → Unlock, or by setting a new password). 0: never locked.
LOGIN_LOCK_ATTEMPTS = int(_env("LOGIN_LOCK_ATTEMPTS", "5"))
LOGIN_LOCK_MINUTES = int(_env("LOGIN_LOCK_MINUTES", "15"))
# New passwords (console forms, ADMIN_PASSWORD) need this many characters, letters and digits, and must not
# contain the login name; app.security installs the check as FAB_PASSWORD_COMPLEXITY_VALIDATOR.
FAB_PASSWORD_COMPLEXITY_ENABLED = True
PASSWORD_MIN_LENGTH = int(_env("PASSWORD_MIN_LENGTH", "10"))

# Intake: request size limits (KB). JSON alarms and call records are small; a report with photos or an
# e-mail with attachments is not. Anything above MAX_CONTENT_LENGTH is refused before it is read.
INTAKE_MAX_JSON_KB = int(_env("INTAKE_MAX_JSON_KB", "256"))
INTAKE_MAX_BODY_KB = int(_env("INTAKE_MAX_BODY_KB", "25600"))
MAX_CONTENT_LENGTH = (INTAKE_MAX_BODY_KB + 1024) * 1024
