"""The one data interface the console's views use."""
from flask_appbuilder.models.sqla.interface import SQLAInterface


class FormInterface(SQLAInterface):
    """FAB marks every NOT NULL column required, which for a checkbox means it can never be left unticked
    (an unticked box sends nothing). A boolean always has a value, so it is never "missing"."""

    def is_nullable(self, col_name: str) -> bool:
        return self.is_boolean(col_name) or super().is_nullable(col_name)
