"""The one data interface the console's views use."""
import re
from contextlib import contextmanager

from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.models.sqla.filters import FilterStartsWith, SQLAFilterConverter, get_field_setup_query
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.utils.base import is_column_dotted
from flask_babel import format_number, gettext as _
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.services.counting import count_up_to

# Columns of digits (phone numbers) that clerks look up by their first digits.
PREFIX_COLUMNS = frozenset({"contact_phone", "phone"})


class FilterPrefix(FilterStartsWith):
    """"Starts with" for a phone number, which has no letter case: LIKE on PostgreSQL (served by the
    varchar_pattern_ops index of migration 0015), GLOB on SQLite (served by the column's own index) — where
    FAB's ILIKE reads every row: the count of a 1M-ticket list filtered by a phone prefix took 336 ms."""

    def apply(self, query, value):
        query, field = get_field_setup_query(query, self.model, self.column_name)
        value = value or ""
        if db.session.get_bind().dialect.name == "sqlite":
            return query.filter(field.op("GLOB")(re.sub(r"([*?\[])", r"[\1]", value) + "*"))
        return query.filter(field.like(re.sub(r"([%_\\])", r"\\\1", value) + "%", escape="\\"))


class PrefixFilterConverter(SQLAFilterConverter):
    def convert(self, col_name):
        filters = super().convert(col_name)
        if col_name in PREFIX_COLUMNS and filters and isinstance(filters[0], FilterStartsWith):
            filters[0] = FilterPrefix(col_name, self.datamodel)  # first: the _flt_0_ of every saved link
        return filters


# A list counts its rows up to here: FAB's pager counted every matching row, and over a million tickets
# (or timeline events, or messages) that count was most of the page — 36 to 134 ms on PostgreSQL.
COUNT_CAP = 10_000


class AtLeast(int):
    """The count of a list that has more rows than COUNT_CAP: FAB's pager does its arithmetic with the cap
    (400 pages of 25), the page says "more than 10,000". Nobody pages that far; they narrow the search."""

    def __str__(self):
        return _("more than %(count)s", count=format_number(int(self)))


@contextmanager
def _saying_why_not():
    """FAB turns a refused delete into an exception without a message, and flashes that empty message: a
    manager deleting a customer who has tickets saw nothing happen. The database refuses it (a ticket still
    refers to the customer); the page now says so."""
    try:
        yield
    except DatabaseException as exc:
        if isinstance(exc.__cause__, IntegrityError):
            raise DatabaseException(_("Other records still refer to this one; it cannot be deleted.")) \
                from exc.__cause__
        raise


class FormInterface(SQLAInterface):
    """FAB marks every NOT NULL column required, which for a checkbox means it can never be left unticked
    (an unticked box sends nothing). A boolean always has a value, so it is never "missing".

    `load` names loader options (selectinload…) for what a list shows of related rows, so a page of N rows
    is a fixed number of queries instead of one more per row."""

    filter_converter_class = PrefixFilterConverter

    def __init__(self, obj, session=None, load=()):
        super().__init__(obj, session=session)
        self._load = tuple(load)

    def apply_all(self, query, *args, **kwargs):
        query = super().apply_all(query, *args, **kwargs)
        return query.options(*self._load) if self._load else query

    def query_count(self, query, filters=None, select_columns=None):
        """The rows that match, counted up to COUNT_CAP + 1."""
        inner = self._apply_inner_all(query, filters, select_columns=select_columns, aliases_mapping={})
        pk = getattr(self.obj, self.get_pk_name())
        count = count_up_to(self.session, inner.with_entities(pk).statement, COUNT_CAP)
        return AtLeast(COUNT_CAP) if count > COUNT_CAP else count

    def delete(self, item, commit: bool = True) -> None:
        with _saying_why_not():
            super().delete(item, commit)

    def delete_all(self, items) -> None:
        with _saying_why_not():
            super().delete_all(items)

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
