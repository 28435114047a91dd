"""The words of the satisfaction loop: outcome codes, root causes, and its timeline sentences."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

# What a follow-up call (回访) found out.
OUTCOMES = {
    "satisfied": _l("Problem solved"),  # how satisfied is the stars the customer gives
    "problem_persists": _l("Problem persists"),
    "unreachable": _l("Unreachable, call again later"),
    "declined": _l("Customer declined the call"),
}
FOLLOW_UP_STATES = {"open": _l("To call"), "done": _l("Done"), "cancelled": _l("Cancelled (ticket reopened)"),
                    "skipped": _l("Not needed: the customer rated")}
SURVEY_STATES = {"pending": _l("Waiting to be sent"), "sent": _l("Sent"), "rated": _l("Rated"),
                 "skipped": _l("Not sent")}
RATED_VIA = {"portal": _l("Customer portal"), "call": _l("Follow-up call")}
# Why a customer was unhappy, as the manager finds it on review.
ROOT_CAUSES = {
    "attitude": _l("Service attitude"),
    "skill": _l("Technical skill"),
    "process": _l("Process"),
    "product": _l("Product quality"),
    "other": _l("Other"),
}
TRIGGERS = {"low_rating": _l("Low rating"), "problem_persists": _l("Problem persists")}
REVIEW_STATES = {"open": _l("To review"), "done": _l("Reviewed")}


def stars(score) -> str:
    score = int(score or 0)
    return "★" * score + "☆" * (5 - score)


def describe(kind: str, data: dict) -> str | None:
    """The timeline sentence for the loop's events; None for anyone else's."""
    if kind == "customer_confirmed":
        return _("The customer confirmed the problem is solved")
    if kind == "rated":
        if data.get("via") == "call":
            return _("Rated %(stars)s (%(score)s of 5) on the follow-up call", stars=stars(data.get("score")),
                     score=data.get("score"))
        return _("The customer rated the service %(stars)s (%(score)s of 5)", stars=stars(data.get("score")),
                 score=data.get("score"))
    if kind == "survey_sent":
        return _("Satisfaction survey sent to the customer")
    if kind == "follow_up":
        outcome = str(OUTCOMES.get(data.get("outcome"), data.get("outcome")))
        if data.get("retry_at"):
            return _("Follow-up call: %(outcome)s (attempt %(attempt)s); next try %(at)s", outcome=outcome,
                     attempt=data.get("attempt"), at=data.get("retry_at_local") or data.get("retry_at"))
        return _("Follow-up call: %(outcome)s (attempt %(attempt)s)", outcome=outcome, attempt=data.get("attempt"))
    if kind == "low_score":
        who = data.get("lead") or _("the managers")
        if data.get("trigger") == "low_rating":
            return _("Low rating (%(score)s of 5): reported to %(who)s for review", score=data.get("score"), who=who)
        return _("The customer says the problem persists: reported to %(who)s", who=who)
    return None
