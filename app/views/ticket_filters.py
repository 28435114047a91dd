"""Ticket-list filters the dashboards drill down with (and a manager can pick in the list's search):
local-day periods, SLA outcomes, empty relations, and the satisfaction and hands-on-work slices.

FAB addresses a filter in a URL by its position in the column's list (`_flt_<position>_<column>=value`), so
these are appended after FAB's own for the column; app.views.dashboard looks positions up by class, never by
number. Each applies exactly the condition app.services.analytics counted with, so a chart's figure and the
list it opens agree.
"""
from datetime import date, datetime, timedelta

from dateutil import parser as date_parser
from flask import current_app
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterNotEqual
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from app.models import LowScoreReview, Survey, Ticket
from app.models.analytics import WorkStretch
from app.services import analytics
from app.services import status as st
from app.timeutil import from_local, parse_day, utcnow
from app.views.datamodel import FormInterface, PrefixFilterConverter


def _local_instant(value) -> datetime | None:
    """A local date ("2026-11-03": its midnight) or local date and time, as naive UTC; None if unreadable."""
    try:
        parsed = date_parser.parse(str(value).strip())
    except (ValueError, OverflowError, TypeError):
        return None
    if parse_day(parsed.date().isoformat()) is None:  # out of range: from_local would overflow near year 1 or 9999
        return None
    return from_local(parsed.replace(tzinfo=None), current_app.config["TIMEZONE"])


class FilterLocalFrom(BaseFilter):
    """On or after a local date (from its midnight) or local time."""

    name = _l("On or after (local time)")

    def apply(self, query, value):
        instant = _local_instant(value)
        return query if instant is None else query.filter(getattr(self.model, self.column_name) >= instant)


class FilterLocalBefore(BaseFilter):
    """Before a local date (its midnight) or local time: with FilterLocalFrom, a half-open period."""

    name = _l("Before (local time)")

    def apply(self, query, value):
        instant = _local_instant(value)
        return query if instant is None else query.filter(getattr(self.model, self.column_name) < instant)


DUE_TARGETS = {"first_response_due_at": "response", "resolution_due_at": "resolution"}


class FilterDeadlineMet(BaseFilter):
    """The promise was kept (the value is not used). Cancelled tickets made no promise that counts."""

    name = _l("Met")

    def apply(self, query, value):
        return query.filter(Ticket.status != st.CANCELLED, analytics.sla_met(DUE_TARGETS[self.column_name]))


class FilterDeadlineBreached(BaseFilter):
    """The promise was broken: done late, or not done and the deadline passed (the value is not used)."""

    name = _l("Breached")

    def apply(self, query, value):
        return query.filter(Ticket.status != st.CANCELLED,
                            analytics.sla_breached(DUE_TARGETS[self.column_name], utcnow().replace(microsecond=0)))


class FilterRelationEmpty(BaseFilter):
    """No team / priority / category… set (the value is not used)."""

    name = _l("Is empty")

    def apply(self, query, value):
        column = getattr(Ticket, f"{self.column_name}_id")
        return query.filter(column.is_(None))


def _token(value) -> tuple[str, date | None, date | None]:
    """"<what> [<first day> <last day>]": a drill-down's slice with its period of local days (both included).
    Without a readable period the slice is taken over all time, so the filter still makes sense after someone
    edits it in the search form."""
    parts = str(value or "").replace("|", " ").split()
    what = parts[0] if parts else ""
    first, last = (parse_day(parts[1]), parse_day(parts[2])) if len(parts) >= 3 else (None, None)
    if first is None or last is None:
        return what, None, None
    return what, first, last


def _period(first: date | None, last: date | None) -> tuple[datetime, datetime] | None:
    if first is None or last is None:
        return None
    tz = current_app.config["TIMEZONE"]
    return (from_local(datetime.combine(first, datetime.min.time()), tz),
            from_local(datetime.combine(last + timedelta(days=1), datetime.min.time()), tz))


