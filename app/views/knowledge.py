"""知识库 in the console: clerks write and edit articles, managers publish them."""
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.access import current_user
from app.extensions import db
from app.labels import KB_LABELS
from app.models import KbArticle, Ticket
from app.services import kb
from app.services.errors import ServiceError
from app.services.visibility import ticket_scope
from app.timeutil import utcnow
from app.views.datamodel import FormInterface
from app.views.formatting import label_of, local_time


class VisibleArticlesFilter(BaseFilter):
    """Drafts are for those who write articles: a draft written from a ticket quotes that customer's problem, so
    readers (engineers) see published articles only — in the list, the page and every other path."""

    name = "visible articles"
    arg_name = None

    def apply(self, query, value):
        if current_app.appbuilder.sm.has_access("can_add", "KbArticle"):
            return query
        return query.filter(KbArticle.state == kb.PUBLISHED)


class KbArticleView(ModelView):
    datamodel = FormInterface(KbArticle, load=[selectinload(KbArticle.categories), selectinload(KbArticle.products)])
    class_permission_name = "KbArticle"
    base_filters = [["id", VisibleArticlesFilter, None]]
    method_permission_name = {"publish": "publish", "unpublish": "publish", "from_ticket": "add"}
    list_title = _l("Knowledge base")
    show_title = _l("Article")
    add_title = _l("New article")
    edit_title = _l("Edit article")
    label_columns = KB_LABELS
    base_order = ("updated_at", "desc")
    list_columns = ["title", "language", "state", "categories", "products", "updated_at"]
    search_columns = ["title", "body", "language", "state", "categories", "products"]
    add_columns = edit_columns = ["title", "language", "body", "categories", "products"]
    show_columns = ["title", "language", "state", "categories", "products", "source_ticket", "created_by",
                    "published_at", "updated_at"]
    show_template = "kb/show.html"
    add_form_extra_fields = edit_form_extra_fields = {
        "language": SelectField(_l("Language"), choices=list(kb.LANGUAGE_LABELS.items()), default="zh"),
        "body": TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=20000)],
                              render_kw={"rows": 14},
                              description=_l("Separate paragraphs with a blank line. Customers see published "
                                             "articles on the portal: write for them.")),
    }
    formatters_columns = {"language": label_of(kb.LANGUAGE_LABELS), "state": label_of(kb.STATES),
                          "updated_at": local_time, "published_at": local_time}

    def pre_add(self, item):
        item.created_by_id = getattr(g.user, "id", None)
        item.state = kb.DRAFT
        kb.prepare(item)

    def pre_update(self, item):
        # What customers read is changed by those who may publish it; a clerk's edit would go live unreviewed.
        if item.state == kb.PUBLISHED and not self.appbuilder.sm.has_access("can_publish", self.class_permission_name):
            db.session.rollback()  # the form's values are on the object already: none of them may reach the row
            raise ServiceError(_l("Only a manager can change a published article: ask one, or have it taken back to "
                                  "draft first."))
        kb.prepare(item)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        widgets = self._show(pk)
        article = db.session.get(KbArticle, int(pk))
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets, related_views=self._related_views,
            article=article, paragraphs=kb.paragraphs(article.body), states=kb.STATES,
            can_publish=self.appbuilder.sm.has_access("can_publish", self.class_permission_name))

    @expose("/publish/<int:pk>", methods=["POST"])
    @has_access
    def publish(self, pk):
        return self._set_state(pk, publish=True)

    @expose("/unpublish/<int:pk>", methods=["POST"])
    @has_access
    def unpublish(self, pk):
        return self._set_state(pk, publish=False)

    def _set_state(self, pk: int, *, publish: bool):
        article = db.session.get(KbArticle, pk) or abort(404)
        if publish:
            kb.publish(article, now=utcnow())
            flash(_("Published: customers and staff now see this article."), "success")
        else:
            kb.unpublish(article)
            flash(_("Back to draft: no longer suggested or shown to customers."), "info")
        db.session.commit()
        return redirect(url_for("KbArticleView.show", pk=pk))

    @expose("/from_ticket/<int:ticket_id>", methods=["POST"])
    @has_access
    def from_ticket(self, ticket_id):
        """A resolved ticket's fix written up as a draft, opened for editing."""
        query, scope = select(Ticket).where(Ticket.id == ticket_id), ticket_scope(current_user())
        ticket = db.session.scalar(query if scope is None else query.where(scope)) or abort(404)
        language = request.form.get("language") or "zh"
        try:
            article = kb.draft_from_ticket(db.session, ticket, language=language, now=utcnow(), actor=g.user)
        except ServiceError as exc:
            flash(str(exc), "danger")
            return redirect(url_for("TicketView.show", pk=ticket_id))
        db.session.commit()
        if article.state == kb.PUBLISHED:  # written up before, and already published: nothing to draft
            flash(_("This ticket's fix is already a published article."), "info")
            return redirect(url_for("KbArticleView.show", pk=article.id))
        flash(_("Draft article written from ticket %(number)s: check it, then ask a manager to publish it.",
                number=ticket.number), "success")
        return redirect(url_for("KbArticleView.edit", pk=article.id))
