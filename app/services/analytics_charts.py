"""The dashboard's charts: app.services.analytics' figures as titled series in the reader's language, a
drill-down for every bar and point, and the table each chart exports.

A chart is a plain dict (it goes to the page as JSON and to the workbook as rows):
    key, title, definition, type (line | bar), stacked, percent, categories, series, table, note
A series is {name, data: [number | None], drill: [slice | None], axis: 0 | 1}. A slice names the tickets behind
a figure — {"list": "all" | "open", "created": [from, before], "channel": "wechat", "team": 3, …} — and
app.views.dashboard turns it into the ticket list's filter arguments.
"""
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Category, Priority, Product, Team
from app.services import analytics as A
from app.services.satisfaction_text import ROOT_CAUSES
from app.services.vocabulary import CHANNELS
from app.timeutil import to_local

ENGINEERS_SHOWN = 30  # the chart shows the busiest; the export lists everyone


# ---------------------------------------------------------------- names

class Names:
    """The reader's names for the ids the figures are keyed by, and the order to show them in."""

    def __init__(self, session: Session):
        self.teams = {t.id: t.name for t in session.scalars(select(Team).order_by(Team.code))}
        priorities = session.scalars(select(Priority).order_by(Priority.rank)).all()
        self.priorities = {p.id: p.name for p in priorities}
        self.categories = {c.id: c.name for c in session.scalars(select(Category).order_by(Category.sort_order))}
        self.products = {p.id: p.name for p in session.scalars(select(Product).order_by(Product.model))}

    @staticmethod
    def of(mapping: dict, key) -> str:
        if key is None:
            return _("(none)")
        return mapping.get(key) or str(key)

    @staticmethod
    def order(mapping: dict, keys) -> list:
        """Keys in the reference order, unknown ones after, None (no value) last."""
        known = [k for k in mapping if k in keys]
        rest = sorted((k for k in keys if k not in mapping and k is not None), key=str)
        return known + rest + ([None] if None in keys else [])


def _ref(value):
    """A relation in a slice: its id, or "none" for tickets without one."""
    return "none" if value is None else value


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _round(value, digits=1):
    return None if value is None else round(value, digits)


# ---------------------------------------------------------------- the period in slices and labels

def _team(scope: A.Scope) -> dict:
    return {"team": scope.team_id} if scope.team_id is not None else {}


def _days(first: date, last: date) -> list[str]:
    """Local days [first, last + 1) as the list's "on or after" / "before" values."""
    return [first.isoformat(), (last + timedelta(days=1)).isoformat()]


def _local(scope: A.Scope, instant) -> str | None:
    return None if instant is None else to_local(instant, scope.tz).strftime("%Y-%m-%d %H:%M:%S")


def _period_token(scope: A.Scope, what) -> str:
    return f"{what} {scope.first_day.isoformat()} {scope.last_day.isoformat()}"


def _day_label(day: date, scope: A.Scope) -> str:
    return day.strftime("%m-%d") if scope.first_day.year == scope.last_day.year else day.isoformat()


def _chart(key, title, definition, *, type_="bar", categories=(), series=(), headers=(), rows=(), stacked=False,
           percent=False, note=None, horizontal=False, axes=None) -> dict:
    series = list(series)
    return {"key": key, "title": title, "definition": definition, "type": type_, "stacked": stacked,
            "percent": percent, "horizontal": horizontal, "categories": list(categories), "series": series,
            "axes": axes or [], "table": {"headers": list(headers), "rows": [list(r) for r in rows]},
            "note": note, "empty": not any(v for s in series for v in s["data"] if v)}


def _series(name, data, drill, axis=0, unit="") -> dict:
    return {"name": name, "data": list(data), "drill": list(drill), "axis": axis, "unit": unit}


# ---------------------------------------------------------------- volume

def volume_day(fig: A.Figures, names: Names) -> dict:
    scope = fig.scope
    channels = [c for c in CHANNELS if any(k == c for _, k in fig.volume_day)]
    channels += sorted({k for _, k in fig.volume_day} - set(channels), key=str)
    days = scope.days
    series = []
    for channel in channels:
        series.append(_series(str(CHANNELS.get(channel, channel)),
                              [fig.volume_day.get((d, channel), 0) for d in days],
                              [{"created": _days(d, d), "channel": channel, **_team(scope)} for d in days]))
    headers = [_("Day")] + [s["name"] for s in series] + [_("Total")]
    rows = [[d.isoformat()] + [fig.volume_day.get((d, c), 0) for c in channels]
            + [sum(fig.volume_day.get((d, c), 0) for c in channels)] for d in days]
    return _chart("volume_day", _("Tickets created per day, by channel"),
                  _("Tickets created on each local day of the period, by the channel they came through."),
                  stacked=True, categories=[_day_label(d, scope) for d in days], series=series,
                  headers=headers, rows=rows)