class FilterRatedStars(BaseFilter):
    """Rated this many stars, in the period if given: "2 2026-11-01 2026-11-30"."""

    name = _l("Rated (stars, first day, last day)")

    def apply(self, query, value):
        stars, first, last = _token(value)
        if not (stars.isascii() and stars.isdigit()):
            return query
        condition = [Survey.score == int(stars)]
        period = _period(first, last)
        if period is not None:
            condition += [Survey.rated_at >= period[0], Survey.rated_at < period[1]]
        return query.filter(Ticket.id.in_(select(Survey.ticket_id).where(*condition)))


class FilterLowScoreCause(BaseFilter):
    """Has a low-score case of this root cause ("open": not reviewed yet), opened in the period if given."""

    name = _l("Low-score case (cause, first day, last day)")

    def apply(self, query, value):
        cause, first, last = _token(value)
        if not cause:
            return query
        period = _period(first, last) or (datetime(1970, 1, 1), datetime(9999, 1, 1))
        return query.filter(Ticket.id.in_(
            select(LowScoreReview.ticket_id).where(analytics.low_score_condition(cause, *period))))


class FilterWorkedOn(BaseFilter):
    """Hands-on work by this engineer (id), in the period if given: the tickets behind their utilisation."""

    name = _l("Worked on by (engineer, first day, last day)")

    def apply(self, query, value):
        engineer, first, last = _token(value)
        if not (engineer.isascii() and engineer.isdigit()):
            return query
        condition = [WorkStretch.engineer_id == int(engineer)]
        period = _period(first, last)
        if period is not None:
            until = min(period[1], utcnow())
            condition += [WorkStretch.started_at < until,
                          or_(WorkStretch.ended_at.is_(None), WorkStretch.ended_at > period[0])]
        return query.filter(Ticket.id.in_(select(WorkStretch.ticket_id).where(and_(*condition))))


# column → the filters appended to FAB's own for it
EXTRA_FILTERS = {
    "created_at": [FilterLocalFrom, FilterLocalBefore],
    "resolved_at": [FilterLocalFrom, FilterLocalBefore],
    "first_response_due_at": [FilterLocalFrom, FilterLocalBefore, FilterDeadlineMet, FilterDeadlineBreached],
    "resolution_due_at": [FilterLocalFrom, FilterLocalBefore, FilterDeadlineMet, FilterDeadlineBreached],
    "team": [FilterRelationEmpty],
    "priority": [FilterRelationEmpty],
    "category": [FilterRelationEmpty],
    "product": [FilterRelationEmpty],
    "assignee": [FilterRelationEmpty, FilterWorkedOn],
    "resolution_round": [FilterRatedStars, FilterLowScoreCause],
}


# Columns holding a code from a fixed list: searched by picking the code (shown in the reader's language) and
# compared for equality, which the (team, status) and (status, deadline) indexes serve. FAB offered "starts with",
# "contains"… on the stored English code: a clerk typing 等待备件 found nothing, and "starts with" on the status
# read every ticket of a team (60 ms at a million tickets).
CODE_COLUMNS = ("status", "channel")


class TicketFilterConverter(PrefixFilterConverter):
    def convert(self, col_name):
        if col_name in CODE_COLUMNS:
            return [FilterEqual(col_name, self.datamodel), FilterNotEqual(col_name, self.datamodel)]
        extra = [filter_class(col_name, self.datamodel) for filter_class in EXTRA_FILTERS.get(col_name, [])]
        return (super().convert(col_name) or []) + extra or None


class TicketInterface(FormInterface):
    """The ticket lists' data interface: FAB's filters plus the dashboards'."""

    filter_converter_class = TicketFilterConverter


def filter_position(view, column: str, filter_class) -> int:
    """Where a filter class sits in a view's list for the column: the number in `_flt_<n>_<column>`."""
    for position, candidate in enumerate(view._filters.get_search_filters().get(column, [])):
        if type(candidate) is filter_class:
            return position
    raise LookupError(f"{view.__class__.__name__} has no {filter_class.__name__} on {column}")


# Labels for the columns only the search uses (the others are in app.labels).
SEARCH_LABELS = {"resolution_round": _l("Resolution rounds")}
