"""Web security (README "Security"): response headers, the login rate limit and lock, the password policy.

FAB keeps doing the logging in; ServiceSecurityManager adds the lock around its password check, and its
views keep their class names, so endpoints, URLs and permissions stay FAB's own.
"""
import logging

from flask import current_app, flash, g, has_request_context, redirect, request
from flask_appbuilder.actions import action
from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.security import views as fab_views
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.forms import ResetPasswordForm
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role
from flask_appbuilder.validators import PasswordComplexityValidator
from flask_babel import LazyString, gettext as _, lazy_gettext as _l
from flask_talisman import Talisman
from sqlalchemy import select
from wtforms import PasswordField
from wtforms.validators import DataRequired

from app import timeutil
from app.services import logins, passwords

log = logging.getLogger(__name__)

# Every script, style, font and image is served by the app itself (app/static and FAB's static), so no other
# host is named. Inline <script> blocks carry the request's nonce (FAB's templates ask for csp_nonce(), which
# Talisman provides). Styles allow inline: FAB's and our templates use style="" attributes, which a nonce
# cannot cover, and a style cannot run code.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",  # Swagger UI's icons are data: URLs
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# The engineer's workspace records where a check-in happened; nothing else asks the browser for a device.
PERMISSIONS_POLICY = {"geolocation": "(self)", "camera": "()", "microphone": "()", "payment": "()", "usb": "()",
                      "browsing-topics": "()"}


def _policy_text():
    return _("At least %(count)s characters, with letters and digits, not containing the login name.",
             count=current_app.config["PASSWORD_MIN_LENGTH"])


POLICY_TEXT = LazyString(_policy_text)


def _login_name_in_request() -> str | None:
    """Whose password is being set: the login name typed in the user form, the user an admin is setting a new
    password for (?pk=), else the one logged in (their own new password)."""
    if not has_request_context():
        return None
    if request.form.get("username"):
        return request.form["username"]
    sm = current_app.appbuilder.sm
    if request.args.get("pk", "").isdigit():
        user = sm.get_user_by_id(int(request.args["pk"]))
        return user.username if user is not None else None
    user = getattr(g, "user", None)
    return getattr(user, "username", None) if user is not None and user.is_authenticated else None


def password_complexity(password: str) -> None:
    """FAB_PASSWORD_COMPLEXITY_VALIDATOR: FAB shows the message under the password field."""
    found = passwords.problems(password, _login_name_in_request(),
                               min_length=current_app.config["PASSWORD_MIN_LENGTH"])
    if found:
        raise PasswordComplexityValidationError(" ".join(found))


def _policy_password_field(label, description):
    return PasswordField(label, description=description, widget=BS3PasswordFieldWidget(),
                         validators=[DataRequired(), PasswordComplexityValidator()])


class PolicyPasswordForm(ResetPasswordForm):
    # FAB's description says "this application does not check this for you": this one does.
    password = _policy_password_field(_l("Password"), POLICY_TEXT)


class ResetMyPasswordView(fab_views.ResetMyPasswordView):
    form = PolicyPasswordForm


class ResetPasswordView(fab_views.ResetPasswordView):
    """An admin sets someone's new password; that also lifts a lock on the login."""

    form = PolicyPasswordForm

    def form_post(self, form):
        pk = request.args.get("pk", "")
        if not pk.isdigit() or self.appbuilder.sm.get_user_by_id(int(pk)) is None:
            flash(_("There is no such user."), "danger")
            return
        super().form_post(form)


class AuthDBView(fab_views.AuthDBView):
    @property
    def invalid_login_message(self):
        until = g.get("login_locked_until")
        if until is None:
            return fab_views.AuthDBView.invalid_login_message
        from app.views.formatting import local_time

        return _("Too many wrong passwords: this login is locked until %(time)s. Try again then, or ask an "
                 "administrator to unlock it.", time=local_time(until))


class UserDBModelView(fab_views.UserDBModelView):
    add_form_extra_fields = {
        **fab_views.UserDBModelView.add_form_extra_fields,
        "password": _policy_password_field(_l("Password"), POLICY_TEXT),
    }
    # A count at or above LOGIN_LOCK_ATTEMPTS is a locked (or, after the lock, easily relocked) login.
    list_columns = fab_views.UserDBModelView.list_columns + ["fail_login_count"]
    formatters_columns = {"fail_login_count": lambda n: n or 0}

    @action("unlock", _l("Unlock"), _l("Unlock the chosen logins? They may log in again at once."), "fa-unlock",
            multiple=True, single=True)
    def unlock(self, items):
        users = [u for u in (items if isinstance(items, list) else [items]) if u is not None]
        session = self.appbuilder.sm.session
        now = timeutil.utcnow()
        for user in users:
            logins.admin_unlock(session, user, now=now)
        session.commit()
        flash(_("%(count)s login(s) unlocked.", count=len(users)), "success")
        return redirect(self.get_redirect())


