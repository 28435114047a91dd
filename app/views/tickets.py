"""The ticket console: list, page with timeline and actions, forms. Every change calls app.services."""
from flask import Response, abort, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView
from flask_appbuilder.actions import action
from flask_appbuilder.baseviews import expose
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import HiddenField, SelectField
from wtforms.validators import DataRequired

from app.access import PoolTicketsFilter, VisibleTicketsFilter
from app.extensions import db
from app.models.mixins import current_language
from app.labels import EVENT_LABELS, TICKET_LABELS
from app.models import Engineer, SparePart, Team, Ticket, TicketAttachment, TicketEvent, TicketPart
from app.services import assign as assign_service
from app.services import dispatch_text, explain, inventory, inventory_text, kb, notify, parts, problems, similar, sla
from app.services import intake as intake_service
from app.services import status as st
from app.services import tickets as ticket_service
from app.services.errors import ServiceError
from app.services.roles import sees_all_tickets
from app.services.timeline import describe as timeline_text
from app.services.visibility import engineer_of
from app.services.vocabulary import CHANNELS, WARRANTY_STATUSES, choices
from app.timeutil import utcnow
from app.views.datamodel import FormInterface
from app.views.ticket_filters import SEARCH_LABELS, TicketInterface
from app.views.formatting import blanks, label_of, local_time, status_badge

TIME_COLUMNS = ("created_at", "updated_at", "first_response_due_at", "arrival_due_at", "resolution_due_at",
                "responded_at", "departed_at", "arrived_at", "resolved_at", "closed_at", "last_reported_at")