def _volume_by(fig: A.Figures, key: str, figures: dict, mapping: dict, column: str, title: str, definition: str,
               heading: str) -> dict:
    scope = fig.scope
    keys = sorted(figures, key=lambda k: (-figures[k], Names.of(mapping, k)))
    total = sum(figures.values())
    series = [_series(_("Tickets"), [figures[k] for k in keys],
                      [{"created": _days(scope.first_day, scope.last_day), column: _ref(k), **_team(scope)}
                       for k in keys])]
    rows = [[Names.of(mapping, k), figures[k], _pct(figures[k], total)] for k in keys]
    return _chart(key, title, definition, categories=[Names.of(mapping, k) for k in keys], series=series,
                  headers=[heading, _("Tickets"), _("Share (%)")], rows=rows, horizontal=True)


def volume_category(fig: A.Figures, names: Names) -> dict:
    return _volume_by(fig, "volume_category", fig.volume_category, names.categories, "category",
                      _("Tickets created, by category"), _("Tickets created in the period, by category."),
                      _("Category"))


def volume_product(fig: A.Figures, names: Names) -> dict:
    return _volume_by(fig, "volume_product", fig.volume_product, names.products, "product",
                      _("Tickets created, by product"),
                      _("Tickets created in the period, by the product model they are about."), _("Product"))


# ---------------------------------------------------------------- backlog

def age_labels() -> list[str]:
    return [_("Up to 1 day"), _("1–3 days"), _("3–7 days"), _("7–30 days"), _("Over 30 days")]


def backlog(fig: A.Figures, names: Names) -> dict:
    scope = fig.scope
    labels = age_labels()
    priorities = Names.order(names.priorities, {p for _, p in fig.backlog})
    series = []
    for priority in priorities:
        drills = []
        for bucket in range(len(A.AGE_BUCKETS)):
            created_from, created_before = A.age_bounds(scope, bucket)
            drills.append({"list": "open", "created": [_local(scope, created_from), _local(scope, created_before)],
                           "priority": _ref(priority), **_team(scope)})
        series.append(_series(Names.of(names.priorities, priority),
                              [fig.backlog.get((b, priority), 0) for b in range(len(labels))], drills))
    rows = [[labels[b]] + [fig.backlog.get((b, p), 0) for p in priorities]
            + [sum(fig.backlog.get((b, p), 0) for p in priorities)] for b in range(len(labels))]
    headers = [_("Age")] + [s["name"] for s in series] + [_("Total")]
    return _chart("backlog", _("Open tickets by age (now)"),
                  _("Tickets open right now, by the time since they were created: up to 1 day, more than 1 and up "
                    "to 3 days, and so on. The backlog is today's: the period does not change it, the team does."),
                  stacked=True, categories=labels, series=series, headers=headers, rows=rows)


# ---------------------------------------------------------------- SLA compliance

TARGETS = ("response", "resolution")


def _target_names() -> dict:
    return {"response": _("First response"), "resolution": _("Resolution")}


def _sla_rollup(fig: A.Figures, position: int) -> dict:
    """{team or priority id: {target: Outcomes}} from the (team, priority) figures."""
    out: dict = {}
    for key, targets in fig.sla.items():
        slot = out.setdefault(key[position], {t: A.Outcomes() for t in TARGETS})
        for target in TARGETS:
            slot[target].add(targets[target])
    return out


def _sla_chart(fig: A.Figures, key: str, mapping: dict, position: int, column: str, title: str, heading: str) -> dict:
    scope = fig.scope
    rolled = _sla_rollup(fig, position)
    keys = Names.order(mapping, set(rolled))
    target_names = _target_names()
    series = []
    for target in TARGETS:
        series.append(_series(target_names[target], [_round(_pct(rolled[k][target].met, rolled[k][target].decided))
                                                     for k in keys],
                              [{"created": _days(scope.first_day, scope.last_day), column: _ref(k),
                                target: "breached", **_team(scope)} for k in keys], unit="%"))
    headers = [heading]
    for target in TARGETS:
        name = target_names[target]
        headers += [_("%(target)s: met", target=name), _("%(target)s: breached", target=name),
                    _("%(target)s: pending", target=name), _("%(target)s: no deadline", target=name),
                    _("%(target)s: compliance (%%)", target=name)]
    rows = []
    totals = {t: A.Outcomes() for t in TARGETS}
    for k in keys:
        row = [Names.of(mapping, k)]
        for target in TARGETS:
            o = rolled[k][target]
            totals[target].add(o)
            row += [o.met, o.breached, o.pending, o.unpromised, _pct(o.met, o.decided)]
        rows.append(row)
    if keys:
        row = [_("All")]
        for target in TARGETS:
            o = totals[target]
            row += [o.met, o.breached, o.pending, o.unpromised, _pct(o.met, o.decided)]
        rows.append(row)
    breached = {t: [rolled[k][t].breached for k in keys] for t in TARGETS}
    chart = _chart(key, title, sla_definition(), categories=[Names.of(mapping, k) for k in keys], series=series,
                   headers=headers, rows=rows, percent=True,
                   note=_("Click a bar to list the tickets that breached that deadline."))
    chart["breached"] = breached  # shown in the tooltip next to the share
    return chart


