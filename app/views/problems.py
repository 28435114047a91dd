"""问题管理: recurring-problem groups per product model, and the problem records they are linked to."""
from datetime import date, datetime, timedelta

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, ModelView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectField

from app.extensions import db
from app.labels import PROBLEM_LABELS
from app.models import Product, Ticket
from app.models.problem import Problem, ProblemTicket
from app.services import problems, recurring
from app.services.errors import ServiceError
from app.timeutil import from_local, parse_day, to_local, utcnow
from app.views.datamodel import FormInterface
from app.views.formatting import label_of, local_time

MAX_DAYS = 366


def _day(text: str | None, default: date) -> date:
    return parse_day(text) or default


def _period() -> tuple[date, date, datetime, datetime]:
    """The local days asked for (default: the last 30 days, today included) and the UTC range they cover."""
    tz = current_app.config["TIMEZONE"]
    today = to_local(utcnow(), tz).date()
    last = _day(request.values.get("end"), today)
    first = _day(request.values.get("start"), last - timedelta(days=29))
    if first > last:
        first, last = last, first
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    return first, last, from_local(datetime.combine(first, datetime.min.time()), tz), \
        from_local(datetime.combine(last + timedelta(days=1), datetime.min.time()), tz)


def _int(name: str) -> int | None:
    value = request.values.get(name, "")
    return int(value) if value.isascii() and value.isdigit() else None


def _min_size() -> int:
    return min(max(_int("min_size") or 3, 2), 100)


class RecurringProblemsView(BaseView):
    route_base = "/recurring"
    class_permission_name = "RecurringProblems"
    method_permission_name = {"index": "list", "group": "list", "create_problem": "link", "link": "link"}
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        first, last, start, end = _period()
        product_id = _int("product")
        grouping = recurring.find(db.session, start=start, end=end, product_id=product_id, min_size=_min_size())
        return self.render_template(
            "problems/recurring.html", first=first, last=last, product_id=product_id, min_size=_min_size(),
            grouping=grouping, products=db.session.scalars(select(Product).order_by(Product.model)).all(),
            names=recurring.product_names(db.session, grouping.clusters), problems_by_id=self._problems(grouping),
            open_problems=self._open_problems(), can_link=self._can_link(),
            limit=recurring.MAX_TICKETS_PER_PRODUCT)

    @expose("/group")
    @has_access
    def group(self):
        first, last, start, end = _period()
        found = self._cluster(start, end)
        if found is None:
            flash(_("This group has changed since the list was shown: here is the list as it is now."), "warning")
            return redirect(url_for("RecurringProblemsView.index", start=first, end=last, product=_int("product")))
        tickets = db.session.scalars(select(Ticket).where(Ticket.id.in_(found.ticket_ids))
                                     .options(selectinload(Ticket.assignee)).order_by(Ticket.id.desc())).all()
        return self.render_template(
            "problems/group.html", first=first, last=last, cluster=found, tickets=tickets,
            product=db.session.get(Product, found.product_id), min_size=_min_size(),
            problems_by_id={p.id: p for p in db.session.scalars(
                select(Problem).where(Problem.id.in_(list(found.problems))))},
            open_problems=self._open_problems(found.product_id), can_link=self._can_link())

    @expose("/problem", methods=["POST"])
    @has_access
    def create_problem(self):
        first, last, start, end = _period()
        found = self._cluster(start, end)
        if found is None:
            flash(_("This group has changed since the list was shown: here is the list as it is now."), "warning")
            return redirect(url_for("RecurringProblemsView.index", start=first, end=last))
        problem, linked = problems.from_cluster(db.session, product_id=found.product_id, words=found.words,
                                                ticket_ids=found.ticket_ids, now=utcnow(), actor=g.user)
        db.session.commit()
        flash(_("Problem %(ref)s opened with %(count)s ticket(s) of the group.", ref=problem.reference, count=linked),
              "success")
        return redirect(url_for("ProblemView.show", pk=problem.id))

    @expose("/link", methods=["POST"])
    @has_access
    def link(self):
        first, last, start, end = _period()
        problem = db.session.get(Problem, _int("problem") or 0)
        if problem is None:
            flash(_("Choose the problem to link the group to."), "danger")
            return redirect(request.referrer or url_for("RecurringProblemsView.index"))
        found = self._cluster(start, end)
        if found is None:
            flash(_("This group has changed since the list was shown: here is the list as it is now."), "warning")
            return redirect(url_for("RecurringProblemsView.index", start=first, end=last))
        linked = problems.link(db.session, problem, found.ticket_ids, now=utcnow(), actor=g.user)
        db.session.commit()
        skipped = found.size - linked - found.problems.get(problem.id, 0)
        message = _("%(count)s ticket(s) linked to %(ref)s.", count=linked, ref=problem.reference)
        if skipped > 0:
            message += " " + _("%(count)s were already linked to another problem and stay there.", count=skipped)
        flash(message, "success")
        return redirect(url_for("ProblemView.show", pk=problem.id))

    def _cluster(self, start, end) -> recurring.Cluster | None:
        product_id = _int("product")
        words = tuple(w for w in request.values.get("words", "").split() if w)
        if product_id is None or not words:
            abort(400)
        return recurring.cluster(db.session, start=start, end=end, product_id=product_id, words=words,
                                 min_size=_min_size())

    def _problems(self, grouping) -> dict[int, Problem]:
        ids = {p for c in grouping.clusters for p in c.problems}
        return {p.id: p for p in db.session.scalars(select(Problem).where(Problem.id.in_(ids)))} if ids else {}

    def _open_problems(self, product_id=None) -> list[Problem]:
        query = select(Problem).where(Problem.state != problems.RESOLVED).order_by(Problem.id.desc()).limit(200)
        if product_id is not None:
            query = query.where((Problem.product_id == product_id) | Problem.product_id.is_(None))
        return db.session.scalars(query).all()

    def _can_link(self) -> bool:
        return self.appbuilder.sm.has_access("can_link", self.class_permission_name)


