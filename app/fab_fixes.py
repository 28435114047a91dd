"""Where Flask-AppBuilder's generic model views answer odd input with a server error, and how this app closes
it — found by the route-by-role matrix (tests/test_authz_matrix.py). Applied once, before AppBuilder builds
any view (its own user and role views included)."""
import functools

from flask import abort, flash, redirect, url_for
from flask_babel import lazy_gettext as _l

# What a click on an action says when its row is gone (or not this user's); a view may say it its own way.
MISSING_ROW = _l("This record no longer exists, or it is not yours to act on.")


def apply() -> None:
    from flask_appbuilder import ModelView

    if getattr(ModelView, "_service_fixes", False):
        return
    ModelView._service_fixes = True
    # FAB gives every model view a /download/<filename> route serving UPLOAD_FOLDER for file columns. This app
    # has none — attachments live in the database and are served by the ticket views, which check who may see
    # them — so the route could only fail. Views that set their own exclude_route_methods leave it out too.
    ModelView.exclude_route_methods = set(ModelView.exclude_route_methods) | {"download"}
    ModelView.action = _known_row(ModelView.action)
    ModelView.action_post = _known_rows(ModelView.action_post)
    from flask_appbuilder.models.filters import Filters

    Filters.add_filter_index = _known_filter(Filters.add_filter_index)


def _known_filter(add_filter_index):
    """A list's address names a filter by its position in the column's list (`_flt_<n>_<column>`); a position
    the column does not have — a link saved before the column's filters changed, a typing slip — was a server
    error. It is left out, as FAB leaves out a column that cannot be searched."""

    @functools.wraps(add_filter_index)
    def known(self, column_name, filter_instance_index, value):
        if filter_instance_index >= len(self._all_filters.get(column_name, ())):
            return None
        return add_filter_index(self, column_name, filter_instance_index, value)

    return known


def _permitted(view, name) -> bool:
    return name in view.actions and view.appbuilder.sm.has_access(view.get_action_permission_name(name),
                                                                  view.class_permission_name)


def _row(view, pk):
    """The row as the view shows it: FAB looks an action's rows up by id alone, past the view's base filters
    (an engineer's pool, their own tickets), so an id typed in the address would reach any row."""
    return view.datamodel.get(view._deserialize_pk_if_composite(pk), view._base_filters)


def _gone(view):
    """Back to the list, saying why: a row that went away between showing the page and the click."""
    flash(str(getattr(view, "missing_row_message", None) or MISSING_ROW), "warning")
    return redirect(url_for(f"{view.endpoint}.list"))


def _known_row(action):
    """An action on one row the view does not show (someone else's, deleted meanwhile, made up) is not run
    on that row nor on None: the user is told and sent back to the list. Who may not run the action is
    refused by FAB as before, whether the row exists or not."""
    @functools.wraps(action)
    def guarded(self, name, pk):
        if not (self.is_get_mutation_allowed() and _permitted(self, name)):
            return action(self, name, pk)
        item = _row(self, pk)
        if item is None:
            return _gone(self)
        return self.actions[name].func(item)

    return guarded


def _known_rows(action_post):
    """An action on the rows chosen in a list gets those the view shows (others were deleted meanwhile, or
    are not this user's); with none left the user is told, and an action meant for one row is not run on a
    list. Refusals stay FAB's."""
    from flask import request

    @functools.wraps(action_post)
    def guarded(self):
        name = request.form.get("action", "")
        if not _permitted(self, name):
            return action_post(self) if name else abort(400)
        if not self.actions[name].multiple:
            abort(400)  # an action for one row at a time (its list has no checkbox for it)
        items = [item for item in (_row(self, pk) for pk in request.form.getlist("rowid")) if item is not None]
        if not items:
            return _gone(self)
        return self.actions[name].func(items)

    return guarded