def sla_definition() -> str:
    return _("Of the tickets created in the period (cancelled ones aside), the share that met the deadline among "
             "those decided: met = responded (or resolved) by the deadline; breached = done late, or not done and "
             "the deadline has passed. Not done with time left is pending; a ticket without that deadline made no "
             "promise. Neither is counted in the share.")


def sla_team(fig: A.Figures, names: Names) -> dict:
    return _sla_chart(fig, "sla_team", names.teams, 0, "team", _("SLA compliance by team"), _("Team"))


def sla_priority(fig: A.Figures, names: Names) -> dict:
    return _sla_chart(fig, "sla_priority", names.priorities, 1, "priority", _("SLA compliance by priority"),
                      _("Priority"))


# ---------------------------------------------------------------- first-time fix, time to resolve

def _resolutions_by(fig: A.Figures, position: int) -> dict:
    out: dict = {}
    for key, figures in fig.resolutions.items():
        out.setdefault(key[position], A.Resolutions()).add(figures)
    return out


def ftf(fig: A.Figures, names: Names) -> dict:
    scope = fig.scope
    by_team = _resolutions_by(fig, 0)
    keys = Names.order(names.teams, set(by_team))
    period = _days(scope.first_day, scope.last_day)
    series = [
        _series(_("Fixed the first time"), [by_team[k].first_time for k in keys],
                [{"resolved": period, "team": _ref(k), "round": "first"} for k in keys]),
        _series(_("Resolved again after reopening"), [by_team[k].repeated for k in keys],
                [{"resolved": period, "team": _ref(k), "round": "repeat"} for k in keys]),
    ]
    total = A.Resolutions()
    rows = []
    for k in keys:
        r = by_team[k]
        total.add(r)
        rows.append([Names.of(names.teams, k), r.resolved, r.first_time, r.repeated, _pct(r.first_time, r.resolved)])
    if keys:
        rows.append([_("All"), total.resolved, total.first_time, total.repeated,
                     _pct(total.first_time, total.resolved)])
    categories = [f"{Names.of(names.teams, k)} {_pct(by_team[k].first_time, by_team[k].resolved) or 0:g}%"
                  for k in keys]
    return _chart("ftf", _("First-time fix rate by team"),
                  _("Of the tickets resolved in the period, those resolved in their first round: never reopened and "
                    "resolved again. The percentage after each team is its first-time fix rate."),
                  stacked=True, categories=categories, series=series, rows=rows,
                  headers=[_("Team"), _("Resolved"), _("Fixed the first time"), _("Resolved again after reopening"),
                           _("First-time fix rate (%)")])


def mttr(fig: A.Figures, names: Names) -> dict:
    scope = fig.scope
    by_priority = _resolutions_by(fig, 1)
    keys = Names.order(names.priorities, set(by_priority))
    period = _days(scope.first_day, scope.last_day)
    medians = {k: A.median_from_bins(fig.resolve_bins.get(k, {})) for k in keys}
    drills = [{"resolved": period, "priority": _ref(k), **_team(scope)} for k in keys]
    series = [
        _series(_("Mean hours"), [_round(by_priority[k].mean_hours) for k in keys], drills, unit="h"),
        _series(_("Median hours"), [_round(medians[k]) for k in keys], drills, unit="h"),
    ]
    rows = [[Names.of(names.priorities, k), by_priority[k].resolved, _round(by_priority[k].mean_hours),
             _round(medians[k])] for k in keys]
    if keys:
        total = A.Resolutions()
        bins: dict[int, int] = {}
        for k in keys:
            total.add(by_priority[k])
            for b, n in fig.resolve_bins.get(k, {}).items():
                bins[b] = bins.get(b, 0) + n
        rows.append([_("All"), total.resolved, _round(total.mean_hours), _round(A.median_from_bins(bins))])
    return _chart("mttr", _("Time to resolve by priority"),
                  _("Hours from creation to resolution (the last one, for reopened tickets), for the tickets "
                    "resolved in the period; waiting for the customer or for parts included. The median is read "
                    "from 6-minute bins."),
                  categories=[Names.of(names.priorities, k) for k in keys], series=series, rows=rows,
                  headers=[_("Priority"), _("Resolved"), _("Mean hours"), _("Median hours")])


