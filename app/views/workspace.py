"""工程师工作台: the engineer's phone view of their own tickets. Every step calls app.services.field /
inventory; an engineer only ever reaches tickets assigned to them."""
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import ResolutionCode, SparePart, Ticket, TicketPart
from app.services import assign as assign_service
from app.services import field, inventory, parts, rules
from app.services import status as st
from app.services.errors import ServiceError
from app.services.intake import Attachment
from app.services.inventory_text import PART_STATES
from app.services.portal import check_photos
from app.services.visibility import engineer_of
from app.timeutil import utcnow
from app.views.formatting import local_time


class WorkspaceView(BaseView):
    route_base = "/workspace"
    class_permission_name = "Workspace"
    default_view = "list"
    method_permission_name = {"list": "list", "ticket": "list", "location": "work", "accept": "work",
                              "reject": "work", "depart": "work", "check_in": "work", "log": "work",
                              "add_part": "work", "resolve": "work"}

    def _engineer(self):
        engineer = engineer_of(db.session, g.user)
        if engineer is None:
            abort(403)
        return engineer

    def _mine(self, pk) -> Ticket:
        ticket = db.session.get(Ticket, pk)
        # Another engineer's ticket is answered exactly like a missing one.
        if ticket is None or ticket.assignee_id != self._engineer().id:
            abort(404)
        return ticket

    @expose("/")
    @has_access
    def list(self):
        engineer = engineer_of(db.session, g.user)
        if engineer is None:  # an admin opening the menu item: this page is an engineer's own
            flash(_("The workspace belongs to an engineer's login; yours is not linked to an engineer."), "warning")
            return redirect(self.appbuilder.get_url_for_index)
        order = "distance" if request.args.get("order") == "distance" else "due"
        items = field.my_work(db.session, engineer, now=utcnow(), order=order)
        return self.render_template("workspace/list.html", items=items, order=order, engineer=engineer,
                                    local_time=local_time)

    @expose("/ticket/<int:pk>")
    @has_access
    def ticket(self, pk):
        ticket = self._mine(pk)
        items = db.session.scalars(select(TicketPart).where(TicketPart.ticket_id == ticket.id)
                                   .order_by(TicketPart.id)).all()
        codes = db.session.scalars(select(ResolutionCode).where(ResolutionCode.active.is_(True))
                                   .order_by(ResolutionCode.sort_order)).all()
        log = [e for e in ticket.events if e.kind in ("work_log", "checked_in", "departed", "part_reserved",
                                                      "part_requested", "part_arrived", "customer_reply")]
        return self.render_template(
            "workspace/ticket.html", ticket=ticket, items=items, part_states=PART_STATES, codes=codes,
            part_choices=parts.choices_for(db.session, ticket), log=list(reversed(log)), local_time=local_time,
            st=st, can_resolve=st.can_transition(ticket.status, st.RESOLVED))

    def _step(self, pk, work, done: str):
        ticket, engineer = self._mine(pk), self._engineer()
        try:
            work(ticket, engineer)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            flash(done, "success")
        if ticket.assignee_id != engineer.id or ticket.status not in st.OPEN_STATUSES:
            return redirect(url_for("WorkspaceView.list"))  # rejected (and dispatched again) or done
        return redirect(url_for("WorkspaceView.ticket", pk=pk))

    @expose("/location", methods=["POST"])
    @has_access
    def location(self):
        try:
            field.update_location(db.session, self._engineer(), request.form.get("latitude"),
                                  request.form.get("longitude"), now=utcnow())
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            return {"message": str(exc), "field": exc.field}, 400
        return "", 204

    @expose("/ticket/<int:pk>/accept", methods=["POST"])
    @has_access
    def accept(self, pk):
        return self._step(pk, lambda t, e: field.accept(db.session, t, e, now=utcnow(), actor=g.user),
                          _("Accepted."))

    @expose("/ticket/<int:pk>/reject", methods=["POST"])
    @has_access
    def reject(self, pk):
        return self._step(pk, lambda t, e: assign_service.reject(db.session, t, e, reason=request.form.get("reason", ""),
                                                                 now=utcnow()),
                          _("Rejected: the ticket goes back to dispatch."))

    @expose("/ticket/<int:pk>/depart", methods=["POST"])
    @has_access
    def depart(self, pk):
        form = request.form
        return self._step(pk, lambda t, e: field.depart(db.session, t, e, now=utcnow(), actor=g.user,
                                                        latitude=form.get("latitude"), longitude=form.get("longitude")),
                          _("On your way: the customer has been told."))

    @expose("/ticket/<int:pk>/checkin", methods=["POST"])
    @has_access
    def check_in(self, pk):
        form = request.form
        return self._step(pk, lambda t, e: field.check_in(
            db.session, t, e, now=utcnow(), actor=g.user, latitude=form.get("latitude"),
            longitude=form.get("longitude"), accuracy=form.get("accuracy"),
            far_meters=current_app.config["CHECKIN_FAR_METERS"]), _("Checked in."))

    @expose("/ticket/<int:pk>/log", methods=["POST"])
    @has_access
    def log(self, pk):
        def work(ticket, engineer):
            files = [(f.filename or "", f.read()) for f in request.files.getlist("photos") if f.filename]
            max_kb = rules.current(db.session).settings.max_attachment_kb
            photos = check_photos(files, max_count=10, max_kb=max_kb) if files else []
            field.log_work(db.session, ticket, engineer, request.form.get("text", ""), now=utcnow(), actor=g.user,
                           photos=[Attachment(p.filename, p.content, p.content_type) for p in photos],
                           max_kb=max_kb)

        return self._step(pk, work, _("Added to the work log."))

    @expose("/ticket/<int:pk>/parts", methods=["POST"])
    @has_access
    def add_part(self, pk):
        form = request.form

        def work(ticket, engineer):
            part_id = field.form_int(form.get("part_id"))
            part = db.session.get(SparePart, part_id) if part_id is not None else None
            inventory.need_and_reserve(db.session, ticket, part, form.get("quantity"), now=utcnow(), actor=g.user)

        return self._step(pk, work, _("Part requested."))

    @expose("/ticket/<int:pk>/resolve", methods=["POST"])
    @has_access
    def resolve(self, pk):
        form = request.form

        def work(ticket, engineer):
            used = {}
            for item in ticket.parts:
                value = form.get(f"used_{item.id}")
                if value not in (None, ""):
                    quantity = field.form_int(value)
                    if quantity is None:
                        raise ServiceError(_("Used quantity must be between 0 and %(max)s.", max=item.quantity),
                                           field=f"used_{item.id}")
                    used[item.id] = quantity
            field.resolve(db.session, ticket, engineer, code_id=form.get("resolution_code"), note=form.get("note"),
                          now=utcnow(), actor=g.user, used=used)

        return self._step(pk, work, _("Resolved. The customer will be asked to confirm."))