class TicketView(ModelView):
    # The dashboards' drill-down filters (local days, SLA outcomes, ratings…) on top of FAB's own.
    datamodel = TicketInterface(Ticket)
    class_permission_name = "Ticket"
    base_filters = [["id", VisibleTicketsFilter, None]]
    base_order = ("created_at", "desc")
    # Tickets are records of what the company promised: they are cancelled, never deleted.
    exclude_route_methods = {"delete", "download"}
    # Desk work (review, split, merge) is what may assign; reading an attachment is reading the ticket.
    method_permission_name = {"review": "assign", "split": "assign", "merge": "assign", "attachment": "show",
                              "by_number": "show",
                              "redispatch": "assign", "transfer": "assign", "reject": "reject",
                              "need_part": "assign", "drop_part": "assign"}

    list_title = _l("Tickets")
    show_title = _l("Ticket")
    add_title = _l("New ticket")
    edit_title = _l("Edit ticket")
    label_columns = {**TICKET_LABELS, **SEARCH_LABELS}

    list_columns = ["number", "status", "priority", "category", "subject", "contact_name",
                    "contact_phone", "assignee", "resolution_due_at", "escalation_level", "created_at"]
    search_columns = ["number", "status", "channel", "priority", "category", "service_type", "team",
                      "assignee", "contact_phone", "contact_name", "subject", "created_at", "resolution_due_at",
                      "escalation_level", "checkin_far", "resolution_code",
                      # what the dashboards drill down by
                      "product", "resolved_at", "first_response_due_at", "resolution_round"]
    show_fieldsets = [
        (_l("Summary"), {"fields": ["number", "status", "priority", "category", "service_type", "channel",
                                     "subject", "description"]}),
        (_l("Customer and device"), {"fields": ["customer", "contact_name", "contact_phone", "contact_email",
                                                 "contact_address", "asset", "product"]}),
        (_l("Handling"), {"fields": ["team", "assignee", "sla_policy", "escalation_level", "first_response_due_at",
                                      "arrival_due_at", "resolution_due_at", "responded_at", "departed_at",
                                      "arrived_at", "checkin_distance_m", "checkin_far", "resolved_at",
                                      "resolution_code", "resolution_note", "parts_charge", "closed_at",
                                      "duplicate_of", "external_ref", "created_at", "updated_at"]}),
        (_l("Intake"), {"fields": ["warranty_status", "confidence", "needs_review", "sentiment", "tags",
                                    "report_count", "last_reported_at", "fault_code"]}),
    ]
    add_columns = ["channel", "customer", "contact_name", "contact_phone", "contact_email", "contact_address",
                   "asset", "product", "category", "service_type", "priority", "subject", "description"]
    edit_columns = ["subject", "description", "customer", "contact_name", "contact_phone", "contact_email",
                    "contact_address", "asset", "product", "category", "service_type", "priority", "team",
                    "expected_version"]
    add_form_extra_fields = {
        "channel": SelectField(_l("Channel"), choices=choices(CHANNELS), default="phone",
                               validators=[DataRequired()], widget=Select2Widget()),
    }
    edit_form_extra_fields = {"expected_version": HiddenField()}
    # The search's value for the code columns (app.views.ticket_filters.CODE_COLUMNS): picked, not typed.
    search_form_extra_fields = {
        "status": SelectField(_l("Status"), choices=choices(st.LABELS), widget=Select2Widget()),
        "channel": SelectField(_l("Channel"), choices=choices(CHANNELS), widget=Select2Widget()),
    }
    formatters_columns = {
        **blanks("customer", "contact_name", "contact_phone", "contact_email", "contact_address", "asset",
                 "product", "category", "service_type", "priority", "team", "assignee", "duplicate_of",
                 "external_ref", "description"),
        "status": status_badge,
        "channel": label_of(CHANNELS),
        "warranty_status": label_of(WARRANTY_STATUSES),
        **blanks("confidence", "sentiment", "tags", "fault_code", "checkin_distance_m", "resolution_code",
                 "resolution_note", "parts_charge"),
        "escalation_level": lambda level: level or "",  # most tickets never escalate: keep the column quiet
        **{c: local_time for c in TIME_COLUMNS},
    }
    show_template = "ticket/show.html"

    # --- form hooks: the service does the work, the view only passes the user and the clock ---

    def pre_add(self, item):
        ticket_service.register_new(db.session, item, actor=g.user, now=utcnow())

    def post_add(self, item):
        """A ticket typed in by a clerk is classified by them: it goes to dispatch like any other."""
        assign_service.auto_dispatch(db.session, item, now=utcnow())
        db.session.commit()

    def prefill_form(self, form, pk):
        item = self.datamodel.get(pk, self._base_filters)
        form.expected_version.data = item.version

    def pre_update(self, item):
        expected = getattr(item, "expected_version", None)
        try:
            ticket_service.edit_ticket(db.session, item, now=utcnow(), actor=g.user, expected_version=expected)
        except ServiceError:
            db.session.rollback()
            raise

    # --- the ticket page ---

    def _visible_ticket(self, pk):
        return self.datamodel.get(pk, self._base_filters)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        pk = self._deserialize_pk_if_composite(pk)
        widgets = self._show(pk)  # 404 unless this user may see the ticket
        ticket = self._visible_ticket(pk)
        # The timeline with who did each step, in two queries however long it is.
        db.session.execute(select(Ticket).where(Ticket.id == ticket.id)
                           .options(selectinload(Ticket.events).selectinload(TicketEvent.actor))).all()
        def can(permission):  # the page's actions are the ticket's, whichever list it was opened from
            return self.appbuilder.sm.has_access(permission, "Ticket")

        engineers = []
        if can("can_assign"):
            # The ticket's own team first: that is where a clerk looks.
            engineers = db.session.scalars(
                select(Engineer).where(Engineer.active.is_(True))
                .order_by((Engineer.team_id == ticket.team_id).desc() if ticket.team_id else Engineer.name,
                          Engineer.name)
            ).all()
        can_read_problems = self.appbuilder.sm.has_access("can_show", "Problem")
        decision = intake_service.decision_event(ticket)
        reasons = explain.sentences(db.session, (decision.data or {}).get("reasons", [])) if decision else []
        split_done = {(e.data or {}).get("event_id") for e in ticket.events if e.kind == "split"}
        attachments = db.session.scalars(
            select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id).order_by(TicketAttachment.id)
        ).all()
        dispatch_event = next((e for e in reversed(ticket.events) if e.kind in ("dispatched", "pooled")), None)
        mine = ticket.assignee is not None and ticket.assignee.user_id == getattr(g.user, "id", None)
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets,
            related_views=self._related_views, ticket=ticket,
            dispatch=dispatch_view(dispatch_event),
            teams=db.session.scalars(select(Team).order_by(Team.code)).all() if can("can_assign") else [],
            parts_needed=db.session.scalars(select(TicketPart).where(TicketPart.ticket_id == ticket.id)
                                            .options(selectinload(TicketPart.part), selectinload(TicketPart.warehouse))
                                            .order_by(TicketPart.id)).all(),
            part_choices=parts.choices_for(db.session, ticket) if can("can_assign") else [],
            part_states=inventory_text.PART_STATES,
            can_reject=mine and can("can_reject") and ticket.status in (st.ASSIGNED, st.ACCEPTED),
            next_statuses=st.manual_targets(ticket.status) if can("can_transition") else [],
            engineers=engineers, can_note=can("can_note"), can_edit=can("can_edit"),
            can_desk=can("can_assign"), reasons=reasons, split_done=split_done, attachments=attachments,
            clock=sla.clock_view(db.session, ticket, now=utcnow()),
            messages=notify.customer_messages(db.session, ticket.id) if can("can_assign") else [],
            similar_cases=similar.find(db.session, ticket, now=utcnow()),
            articles=kb.suggest(db.session, similar.ticket_text(ticket), language=current_language(),
                                category_id=ticket.category_id, product_id=ticket.product_id),
            sees_all=sees_all_tickets(g.user), language=current_language(),
            problem=problems.of_ticket(db.session, ticket.id) if can_read_problems else None,
            can_read_kb=self.appbuilder.sm.has_access("can_show", "KbArticle"),
            can_write_up=(self.appbuilder.sm.has_access("can_add", "KbArticle")
                          and ticket.status in (st.RESOLVED, st.CLOSED)),
        )

    @expose("/number/<number>")
    @has_access
    def by_number(self, number):
        """A ticket by its number (links from boards, a number typed into the address bar); the ticket page
        itself decides whether this user may see it."""
        ticket_id = db.session.scalar(select(Ticket.id).where(Ticket.number == number))
        if ticket_id is None:
            abort(404)
        return redirect(url_for("TicketView.show", pk=ticket_id))

    def _act(self, pk, action):
        ticket = self._visible_ticket(pk)
        if ticket is None:
            flash(_("Ticket not found."), "danger")
            return redirect(self.get_redirect())
        try:
            action(ticket)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            flash(_("Saved."), "success")
        return redirect(url_for(".show", pk=pk))

    @expose("/transition/<int:pk>", methods=["POST"])
    @has_access
    def transition(self, pk):
        form = request.form
        return self._act(pk, lambda t: ticket_service.transition(
            db.session, t, form.get("to_status", ""), now=utcnow(), actor=g.user,
            reason=form.get("reason"), expected_version=form.get("expected_version")))

    @expose("/assign/<int:pk>", methods=["POST"])
    @has_access
    def assign(self, pk):
        form = request.form

        def do(ticket):
            engineer, raw = None, form.get("engineer_id", "")
            if raw:
                engineer = _row(Engineer, raw)
                if engineer is None:
                    raise ServiceError(_l("Unknown engineer."), field="engineer_id")
            assign_service.reassign(db.session, ticket, engineer, now=utcnow(), actor=g.user,
                                    reason=form.get("reason"), expected_version=form.get("expected_version"))

        return self._act(pk, do)

    @expose("/redispatch/<int:pk>", methods=["POST"])
    @has_access
    def redispatch(self, pk):
        """Run dispatch again now (after the address, skills or shifts were put right)."""
        def do(ticket):
            ticket_service.check_version(ticket, request.form.get("expected_version"))
            if ticket.assignee is not None:
                raise ServiceError(_l("The ticket already has an engineer: reassign it instead."),
                                   field="assignee")
            assign_service.dispatch(db.session, ticket, now=utcnow(), actor=g.user)

        return self._act(pk, do)

    @expose("/transfer/<int:pk>", methods=["POST"])
    @has_access
    def transfer(self, pk):
        form = request.form

        def do(ticket):
            assign_service.transfer(db.session, ticket, _row(Team, form.get("team_id")), reason=form.get("reason", ""), now=utcnow(),
                                    actor=g.user)

        return self._act(pk, do)

    @expose("/parts/<int:pk>", methods=["POST"])
    @has_access
    def need_part(self, pk):
        form = request.form

        def do(ticket):
            inventory.need_and_reserve(db.session, ticket, _row(SparePart, form.get("part_id")), form.get("quantity"),
                                       now=utcnow(), actor=g.user)

        return self._act(pk, do)

    @expose("/parts/<int:pk>/drop/<int:item_id>", methods=["POST"])
    @has_access
    def drop_part(self, pk, item_id):
        return self._act(pk, lambda t: inventory.drop(db.session, t, item_id, now=utcnow(), actor=g.user))

    @expose("/reject/<int:pk>", methods=["POST"])
    @has_access
    def reject(self, pk):
        def do(ticket):
            engineer = engineer_of(db.session, g.user)
            if engineer is None:
                raise ServiceError(_l("Only the assigned engineer can reject the ticket."), field="ticket")
            assign_service.reject(db.session, ticket, engineer, reason=request.form.get("reason", ""),
                                  now=utcnow())

        return self._act(pk, do)

    @expose("/note/<int:pk>", methods=["POST"])
    @has_access
    def note(self, pk):
        return self._act(pk, lambda t: ticket_service.add_note(
            db.session, t, request.form.get("note", ""), now=utcnow(), actor=g.user))


    @expose("/review/<int:pk>", methods=["POST"])
    @has_access
    def review(self, pk):
        return self._act(pk, lambda t: intake_service.mark_reviewed(db.session, t, now=utcnow(), actor=g.user))

    @expose("/split/<int:pk>", methods=["POST"])
    @has_access
    def split(self, pk):
        form = request.form
        created = []

        def do(ticket):
            raw = form.get("event_id", "")
            if not raw.isdigit():
                raise ServiceError(_l("That report is not merged into this ticket."), field="event_id")
            created.append(intake_service.split_report(db.session, ticket, int(raw), now=utcnow(), actor=g.user,
                                                       reason=form.get("reason")))

        response = self._act(pk, do)
        return redirect(url_for(".show", pk=created[0].id)) if created else response

    @expose("/merge/<int:pk>", methods=["POST"])
    @has_access
    def merge(self, pk):
        form = request.form

        def do(ticket):
            number = (form.get("target") or "").strip().upper()
            target = db.session.scalar(select(Ticket).where(Ticket.number == number)) if number else None
            if target is None:
                raise ServiceError(_l("No ticket numbered %(number)s.", number=number or "—"), field="target")
            intake_service.merge_tickets(db.session, ticket, target, now=utcnow(), actor=g.user,
                                         reason=form.get("reason"), expected_version=form.get("expected_version"))

        return self._act(pk, do)

    @expose("/attachment/<int:pk>/<int:attachment_id>", methods=["GET"])
    @has_access
    def attachment(self, pk, attachment_id):
        ticket = self._visible_ticket(pk)
        item = db.session.get(TicketAttachment, attachment_id)
        if ticket is None or item is None or item.ticket_id != ticket.id:
            abort(404)
        # Always a download, never rendered: an attached .html must not run in our origin.
        response = Response(item.content, mimetype="application/octet-stream")
        response.headers["Content-Disposition"] = _content_disposition(item.filename)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _row(model, raw):
    """The row a form's id field names, or None for an empty, malformed or unknown id."""
    raw = raw or ""
    return db.session.get(model, int(raw)) if raw.isdigit() else None


