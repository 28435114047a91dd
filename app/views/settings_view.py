"""The shape every single-row settings page shares (intake, dispatch, notifications, satisfaction): one row
(id 1, written by `init`) that managers edit in place; nothing to add, delete or download."""
from flask_appbuilder import ModelView


class SettingsView(ModelView):
    exclude_route_methods = {"add", "delete", "download"}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The row is shown, listed and edited with the same fields.
        if "list_columns" in cls.__dict__:
            cls.edit_columns = cls.show_columns = cls.list_columns
