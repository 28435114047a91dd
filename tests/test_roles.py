from flask_appbuilder.security.sqla.models import Role

from app.services.roles import ROLE_GRANTS, STAFF_ROLES, sync_roles


def _permission_sets(session):
    return {role.name: {(p.permission.name, p.view_menu.name) for p in role.permissions}
            for role in session.query(Role).all()}


def test_every_grant_names_a_real_permission_and_sync_is_idempotent(app, session):
    before = _permission_sets(session)
    assert sync_roles(app.appbuilder) == []
    assert _permission_sets(session) == before
    assert set(STAFF_ROLES) <= set(before)


def test_sync_removes_permissions_added_by_hand(app, session):
    sm = app.appbuilder.sm
    clerk = sm.find_role("Clerk")
    sneaky = sm.find_permission_view_menu("can_edit", "Category")
    clerk.permissions.append(sneaky)
    session.commit()
    sync_roles(app.appbuilder)
    session.refresh(clerk)
    assert sneaky not in clerk.permissions


def test_least_privilege_shape(app, session):
    sets = _permission_sets(session)
    assert not {p for p in sets["Clerk"] if p[1] in ("Category", "Priority", "ServiceRegion", "Skill")}
    assert not {p for p in sets["Engineer"] if p[1] in ("Customer", "TicketEvent", "Engineer")}
    assert ("can_assign", "Ticket") not in sets["Engineer"]
    assert not {p for p in sets["Warehouse"] if p[1].startswith("Ticket")}
    for role in ROLE_GRANTS:
        assert not {p for p in sets[role] if p[1] in ("UserDBModelView", "RoleModelView") and p[0] in
                    ("can_list", "can_add", "can_edit", "can_delete")}