def _content_disposition(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def dispatch_view(event) -> dict | None:
    """The latest dispatch decision, ready for the ticket page: the sentence and the candidates' scores."""
    if event is None:
        return None
    data = event.data or {}
    need = data.get("requirements") or {}
    return {
        "event": event, "sentence": timeline_text(event),
        "labels": dispatch_text.component_labels(),
        "candidates": [{**c, "line": dispatch_text.candidate_line(c, need)} for c in data.get("candidates", [])],
        "count": data.get("candidate_count", 0),
    }


class PoolView(TicketView):
    """工单池: open tickets nobody has yet; engineers claim from it."""

    base_filters = [["id", PoolTicketsFilter, None]]
    class_permission_name = "TicketPool"
    method_permission_name = {**TicketView.method_permission_name, "claim": "claim"}
    # A claim on a ticket that has left this engineer's pool (app.fab_fixes): most often a colleague was quicker.
    missing_row_message = _l("Someone else has just taken this ticket, or it is no longer open.")
    base_order = ("resolution_due_at", "asc")
    list_title = _l("Ticket pool")
    list_columns = ["number", "priority", "category", "subject", "team", "contact_address", "resolution_due_at",
                    "created_at"]

    @action("claim", _l("Claim"), confirmation=None, icon="fa-hand-paper-o", multiple=False, single=True)
    def claim(self, item):
        engineer = engineer_of(db.session, g.user)
        try:
            if engineer is None:
                raise ServiceError(_l("Only engineers can claim tickets."), field="ticket")
            ticket = assign_service.claim(db.session, item.id, engineer, now=utcnow())
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return redirect(url_for(".list"))
        flash(_("Ticket %(number)s is yours now.", number=ticket.number), "success")
        return redirect(url_for("TicketView.show", pk=ticket.id))


class OpenTicketView(TicketView):
    """The work queue: tickets someone still owes the customer, most urgent deadline first."""

    base_filters = TicketView.base_filters + [["status", FilterInFunction, lambda: sorted(st.OPEN_STATUSES)]]
    base_order = ("resolution_due_at", "asc")
    list_title = _l("Open tickets")


class TicketEventView(ModelView):
    """The whole timeline across tickets, read-only (audit)."""

    datamodel = FormInterface(TicketEvent)
    class_permission_name = "TicketEvent"
    exclude_route_methods = {"add", "edit", "delete", "download"}
    base_order = ("id", "desc")
    list_title = _l("Timeline")
    show_title = _l("Timeline event")
    label_columns = EVENT_LABELS
    list_columns = ["created_at", "ticket", "kind", "description", "actor", "reason"]
    show_columns = ["created_at", "ticket", "kind", "description", "actor", "reason"]
    search_columns = ["kind", "created_at", "reason"]
    formatters_columns = {"created_at": local_time, **blanks("actor", "reason")}