# ---------------------------------------------------------------- satisfaction

def csat_summary(fig: A.Figures) -> dict:
    count = sum(fig.ratings.values())
    stars = sum(s * n for s, n in fig.ratings.items())
    satisfied = sum(n for s, n in fig.ratings.items() if s >= 4)
    return {"ratings": count, "average": round(stars / count, 2) if count else None,
            "satisfied": _pct(satisfied, count)}


def csat(fig: A.Figures, names: Names) -> dict:
    scope = fig.scope
    summary = csat_summary(fig)
    scores = [1, 2, 3, 4, 5]
    series = [_series(_("Ratings"), [fig.ratings.get(s, 0) for s in scores],
                      [{"rated": _period_token(scope, s), **_team(scope)} for s in scores])]
    rows = [[s, fig.ratings.get(s, 0), _pct(fig.ratings.get(s, 0), summary["ratings"])] for s in scores]
    note = (_("Average %(average)s stars, %(satisfied)s%% satisfied (4–5 stars), %(count)s ratings.",
              average=summary["average"], satisfied=summary["satisfied"], count=summary["ratings"])
            if summary["ratings"] else None)
    return _chart("csat", _("Customer ratings (CSAT)"),
                  _("Ratings customers gave in the period, one per resolution (portal or follow-up call): the number "
                    "of each star count, the average and the share of 4 and 5 stars."),
                  categories=[_("%(stars)s stars", stars=s) for s in scores], series=series, rows=rows, note=note,
                  headers=[_("Stars"), _("Ratings"), _("Share (%)")])


def cause_labels() -> dict:
    return {**{k: str(v) for k, v in ROOT_CAUSES.items()}, A.UNREVIEWED: _("Not reviewed yet")}


def low_scores(fig: A.Figures, names: Names) -> dict:
    scope = fig.scope
    labels = cause_labels()
    keys = [k for k in labels if fig.low_scores.get(k)] + sorted(set(fig.low_scores) - set(labels), key=str)
    series = [_series(_("Low-score cases"), [fig.low_scores[k] for k in keys],
                      [{"cause": _period_token(scope, k), **_team(scope)} for k in keys])]
    total = sum(fig.low_scores.values())
    rows = [[labels.get(k, k), fig.low_scores[k], _pct(fig.low_scores[k], total)] for k in keys]
    return _chart("low_scores", _("Low-score causes"),
                  _("Low-score cases (a poor rating or \"problem persists\") opened in the period, by the root cause "
                    "the manager recorded in the review."),
                  categories=[labels.get(k, k) for k in keys], series=series, rows=rows, horizontal=True,
                  headers=[_("Root cause"), _("Cases"), _("Share (%)")])


# ---------------------------------------------------------------- engineers

def engineers(fig: A.Figures, names: Names) -> dict:
    scope = fig.scope
    shown = fig.engineers[:ENGINEERS_SHOWN]
    series = [
        _series(_("Open tickets"), [e.open_tickets for e in shown],
                [{"list": "open", "assignee": e.engineer_id} for e in shown]),
        _series(_("Utilisation (%)"), [_round(None if e.utilisation is None else 100 * e.utilisation)
                                       for e in shown],
                [{"worked": _period_token(scope, e.engineer_id)} for e in shown], axis=1, unit="%"),
    ]
    planned_from = {"shifts": _("Shifts"), "calendar": _("Office calendar")}
    rows = [[e.name, Names.of(names.teams, e.team_id), e.open_tickets, e.tickets_worked,
             round(e.worked_seconds / 3600, 1), round(e.planned_seconds / 3600, 1), planned_from[e.planned_from],
             _round(None if e.utilisation is None else 100 * e.utilisation)] for e in fig.engineers]
    note = (_("The %(shown)s engineers with the most open tickets; the export lists all %(count)s.",
              shown=len(shown), count=len(fig.engineers)) if len(fig.engineers) > len(shown) else None)
    return _chart("engineers", _("Engineer load and utilisation"),
                  _("Open tickets per engineer right now, and utilisation in the period: hands-on time (tickets in "
                    "progress with them, from check-in to resolution or a pause for parts or the customer) divided "
                    "by their planned time — their weekly shifts, or the office calendar when they have none — less "
                    "leave, both counted up to now."),
                  categories=[e.name for e in shown], series=series, rows=rows, note=note,
                  axes=[_("Open tickets"), _("Utilisation (%)")],
                  headers=[_("Engineer"), _("Team"), _("Open tickets"), _("Tickets worked on"), _("Hands-on hours"),
                           _("Planned hours"), _("Planned from"), _("Utilisation (%)")])


