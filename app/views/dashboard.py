"""报表 — the managers' dashboards: ECharts served from app/static (nothing from the internet), filtered by a period
of local days and a team, every bar and point a link to the ticket list showing exactly the tickets behind it, and
each chart's table as an Excel workbook. The figures come from app.services.analytics; this view only reads the
filters, turns drill-down slices into ticket-list URLs and renders.
"""
from datetime import date

from flask import Response, current_app, flash, jsonify, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.filters import (
    FilterEqual, FilterGreater, FilterRelationOneToManyEqual, FilterSmaller,
)
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import Team
from app.models.mixins import current_language
from app.services import analytics, analytics_charts, analytics_export
from app.services.analytics import FIRST_ROUND_BELOW, MAX_DAYS
from app.timeutil import parse_day, to_local, utcnow
from app.views import ticket_filters as tf
from app.views.tickets import OpenTicketView, TicketView

# A slice's relations and the ticket-list column each filters.
RELATIONS = {"team": "team", "priority": "priority", "category": "category", "product": "product",
             "assignee": "assignee"}
PERIODS = {"created": "created_at", "resolved": "resolved_at"}
DEADLINES = {"response": "first_response_due_at", "resolution": "resolution_due_at"}
TOKENS = {"rated": ("resolution_round", tf.FilterRatedStars), "cause": ("resolution_round", tf.FilterLowScoreCause),
          "worked": ("assignee", tf.FilterWorkedOn)}