class ServiceSecurityManager(SecurityManager):
    authdbview = AuthDBView
    userdbmodelview = UserDBModelView
    resetpasswordview = ResetPasswordView
    resetmypasswordview = ResetMyPasswordView

    @property
    def auth_rate_limit(self):
        # Flask-Limiter reads a callable on every request: AUTH_RATE_LIMIT changed in the config applies
        # without registering the login views again.
        return lambda: current_app.config["AUTH_RATE_LIMIT"]

    def register_views(self):
        super().register_views()
        if self.is_auth_limited:
            # FAB limits its login form only; the REST login checks the same passwords.
            for view in self.appbuilder.baseviews:
                if isinstance(view, SecurityApi):
                    self.limiter.limit(self.auth_rate_limit, methods=["POST"])(view.blueprint)

    def _find_login(self, username):
        if not username:
            return None
        return self.find_user(username=username) or self.find_user(email=username)

    def auth_user_db(self, username, password):
        user = self._find_login(username)
        if user is not None and user.is_active:
            until = logins.locked_until(self.session, user.id, timeutil.utcnow())
            if until is not None:
                log.info("Login refused, %s is locked until %s UTC", username, until)
                if has_request_context():
                    g.login_locked_until = until
                return None
        return super().auth_user_db(username, password)

    def update_user_auth_stat(self, user, success=True):
        # Written before FAB's own update, which commits both together.
        cfg = current_app.config
        if success:
            logins.unlock(self.session, user)
        else:
            until = logins.failed(self.session, user, (user.fail_login_count or 0) + 1, now=timeutil.utcnow(),
                                  attempts=cfg["LOGIN_LOCK_ATTEMPTS"], minutes=cfg["LOGIN_LOCK_MINUTES"])
            if until is not None and has_request_context():
                g.login_locked_until = until
        super().update_user_auth_stat(user, success)

    def reset_password(self, userid, password):
        user = self.get_user_by_id(userid)
        if user is not None:
            logins.new_password_unlock(self.session, user, now=timeutil.utcnow())
        super().reset_password(userid, password)

    def exist_permission_on_roles(self, view_name, permission_name, role_ids):
        """FAB asks the database once per check, and every console page checks each menu item: about sixty
        queries, 90 ms of a page on PostgreSQL. Within a request the roles' (view, permission) pairs are read
        once; each request reads them afresh (forget_permissions), so a role's change applies at the next one."""
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        key = tuple(sorted(role_ids))
        known = g.setdefault(PERMISSIONS_KEY, {})
        if key not in known:
            known[key] = self._pairs_of_roles(key)
        return (view_name, permission_name) in known[key]

    def _pairs_of_roles(self, role_ids) -> frozenset:
        pv, link = self.permissionview_model, assoc_permissionview_role
        rows = self.session.execute(
            select(self.viewmenu_model.name, self.permission_model.name)
            .join_from(pv, link, pv.id == link.c.permission_view_id)
            .join(self.permission_model, pv.permission_id == self.permission_model.id)
            .join(self.viewmenu_model, pv.view_menu_id == self.viewmenu_model.id)
            .where(link.c.role_id.in_(role_ids)))
        return frozenset((view, permission) for view, permission in rows)


PERMISSIONS_KEY = "_role_permission_pairs"


def forget_permissions():
    """Before each request: a test (or a CLI command) holding one app context shares `g` between requests."""
    g.pop(PERMISSIONS_KEY, None)


def audit_actor():
    """Who the audit trail names for a change made now (app.services.audit): the logged-in user (console
    session or the REST API's token), or "" for an anonymous request, with the client's address as the
    request has it — behind PROXY_FIX_HOPS proxies that is the address they forwarded. None outside a request
    (the CLI, the scheduler): "system"."""
    if not has_request_context():
        return None
    user = None
    try:
        user = current_app.appbuilder.sm.current_user
    except Exception:  # noqa: BLE001  (no session user and no token: flask_jwt_extended raises)
        user = None
    address = (request.remote_addr or "")[:45] or None
    if user is not None and getattr(user, "is_authenticated", False) and getattr(user, "id", None) is not None:
        return user.id, user.username, address
    return None, "", address


def _too_many_logins(exc):
    """Flask-Limiter's refusal (only the logins are limited through it), in the reader's language."""
    message = _("Too many login attempts from this address. Please wait a little and try again.")
    if request.path.startswith("/api/"):
        return {"message": message}, 429
    flash(message, "danger")
    view = current_app.appbuilder.sm.auth_view
    from flask_appbuilder.security.forms import LoginForm_db

    return view.render_template(view.login_template, title=view.title, form=LoginForm_db(),
                                appbuilder=current_app.appbuilder), 429


def configure(app) -> None:
    """Before AppBuilder starts: the password check FAB calls, and cookies as secure as the session's."""
    app.config.setdefault("FAB_PASSWORD_COMPLEXITY_VALIDATOR", password_complexity)
    app.before_request(forget_permissions)
    if app.config.get("SESSION_COOKIE_SECURE"):
        app.config["REMEMBER_COOKIE_SECURE"] = True


def install_headers(app) -> None:
    """Security headers on every response: console, portal, REST API and static files."""
    from flask_limiter.errors import RateLimitExceeded

    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    Talisman(
        app,
        # The HTTPS proxy in front redirects plain HTTP; redirecting here too would loop behind a proxy that
        # does not say X-Forwarded-Proto.
        force_https=False,
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        content_security_policy_nonce_in=["script-src"],
        # Signed tracking links carry their token in the URL: other sites are never told it.
        referrer_policy="same-origin",
        permissions_policy=PERMISSIONS_POLICY,
        # Sent only over HTTPS (directly, or X-Forwarded-Proto: https), and only when cookies are secure: a
        # deployment without HTTPS must not be told to require it. Other hosts under the same domain are
        # not this app's to decide for.
        strict_transport_security=secure,
        strict_transport_security_max_age=int(app.config.get("HSTS_MAX_AGE", 31536000)),
        strict_transport_security_include_subdomains=False,
        session_cookie_secure=secure,
        session_cookie_http_only=True,
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
    )
    app.register_error_handler(RateLimitExceeded, _too_many_logins)
