"""The few settings the domain needs, read from the running app's config (defaults outside one)."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    timezone: str = "Asia/Shanghai"
    ticket_number_prefix: str = "SR"


def current() -> Settings:
    try:
        from flask import current_app

        config = current_app.config
    except RuntimeError:
        return Settings()
    return Settings(
        timezone=config.get("TIMEZONE", Settings.timezone),
        ticket_number_prefix=config.get("TICKET_NUMBER_PREFIX", Settings.ticket_number_prefix),
    )
