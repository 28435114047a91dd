"""What `flask init` makes sure of, besides the schema: reference codes, roles and the admin login."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Category, DispatchSettings, NotifySettings, Priority, ResolutionCode, SatisfactionSettings, ServiceType,
)
from app.services import passwords, vocabulary
from app.services.errors import ServiceError
from app.services.roles import ADMIN


def ensure_reference_data(session: Session) -> int:
    """Insert the stable codes that are missing; never overwrite names a manager has edited."""
    added = 0
    tables = [
        (Category, [dict(code=c, name_zh=zh, name_en=en, sort_order=i)
                    for i, (c, zh, en) in enumerate(vocabulary.CATEGORIES)]),
        (ServiceType, [dict(code=c, name_zh=zh, name_en=en, sort_order=i, on_site=on_site)
                       for i, (c, zh, en, on_site) in enumerate(vocabulary.SERVICE_TYPES)]),
        (Priority, [dict(code=c, name_zh=zh, name_en=en, rank=rank, sort_order=rank, load_weight=weight,
                         capacity_overflow=overflow)
                    for c, zh, en, rank, weight, overflow in vocabulary.PRIORITIES]),
        (ResolutionCode, [dict(code=c, name_zh=zh, name_en=en, sort_order=i)
                          for i, (c, zh, en) in enumerate(vocabulary.RESOLUTION_CODES)]),
    ]
    for model, rows in tables:
        existing = set(session.scalars(select(model.code)))
        for row in rows:
            if row["code"] not in existing:
                session.add(model(**row))
                added += 1
    for settings_model in (DispatchSettings, NotifySettings, SatisfactionSettings):
        if session.get(settings_model, 1) is None:
            session.add(settings_model(id=1))
            added += 1
    from app.services.notify_templates import seed_defaults

    added += seed_defaults(session)
    session.commit()
    from app.services.default_rules import ensure_default_rules

    return added + ensure_default_rules(session)


def ensure_admin(sm, username: str, password: str | None, email: str, *,
                 min_length: int = passwords.MIN_LENGTH) -> str | None:
    """Create the admin login if missing. Returns the generated password when none was given; a given one
    the password policy refuses is a ServiceError naming ADMIN_PASSWORD."""
    if sm.find_user(username=username) is not None:
        return None
    generated = None
    if not password:
        password = generated = passwords.generate(username, min_length=min_length)
    found = passwords.problems(password, username, min_length=min_length)
    if found:
        raise ServiceError(" ".join(found), field="ADMIN_PASSWORD")
    user = sm.add_user(username, "Admin", "System", email, sm.find_role(ADMIN), password=password)
    if not user:
        raise RuntimeError(f"could not create the admin user {username!r}")
    return generated
