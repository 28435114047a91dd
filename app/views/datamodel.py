"""The one data interface the console's views use."""
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.utils.base import is_column_dotted


class FormInterface(SQLAInterface):
    """FAB marks every NOT NULL column required, which for a checkbox means it can never be left unticked
    (an unticked box sends nothing). A boolean always has a value, so it is never "missing".

    `load` names loader options (selectinload…) for what a list shows of related rows, so a page of N rows
    is a fixed number of queries instead of one more per row."""

    def __init__(self, obj, session=None, load=()):
        super().__init__(obj, session=session)
        self._load = tuple(load)

    def apply_all(self, query, *args, **kwargs):
        query = super().apply_all(query, *args, **kwargs)
        return query.options(*self._load) if self._load else query

    def is_nullable(self, col_name: str) -> bool:
        return self.is_boolean(col_name) or super().is_nullable(col_name)

    def apply_order_by(self, query, order_column, order_direction, *args, **kwargs):
        """FAB sorts by whatever `_oc_` in the URL names; a computed property or a relationship there would
        be a server error. Those fall back to the view's own order."""
        if order_column and not self._sortable(order_column):
            order_column = ""
        return super().apply_order_by(query, order_column, order_direction, *args, **kwargs)

    def _sortable(self, name: str) -> bool:
        if is_column_dotted(name):
            return True
        if hasattr(getattr(self.obj, name, None), "_col_name"):  # FAB's @renders on a model method
            return True
        return name in self.list_properties and not self.is_relation(name)