class DashboardView(BaseView):
    route_base = "/dashboard"
    class_permission_name = "Dashboard"
    default_view = "index"
    # One permission for the page and its exports: whoever sees a chart may take its figures away.
    method_permission_name = {"index": "read", "data": "read", "export": "read"}

    # ------------------------------------------------------------ filters

    def _scope(self, warn: bool = False) -> analytics.Scope:
        """The period (local days, both included; last 30 days by default) and the team from the query string;
        `warn` tells the reader what was corrected (the page does, its figures' requests stay silent)."""
        tz, now = current_app.config["TIMEZONE"], utcnow()
        first, last = analytics.default_period(now, tz)
        raw_first, raw_last = request.args.get("from", ""), request.args.get("to", "")
        warnings = []
        if raw_first or raw_last:
            parsed_first, parsed_last = parse_day(raw_first or raw_last), parse_day(raw_last or raw_first)
            if parsed_first is None or parsed_last is None:
                warnings.append(_("Dates are written like 2026-11-03; showing the last 30 days instead."))
            else:
                first, last = parsed_first, parsed_last
                if first > last:
                    first, last = last, first
                if (last - first).days >= MAX_DAYS:
                    first = date.fromordinal(last.toordinal() - MAX_DAYS + 1)
                    warnings.append(_("A period is at most %(days)s days; showing the %(days)s days up to %(last)s.",
                                      days=MAX_DAYS, last=last.isoformat()))
        for warning in warnings if warn else ():
            flash(warning, "warning")
        raw_team = request.args.get("team", "")
        team_id = int(raw_team) if raw_team.isascii() and raw_team.isdigit() and db.session.get(Team, int(raw_team)) else None
        return analytics.make_scope(first, last, tz=tz, now=now, team_id=team_id)

    def _filter_args(self, scope: analytics.Scope) -> dict:
        args = {"from": scope.first_day.isoformat(), "to": scope.last_day.isoformat()}
        if scope.team_id is not None:
            args["team"] = scope.team_id
        return args

    # ------------------------------------------------------------ drill-down

    def _view(self, view_class):
        return next(v for v in self.appbuilder.baseviews if type(v) is view_class)

    def drill_url(self, spec: dict | None) -> str | None:
        """The ticket list (or the open-ticket queue) filtered to exactly the tickets a figure counted."""
        if not spec:
            return None
        view_class = OpenTicketView if spec.get("list") == "open" else TicketView
        view = self._view(view_class)
        args: dict[str, object] = {}

        def add(column, filter_class, value):
            args[f"_flt_{tf.filter_position(view, column, filter_class)}_{column}"] = value

        for key, column in PERIODS.items():
            if key in spec:
                start, before = spec[key]
                if start:
                    add(column, tf.FilterLocalFrom, start)
                if before:
                    add(column, tf.FilterLocalBefore, before)
        if "channel" in spec:
            add("channel", FilterEqual, spec["channel"])
        for key, column in RELATIONS.items():
            if key in spec:
                if spec[key] == "none":
                    add(column, tf.FilterRelationEmpty, "")
                else:
                    add(column, FilterRelationOneToManyEqual, spec[key])
        for key, column in DEADLINES.items():
            if key in spec:
                add(column, tf.FilterDeadlineBreached if spec[key] == "breached" else tf.FilterDeadlineMet, "")
        if spec.get("round") == "first":
            add("resolution_round", FilterSmaller, FIRST_ROUND_BELOW)
        elif spec.get("round") == "repeat":
            add("resolution_round", FilterGreater, FIRST_ROUND_BELOW - 1)
        for key, (column, filter_class) in TOKENS.items():
            if key in spec:
                add(column, filter_class, spec[key])
        return url_for(f"{view_class.__name__}.list", **args)

    def _with_links(self, chart: dict) -> dict:
        for series in chart["series"]:
            series["links"] = [self.drill_url(spec) for spec in series.pop("drill")]
        return chart

    # ------------------------------------------------------------ pages

    @expose("/")
    @has_access
    def index(self):
        """The page without its figures: filters, the headline figures' and the charts' places, titles and
        definitions. Its script asks for each query's figures (`data`) at once and draws each chart as it comes."""
        scope = self._scope(warn=True)
        filter_args = self._filter_args(scope)
        charts = analytics_charts.outline(db.session, scope)
        kpis = [{"key": k["key"], "label": k["label"]}
                for k in analytics_charts.kpis({c["key"]: c for c in charts}, scope)]
        for chart in charts:
            chart["export"] = url_for("DashboardView.export", key=chart["key"], **filter_args)
        teams = db.session.scalars(select(Team).order_by(Team.code)).all()
        groups = [{"key": key, "charts": keys, "url": url_for("DashboardView.data", key=key, **filter_args)}
                  for key, keys in analytics_charts.GROUPS.items()]
        payload = {"locale": current_language(), "groups": groups,
                   "labels": {"empty": _("No tickets in this period."), "breached": _("breached"),
                              "open": _("Click for the tickets"), "failed": _("The figures could not be loaded."),
                              "retry": _("Try again")}}
        return self.render_template(
            "dashboard/index.html", title=_("Dashboards"), scope=scope, teams=teams, charts=charts, kpis=kpis,
            payload=payload, export_all=url_for("DashboardView.export", key="all", **filter_args),
            quick=self._quick_periods(scope))

    @expose("/data/<key>")
    @has_access
    def data(self, key):
        """One query's charts (series, drill-down links, tables, notes) and the headline figures read from them."""
        if key not in analytics_charts.GROUPS:
            return jsonify({"message": _("No such chart.")}), 404
        scope = self._scope()
        charts = [self._with_links(c) for c in analytics_charts.charts(db.session, scope, analytics_charts.GROUPS[key])]
        kpis = analytics_charts.kpis({c["key"]: c for c in charts}, scope)
        for kpi in kpis:
            kpi["link"] = self.drill_url(kpi.pop("drill", None))
        return jsonify({"charts": charts, "kpis": kpis})

    def _quick_periods(self, scope: analytics.Scope) -> list[tuple[str, str]]:
        today = to_local(utcnow(), current_app.config["TIMEZONE"]).date()
        team = {"team": scope.team_id} if scope.team_id is not None else {}
        periods = [(_("Last 7 days"), date.fromordinal(today.toordinal() - 6), today),
                   (_("Last 30 days"), date.fromordinal(today.toordinal() - 29), today),
                   (_("This month"), today.replace(day=1), today),
                   (_("This year"), today.replace(month=1, day=1), today)]
        return [(label, url_for("DashboardView.index", **{"from": a.isoformat(), "to": b.isoformat()}, **team))
                for label, a, b in periods]

    @expose("/export/<key>")
    @has_access
    def export(self, key):
        """One chart's table (or all of them, one sheet each) as an Excel workbook."""
        keys = list(analytics_charts.BUILDERS) if key == "all" else [key]
        if not set(keys) <= set(analytics_charts.BUILDERS):
            return Response(_("No such chart."), status=404, mimetype="text/plain")
        scope = self._scope()
        charts = analytics_charts.charts(db.session, scope, keys)
        team = db.session.get(Team, scope.team_id) if scope.team_id is not None else None
        content = analytics_export.workbook(
            charts, period=f"{scope.first_day.isoformat()} – {scope.last_day.isoformat()}",
            team=team.name if team is not None else _("All teams"),
            generated=to_local(utcnow(), current_app.config["TIMEZONE"]))
        filename = f"dashboard-{key}-{scope.first_day:%Y%m%d}-{scope.last_day:%Y%m%d}.xlsx"
        response = Response(content, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
