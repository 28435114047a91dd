"""The customer portal's pages. Thin: every decision is in app.services (intake, portal, satisfaction)."""
import secrets

from flask import (
    Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from app.extensions import db
from app.models import Ticket
from app.portal import forms, ratelimit
from app.services import intake as intake_service
from app.services import kb, portal, rules, satisfaction, tracking
from app.services import status as st
from app.services.errors import ServiceError
from app.timeutil import utcnow

bp = Blueprint("portal", __name__, url_prefix="/portal")


@bp.context_processor
def _page_context():
    return {"locale": _language(), "photo_limits": _photo_limits, "size_label": portal.size_label}


def _photo_limits() -> dict:
    """What the server will accept, for the browser to check first: the portal's own per-photo limit or the
    manager's attachment limit (配置 → 受理设置), whichever is lower, and the request's whole size — less a
    little for the form's text — so that a customer is told before a long upload is refused."""
    return {"count": current_app.config["PORTAL_MAX_PHOTOS"],
            "kb": min(current_app.config["PORTAL_MAX_PHOTO_KB"], rules.current(db.session).settings.max_attachment_kb),
            "total_kb": max((current_app.config.get("MAX_CONTENT_LENGTH") or 0) // 1024 - 64, 0) or None}


def _valid(form) -> bool:
    """form.validate(), with an expired or missing security token (the page was left open for hours, or
    opened before the server restarted) told in the customer's language above the form they typed, which is
    shown again filled in — not Flask-WTF's bare English 400 page."""
    if form.validate():
        return True
    token = getattr(form, "csrf_token", None)
    if token is not None and token.errors:
        token.errors = []
        flash(_("For your security this page could not be sent as it was open for a long time. Please check what "
                "you entered and send it again."), "danger")
    return False


def _limited():
    return render_template("portal/message.html", title=_("Too many attempts"),
                           text=_("Too many attempts from your connection. Please wait a while and try again.")), 429


def _language() -> str:
    return str(get_locale() or "zh")


def _photos(field) -> list:
    files = [(f.filename or "", f.read()) for f in (field.data or []) if getattr(f, "filename", None)]
    limits = _photo_limits()
    return portal.check_photos(files, max_count=limits["count"], max_kb=limits["kb"])


def _form_key() -> str:
    return secrets.token_hex(12)


def _link(ticket_id: int) -> str:
    return url_for("portal.ticket", token=tracking.sign(ticket_id, current_app.config["SECRET_KEY"]))


# --------------------------------------------------------------- home, language

@bp.get("/")
def home():
    return render_template("portal/home.html")


@bp.get("/lang/<code>")
def language(code):
    if code in current_app.config["LANGUAGES"]:
        session["portal_locale"] = code
    back = request.args.get("next", "")
    # Only back into the portal: never an open redirect.
    return redirect(back if back.startswith("/portal") and "//" not in back else url_for("portal.home"))


# --------------------------------------------------------------- knowledge base: help before (and instead of) a request

@bp.get("/help")
def help_suggestions():
    """Published articles answering what the customer is typing, for the submit form (JSON)."""
    if not ratelimit.current().hit("help", ratelimit.client_address()):
        return jsonify(articles=[], error=_("Too many attempts")), 429
    query = (request.args.get("q") or "")[:500]
    found = kb.suggest(db.session, query, language=_language())
    return jsonify(articles=[{"title": s.article.title, "url": url_for("portal.article", article_id=s.article.id)}
                             for s in found])


@bp.get("/help/<int:article_id>")
def article(article_id):
    found = kb.published(db.session, article_id)
    if found is None:
        return _message(404, _("Article not found"), _("This article does not exist or is no longer published."))
    return render_template("portal/article.html", article=found, paragraphs=kb.paragraphs(found.body))


# --------------------------------------------------------------- submitting a request

@bp.route("/submit", methods=["GET", "POST"])
def submit():
    form = forms.SubmitForm()
    if request.method == "GET":
        form.form_key.data = _form_key()
        return render_template("portal/submit.html", form=form)
    # Only a submission that would make a request counts against the limit: a customer correcting a typo
    # five times is not flooding us, and a refused form costs nothing.
    limits, address = ratelimit.current(), ratelimit.client_address()
    if not limits.allows("submit", address):
        return _limited()
    if not _valid(form):
        return render_template("portal/submit.html", form=form), 400
    limits.hit("submit", address)
    description = form.description.data.strip()
    product = (form.product.data or "").strip()
    if product:
        description += "\n" + _("Product model or serial number") + ": " + product
    try:
        photos = _photos(form.photos)
        result = intake_service.intake(db.session, intake_service.IntakeRequest(
            channel="web", customer_name=form.name.data, phone=form.phone.data, email=form.email.data or None,
            address=form.address.data or None, serial_number=product or None, description=description,
            attachments=photos, language=_language(),
            message_key=f"portal-{form.form_key.data}" if form.form_key.data else None, key_is_reference=False,
        ), now=utcnow())
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        _field_error(form, exc)
        return render_template("portal/submit.html", form=form), 400
    ticket = result.ticket
    replay_of_someone_else = result.replayed and portal.find_owned(db.session, ticket.number, form.phone.data) is None
    if result.outcome == "merged" or replay_of_someone_else:
        # Added to an open request of the customer this phone number belongs to, or a form sent again (the
        # Back button on a shared phone) by someone else: whoever typed it may not own that request, so
        # neither its number nor its page is shown.
        return render_template("portal/message.html", title=_("Thank you"), text=_(
            "We already have an open request for this problem and added your message to it. We will contact "
            "you at the phone number you gave."))
    flash(_("Thank you. Your request number is %(number)s. Keep it to check the progress.", number=ticket.number),
          "success")
    return redirect(_link(ticket.id), code=303)


def _field_error(form, exc: ServiceError) -> None:
    """Show a service's refusal under the field it names (the form's own names), else above the form."""
    names = {"customer.phone": "phone", "customer.email": "email", "customer": "phone",
             "serial_number": "product", "score": "score"}
    name = names.get(exc.field, exc.field)
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors or []) + [str(exc)]
    else:
        flash(str(exc), "danger")


# --------------------------------------------------------------- looking a ticket up

@bp.route("/track", methods=["GET", "POST"])
def track():
    form = forms.TrackForm()
    if request.method == "GET":
        form.number.data = request.args.get("number", "")
        return render_template("portal/track.html", form=form)
    limits = ratelimit.current()
    if not limits.hit("track", ratelimit.client_address()):
        return _limited()
    if not _valid(form):
        return render_template("portal/track.html", form=form), 400
    number = portal.normalize_number(form.number.data)
    if not limits.allows("number", number):
        return _limited()
    contact = portal.normalize_contact(form.contact.data) or ""
    if not limits.allows("contact", contact):
        return _limited()
    ticket_id = portal.find_owned(db.session, number, form.contact.data)
    if ticket_id is None:
        limits.hit("number", number)
        limits.hit("contact", contact)  # one phone tried against many numbers is guessing too
        # The same words whether the ticket is missing or the phone is wrong: nothing to learn from it.
        form.number.errors = [_("We found no request with this number and phone or e-mail. "
                                "Please check both and try again.")]
        return render_template("portal/track.html", form=form), 200
    return redirect(_link(ticket_id), code=303)


def _owned_ticket(token: str) -> Ticket:
    """The ticket a signed link opens; a friendly page (not the ticket) when the link is expired or wrong."""
    try:
        ticket_id = tracking.verify(token, current_app.config["SECRET_KEY"],
                                    max_age_days=current_app.config["PORTAL_LINK_DAYS"])
    except tracking.LinkExpired:
        abort(_message(410, _("This link has expired"),
                       _("For your security, links are valid for %(days)s days. Look your request up with its number "
                         "and your phone number instead.", days=current_app.config["PORTAL_LINK_DAYS"])))
    except tracking.LinkInvalid:
        abort(_message(404, _("This link is not valid"),
                       _("Please open the link exactly as you received it, or look your request up with its number "
                         "and your phone number.")))
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        abort(_message(404, _("This link is not valid"),
                       _("Please open the link exactly as you received it, or look your request up with its number "
                         "and your phone number.")))
    return ticket


def _message(status: int, title: str, text: str):
    response = current_app.make_response(render_template("portal/message.html", title=title, text=text, track=True))
    response.status_code = status
    return response


@bp.get("/t/<token>")
def ticket(token):
    found = _owned_ticket(token)
    return _ticket_page(token, found)


def _ticket_page(token, found: Ticket, status: int = 200, **forms_given):
    now = utcnow()
    reply = forms_given.get("reply") or forms.ReplyForm(formdata=None)
    if not reply.form_key.data:
        reply.form_key.data = _form_key()
    page = render_template(
        "portal/ticket.html", token=token, t=portal.describe(found, now=now), steps=portal.STEPS,
        can_reply=found.status in st.OPEN_STATUSES, can_confirm=found.status == st.RESOLVED,
        can_reopen=satisfaction.may_reopen(db.session, found, now=now),
        can_rate=found.status == st.CLOSED and satisfaction.can_rate(db.session, found),
        rated=satisfaction.current_survey(db.session, found) if found.status in (st.RESOLVED, st.CLOSED) else None,
        reply=reply, confirm=forms_given.get("confirm") or forms.ConfirmForm(formdata=None),
        reopen=forms_given.get("reopen") or forms.ReopenForm(formdata=None),
        rate=forms_given.get("rate") or forms.RateForm(formdata=None),
    )
    return page, status


# --------------------------------------------------------------- the customer's actions on their ticket

def _act(token: str, form, name: str, work, done: str):
    """Run one action: limited per address, the form checked, the service's refusal shown on the page."""
    found = _owned_ticket(token)
    if not ratelimit.current().hit("action", ratelimit.client_address()):
        return _limited()
    if not _valid(form):
        return _ticket_page(token, found, 400, **{name: form})
    try:
        work(found)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        found = _owned_ticket(token)
        flash(str(exc), "danger")  # at the top: the form it came from may no longer be on the page
        return _ticket_page(token, found, exc.status_code, **{name: form})
    flash(done, "success")
    return redirect(url_for("portal.ticket", token=token), code=303)


@bp.post("/t/<token>/reply")
def reply(token):
    form = forms.ReplyForm()

    def work(found):
        if found.status not in st.OPEN_STATUSES:
            raise ServiceError(_("This request is not open any more."), field="text")
        key = f"portal-reply-{found.id}-{form.form_key.data}" if form.form_key.data else None
        intake_service.add_reply(db.session, found, channel="web", message_key=key,
                                 text=form.text.data.strip(), sender=None, attachments=_photos(form.photos),
                                 now=utcnow())

    return _act(token, form, "reply", work, _("Thank you, your information was added to the request."))


@bp.post("/t/<token>/confirm")
def confirm(token):
    form = forms.ConfirmForm()
    return _act(token, form, "confirm",
                lambda found: satisfaction.confirm(db.session, found, now=utcnow(), score=form.score.data,
                                                   comment=form.comment.data),
                _("Thank you for confirming. Your request is completed."))


@bp.post("/t/<token>/reopen")
def reopen(token):
    form = forms.ReopenForm()
    return _act(token, form, "reopen",
                lambda found: satisfaction.problem_persists(db.session, found, form.reason.data, now=utcnow()),
                _("We are sorry the problem persists. Your request is open again and we will contact you."))


@bp.post("/t/<token>/rate")
def rate(token):
    form = forms.RateForm()
    return _act(token, form, "rate",
                lambda found: satisfaction.rate(db.session, found, form.score.data, form.comment.data, via="portal",
                                                now=utcnow()),
                _("Thank you for your rating."))
