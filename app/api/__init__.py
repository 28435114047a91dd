"""REST resources (FAB ModelRestApi, JWT auth). OpenAPI at /api/v1/_openapi."""
from app.api import messages  # first: marshmallow's messages in the caller's language before any schema is made
from app.api import openapi
from app.api.intake import IntakeApi
from app.api.resources import AssetApi, CustomerApi, EngineerApi, SparePartApi, TicketApi


def register_apis(appbuilder) -> None:
    messages.install_api(appbuilder)
    openapi.install()
    for api in (TicketApi, CustomerApi, AssetApi, SparePartApi, EngineerApi, IntakeApi):
        appbuilder.add_api(api)