# ---------------------------------------------------------------- the page

BUILDERS = {
    "volume_day": volume_day,
    "volume_category": volume_category,
    "volume_product": volume_product,
    "backlog": backlog,
    "sla_team": sla_team,
    "sla_priority": sla_priority,
    "ftf": ftf,
    "mttr": mttr,
    "csat": csat,
    "low_scores": low_scores,
    "engineers": engineers,
}
# The figures each chart needs (a single chart's export runs only these queries).
NEEDS = {
    "volume_day": {"volume_day"}, "volume_category": {"volume_mix"}, "volume_product": {"volume_mix"},
    "backlog": {"backlog"}, "sla_team": {"sla"}, "sla_priority": {"sla"}, "ftf": {"resolved"},
    "mttr": {"resolved"}, "csat": {"ratings"}, "low_scores": {"low_scores"},
    "engineers": {"engineers"},
}


# The page asks for its figures one query at a time, each its own request, so that it shows at once and each
# chart appears as soon as its query is done (in parallel, on as many workers as the server has); charts that
# share a query come in one answer.
def _groups() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, (query,) in NEEDS.items():
        out.setdefault(query, []).append(key)
    return out


GROUPS = _groups()


def outline(session: Session, scope: A.Scope) -> list[dict]:
    """Every chart's title, definition and fixed note, without figures: what the page shows while they come."""
    names, empty = Names(session), A.Figures(scope)
    return [BUILDERS[k](empty, names) for k in BUILDERS]


def charts(session: Session, scope: A.Scope, keys=None) -> list[dict]:
    keys = list(keys or BUILDERS)
    needed = set().union(*(NEEDS[k] for k in keys))
    fig = A.figures(session, scope, only=needed)
    names = Names(session)
    return [BUILDERS[k](fig, names) for k in keys]


def kpis(charts_by_key: dict, fig_scope: A.Scope) -> list[dict]:
    """The headline figures above the charts, read from the charts' tables (so they agree with them)."""
    out = []
    day = charts_by_key.get("volume_day")
    if day is not None:
        out.append({"key": "created", "label": _("Tickets created"),
                    "value": sum(r[-1] for r in day["table"]["rows"]),
                    "drill": {"created": _days(fig_scope.first_day, fig_scope.last_day), **_team(fig_scope)}})
    backlog_chart = charts_by_key.get("backlog")
    if backlog_chart is not None:
        out.append({"key": "open", "label": _("Open now"), "value": sum(r[-1] for r in backlog_chart["table"]["rows"]),
                    "drill": {"list": "open", **_team(fig_scope)}})
    # A chart without rows (nothing in the period) still has its headline figure, shown as "—".
    sla_chart = charts_by_key.get("sla_team")
    if sla_chart is not None:
        total = sla_chart["table"]["rows"][-1] if sla_chart["table"]["rows"] else [None] * 11
        out.append({"key": "response", "label": _("First response met"), "value": total[5], "unit": "%"})
        out.append({"key": "resolution", "label": _("Resolution met"), "value": total[10], "unit": "%"})
    ftf_chart = charts_by_key.get("ftf")
    if ftf_chart is not None:
        rows = ftf_chart["table"]["rows"]
        out.append({"key": "ftf", "label": _("First-time fix"), "value": rows[-1][4] if rows else None, "unit": "%"})
    mttr_chart = charts_by_key.get("mttr")
    if mttr_chart is not None:
        rows = mttr_chart["table"]["rows"]
        out.append({"key": "mttr", "label": _("Mean time to resolve"), "value": rows[-1][2] if rows else None,
                    "unit": "h"})
    csat_chart = charts_by_key.get("csat")
    if csat_chart is not None:
        rows = csat_chart["table"]["rows"]
        count = sum(r[1] for r in rows)
        out.append({"key": "csat", "label": _("Average rating"),
                    "value": round(sum(r[0] * r[1] for r in rows) / count, 2) if count else None, "unit": "★"})
    return out
