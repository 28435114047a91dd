"""The rule simulator on the managers' forms: 「预览」 next to Save posts the form as it stands to a preview
endpoint of the same view, which validates it as a save would, replays it (app.services.simulate) and shows
the same form page with what would change. Nothing is saved: the draft is built beside the session, never in
it. Previewing is part of editing: the endpoints ask for the view's can_add / can_edit."""
from dataclasses import replace

from flask import abort, flash, request, url_for
from flask_appbuilder.baseviews import expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.widgets import FormWidget
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import Category, ClassificationRule, Engineer, Priority, ServiceType, Team
from app.services import rules, simulate
from app.timeutil import utcnow
from app.views.formatting import local_time

FIELD_LABELS = {"category": _l("Category"), "service_type": _l("Service type"), "priority": _l("Priority"),
                "team": _l("Team"), "review": _l("Review"), "assignee": _l("Engineer")}
NAMED_BY = {"category": Category, "service_type": ServiceType, "priority": Priority, "team": Team,
            "assignee": Engineer}
RULE_RELATIONS = ("product_line", "category", "service_type", "priority", "team")


class PreviewFormWidget(FormWidget):
    """FAB's form with the preview controls beside Save."""
    template = "simulate/form.html"


class _PreviewForm:
    add_widget = edit_widget = PreviewFormWidget
    add_template = "simulate/add.html"
    edit_template = "simulate/edit.html"
    preview_kind = ""  # "rules" | "dispatch": which explanation the page gives

    def simulate(self, form, *, pk, days):
        """The Preview for the validated draft in `form` (pk: the row edited, None for a new one)."""
        raise NotImplementedError

    def render_template(self, template, **kwargs):
        if template in (self.add_template, self.edit_template):
            pk = (request.view_args or {}).get("pk")
            name = self.__class__.__name__
            kwargs.setdefault("form_action", url_for(f"{name}.edit", pk=pk) if pk else url_for(f"{name}.add"))
            kwargs.setdefault("preview_action", url_for(f"{name}.preview_edit", pk=pk) if pk
                              else url_for(f"{name}.preview_add"))
            kwargs.setdefault("preview_days", simulate.DEFAULT_DAYS)
            kwargs.setdefault("preview", None)
            kwargs.update(day_choices=simulate.DAY_CHOICES, preview_kind=self.preview_kind,
                          field_labels=FIELD_LABELS, local_time=local_time)
        return super().render_template(template, **kwargs)

    def _preview_page(self, form, *, pk, template, title):
        days = simulate.clamp_days(request.form.get("preview_days"))
        preview = names = None
        if form.validate():
            preview = self.simulate(form, pk=pk, days=days)
            names = _names(preview)
        else:
            fields = ", ".join(str(getattr(form, f).label.text) for f in form.errors
                               if isinstance(f, str) and hasattr(form, f))
            flash(_("The draft cannot be previewed: correct %(fields)s.", fields=fields), "danger")
        widgets = (self._get_edit_widget(form=form) if pk else self._get_add_widget(form=form))
        return self.render_template(template, title=title, widgets=widgets, preview=preview, names=names,
                                    preview_days=days, related_views=[])

    @expose("/preview/<pk>", methods=["POST"])
    @has_access
    def preview_edit(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        form = self.edit_form.refresh(request.form)
        form._id = item.id  # as FAB's edit: its unique checks skip the row itself
        return self._preview_page(form, pk=item.id, template=self.edit_template, title=self.edit_title)


class RulePreview(_PreviewForm):
    """For ClassificationRuleView: a new rule is inserted by its position, an edited one replaces itself."""
    method_permission_name = {"preview_add": "add", "preview_edit": "edit"}
    preview_kind = "rules"

    @expose("/preview/", methods=["POST"])
    @has_access
    def preview_add(self):
        form = self.add_form.refresh()
        return self._preview_page(form, pk=None, template=self.add_template, title=self.add_title)

    def simulate(self, form, *, pk, days):
        return simulate.preview_rules(db.session, draft_rule(form.data), days=days, now=utcnow(), replacing_id=pk)


class DispatchPreview(_PreviewForm):
    """For DispatchSettingsView (one row, edited in place)."""
    method_permission_name = {"preview_edit": "edit"}
    preview_kind = "dispatch"

    def simulate(self, form, *, pk, days):
        in_force = rules.current(db.session).dispatch
        draft = replace(in_force, **{name: value for name, value in form.data.items()
                                     if name in rules.DispatchWeights.__dataclass_fields__ and value is not None})
        return simulate.preview_dispatch(db.session, draft, days=days, now=utcnow())


def draft_rule(data: dict) -> ClassificationRule:
    """The form's values as a rule that no session holds: related rows by id only, so that no cascade can take
    it into the session (and the next flush)."""
    rule = ClassificationRule()
    for column in ClassificationRule.__table__.columns:
        if column.key in data and column.key != "id":
            setattr(rule, column.key, data[column.key])
    for relation in RULE_RELATIONS:
        related = data.get(relation)
        setattr(rule, f"{relation}_id", related.id if related is not None else None)
    rule.customer_tier = rule.customer_tier or None
    rule.min_severity = rule.min_severity or None
    return rule


def _names(preview: simulate.Preview) -> dict:
    """{field: {id: name}} for the values the changed rows show, one query per field."""
    wanted: dict[str, set] = {}
    for change in preview.changes:
        for name, values in change.fields.items():
            if name in NAMED_BY:
                wanted.setdefault(name, set()).update(v for v in values if v is not None)
    return {name: {row.id: row.name for row in db.session.scalars(select(NAMED_BY[name])
                                                                   .where(NAMED_BY[name].id.in_(ids)))}
            for name, ids in wanted.items()}