class ProblemView(ModelView):
    datamodel = FormInterface(Problem, load=[selectinload(Problem.product)])
    class_permission_name = "Problem"
    method_permission_name = {"unlink": "edit"}
    list_title = _l("Problem records")
    show_title = _l("Problem record")
    add_title = _l("New problem record")
    edit_title = _l("Edit problem record")
    label_columns = PROBLEM_LABELS
    base_order = ("id", "desc")
    list_columns = ["reference", "title", "product", "state", "updated_at"]
    search_columns = ["title", "product", "state", "keywords", "root_cause"]
    add_columns = edit_columns = ["title", "product", "state", "keywords", "root_cause", "workaround"]
    show_columns = ["reference", "title", "product", "state", "keywords", "root_cause", "workaround", "created_by",
                    "created_at", "resolved_at"]
    show_template = "problems/show.html"
    add_form_extra_fields = edit_form_extra_fields = {
        "state": SelectField(_l("State"), choices=list(problems.STATES.items()), default=problems.OPEN),
    }
    description_columns = {
        "keywords": _l("The words the recurring-problem group was found by."),
        "workaround": _l("What clerks and engineers can do for customers until the cause is fixed."),
    }
    formatters_columns = {"state": label_of(problems.STATES), "updated_at": local_time, "created_at": local_time,
                          "resolved_at": local_time}

    def pre_add(self, item):
        item.created_by_id = getattr(g.user, "id", None)
        problems.prepare(item, now=utcnow())

    def pre_update(self, item):
        problems.prepare(item, now=utcnow())

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        widgets = self._show(pk)
        problem = db.session.get(Problem, int(pk))
        links = db.session.scalars(select(ProblemTicket).where(ProblemTicket.problem_id == problem.id)
                                   .options(selectinload(ProblemTicket.ticket))
                                   .order_by(ProblemTicket.ticket_id.desc()).limit(500)).all()
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets, related_views=self._related_views,
            problem=problem, links=links, linked=problems.linked_count(db.session, problem.id),
            can_edit=self.appbuilder.sm.has_access("can_edit", self.class_permission_name))

    @expose("/unlink/<int:pk>/<int:ticket_id>", methods=["POST"])
    @has_access
    def unlink(self, pk, ticket_id):
        problem = db.session.get(Problem, pk) or abort(404)
        try:
            problems.unlink(db.session, problem, ticket_id)
        except ServiceError as exc:
            flash(str(exc), "danger")
        else:
            db.session.commit()
            flash(_("The ticket is no longer linked to this problem."), "info")
        return redirect(url_for("ProblemView.show", pk=pk))
