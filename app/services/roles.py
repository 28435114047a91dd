"""Roles and their permissions: the least each job needs. `sync_roles` makes the database match.

A grant is (permission, view) on FAB's permission-view pairs. Menu entries follow from the grants:
a role sees a menu item when it may list that item's view.
"""
from flask_appbuilder.security.sqla.models import PermissionView, Role
from sqlalchemy.orm import selectinload

from app.services import audit
from app.timeutil import utcnow

ADMIN, MANAGER, CLERK, ENGINEER, WAREHOUSE = "Admin", "Manager", "Clerk", "Engineer", "Warehouse"
STAFF_ROLES = (ADMIN, MANAGER, CLERK, ENGINEER, WAREHOUSE)
# Roles whose work is the whole ticket pool; everyone else sees only tickets assigned to them.
ALL_TICKETS_ROLES = frozenset({ADMIN, MANAGER, CLERK})

READ = ("can_list", "can_show")
WRITE = ("can_add", "can_edit")
DELETE = ("can_delete",)
API_READ = ("can_get", "can_info")
API_WRITE = ("can_post", "can_put")
TICKET_WORK = ("can_transition", "can_note")
TICKET_DESK = ("can_assign",)

CONFIG_VIEWS = ("Category", "ServiceType", "Priority", "ServiceRegion", "Skill", "Team", "ProductLine", "Product",
                "ClassificationRule", "SynonymGroup", "ResolutionCode", "MaintenancePlan")
# Intake: clerks register calls, integrators post through their tokens (staff may post with a JWT).
INTAKE_DESK = [("can_register", "PhoneIntake"), ("can_post", "IntakeApi"), ("can_get", "IntakeApi")]
CUSTOMER_VIEWS = ("Customer", "CustomerContact", "Asset")
# Follow-up calls (回访) and the ratings: the clerks' work, the managers' too.
SATISFACTION_DESK = [("can_list", "FollowUp"), ("can_show", "FollowUp"), ("can_record", "FollowUp"),
                     ("can_list", "FollowUpHistory"), ("can_show", "FollowUpHistory"),
                     ("can_list", "Survey"), ("can_show", "Survey")]
INVENTORY_VIEWS = ("Warehouse", "SparePart", "Stock")
# Excel import/export: who may edit the rows may import them; bulk exports of customers' personal data are
# for managers only (clerks look customers up one by one).
CUSTOMER_SHEETS = ("CustomerSpreadsheet", "AssetSpreadsheet")
INVENTORY_SHEETS = ("SparePartSpreadsheet", "StockSpreadsheet")

# Every staff member may read and edit their own profile and password, and read the API description.
SELF_SERVICE = [
    ("can_userinfo", "UserDBModelView"),
    ("resetmypassword", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    ("can_this_form_get", "UserInfoEditView"),
    ("can_this_form_post", "UserInfoEditView"),
    ("can_get", "MenuApi"),
    ("can_get", "OpenApi"),
    ("can_show", "SwaggerView"),
    # The bell and one's own notification channels.
    ("can_list", "Inbox"),
    ("can_edit", "NotifyPreference"),
]


def _grant(views, perms, api_perms=()):
    """Console permissions on each view, and REST permissions on its API (named <View>Api)."""
    grants = [(p, v) for v in views for p in perms]
    grants += [(p, f"{v}Api") for v in views for p in api_perms if v in API_RESOURCES]
    return grants


# Admin is not listed: it holds every permission (sync_roles gives it all), and some views are for it alone —
# users, roles and permissions, integration tokens, the audit log (AuditLog: list and show, nothing else).

# Views that also have a REST resource (app/api).
API_RESOURCES = frozenset({"Ticket", "Customer", "Asset", "SparePart", "Engineer"})

ROLE_GRANTS: dict[str, list[tuple[str, str]]] = {
    MANAGER: (
        _grant(["Ticket"], READ + WRITE + TICKET_WORK + TICKET_DESK, API_READ + API_WRITE)
        + _grant(["TicketEvent"], READ)
        + _grant(CUSTOMER_VIEWS, READ + WRITE + DELETE, API_READ + API_WRITE + DELETE)
        + _grant(CONFIG_VIEWS + ("Engineer",), READ + WRITE + DELETE, API_READ + API_WRITE + DELETE)
        + _grant(INVENTORY_VIEWS, READ, API_READ)
        + _grant(["StockMove", "PartRequest", "LowStock"], READ)
        + _grant(["IntakeSettings", "DispatchSettings"], READ + ("can_edit",))
        + _grant(["EngineerShift", "EngineerAbsence"], READ + WRITE + DELETE)
        + _grant(["TicketPool"], READ)
        + _grant(["BusinessCalendar", "SlaPolicy"], READ + WRITE + DELETE)
        + _grant(["AtRisk"], ("can_list",))
        + _grant(["NotificationTemplate"], READ + WRITE + DELETE + ("can_preview",))
        + _grant(["NotifyEndpoint"], READ + WRITE + DELETE)
        + _grant(["NotifySettings"], READ + ("can_edit",))
        + SATISFACTION_DESK
        + _grant(["LowScoreReview"], READ + ("can_edit",))
        + _grant(["SatisfactionSettings"], READ + ("can_edit",))
        # 报表: team performance, engineers' utilisation and their exports are the managers' (clerks work the
        # queues and see the open-ticket counts on the home page and the at-risk board).
        + [("can_read", "Dashboard")]
        + _grant(CUSTOMER_SHEETS, ("can_import", "can_export")) + _grant(INVENTORY_SHEETS, ("can_export",))
        + _grant(["KbArticle"], READ + WRITE + DELETE + ("can_publish",))
        + _grant(["Problem"], READ + WRITE + DELETE)
        + [("can_list", "RecurringProblems"), ("can_link", "RecurringProblems")]
        + INTAKE_DESK
    ),
    CLERK: (
        _grant(["Ticket"], READ + WRITE + TICKET_WORK + TICKET_DESK, API_READ + API_WRITE)
        + _grant(["TicketEvent"], READ)
        + _grant(CUSTOMER_VIEWS, READ + WRITE, API_READ + API_WRITE)
        + _grant(["Product", "Engineer", "Team", "SparePart", "Stock"], READ, API_READ)
        + _grant(["PartRequest"], READ)
        + _grant(["EngineerShift", "EngineerAbsence", "TicketPool"], READ)
        + _grant(["AtRisk"], ("can_list",))
        + SATISFACTION_DESK
        + _grant(["KbArticle"], READ + WRITE)
        + _grant(["Problem"], READ)
        + _grant(CUSTOMER_SHEETS, ("can_import",))
        + INTAKE_DESK
    ),
    ENGINEER: (
        # The rows are narrowed to their own tickets by app.access.VisibleTicketsFilter.
        _grant(["Ticket"], READ + ("can_edit",) + TICKET_WORK + ("can_reject",), API_READ + ("can_put",))
        + _grant(["TicketPool"], READ + ("can_claim",))
        + [("can_list", "Workspace"), ("can_work", "Workspace")]
        + _grant(["Product", "SparePart", "Stock"], READ, API_READ)
        + _grant(["KbArticle"], READ)
    ),
    WAREHOUSE: (
        _grant(INVENTORY_VIEWS, READ + WRITE, API_READ + API_WRITE)
        + _grant(["StockMove", "LowStock"], READ)
        + _grant(["PartRequest"], READ + ("can_receive",))
        + _grant(INVENTORY_SHEETS, ("can_import", "can_export"))
        + _grant(["Product"], READ)
    ),
}


def grants_of(role_name: str) -> set[tuple[str, str]]:
    """What a staff role (not Admin, which has everything) is granted: its own grants and self-service."""
    return set(ROLE_GRANTS[role_name]) | set(SELF_SERVICE)


def sees_all_tickets(user) -> bool:
    return any(role.name in ALL_TICKETS_ROLES for role in getattr(user, "roles", []) or [])


def _menu_grants(menu, grants: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """menu_access for the items whose view the role may list, and for their categories."""
    out = set()
    for category in menu.get_list():
        items = category.childs or [category]
        for item in items:
            view = getattr(item, "baseview", None)
            if item.name == "-" or view is None:
                continue
            perm = view.class_permission_name
            # Model views show in the menu for those who may list them; a page (BaseView) for any grant.
            listed = ("can_list", perm) in grants if hasattr(view, "datamodel") else any(v == perm for _, v in grants)
            if listed:
                out.add(("menu_access", item.name))
                if category.childs:
                    out.add(("menu_access", category.name))
    return out


def sync_roles(appbuilder) -> list[tuple[str, str, str]]:
    """Create the roles and set each one's permissions to exactly its grants (idempotent).

    Returns grants that name a permission the application does not have — a typo to fix.

    The audit trail gets one row per role that changed (its permissions added and removed), not one per
    permission: FAB commits each permission it gives Admin on its own.
    """
    sm = appbuilder.sm
    session = sm.session
    before = _permissions_by_role(session)
    with audit.muted(session):
        unknown = _sync(appbuilder, sm, session)
    now = utcnow()
    for role in session.query(Role).options(selectinload(Role.permissions)):
        old = before.get(role.id)
        diff = audit.members_diff(old or (), [str(pv) for pv in role.permissions])
        if old is None:
            audit.record(session, audit.CREATE, role, now=now, data={"permissions": diff} if diff else None)
        elif diff:
            audit.record(session, audit.UPDATE, role, now=now, data={"permissions": diff})
    session.commit()
    return unknown


def _permissions_by_role(session) -> dict[int, list[str]]:
    return {role.id: [str(pv) for pv in role.permissions]
            for role in session.query(Role).options(selectinload(Role.permissions))}


def _register_permissions(appbuilder, sm) -> None:
    """Every view's permissions and every menu entry's, each given to Admin — what FAB's
    `add_permissions(update_perms=True)` does, but once per name. FAB registers view by view and removes from a
    name what the view at hand lacks: where several views share a permission name (the console's list and its
    REST resource, a menu entry named like its view) each pass tried to remove the others' and logged "Refused to
    delete permission view" a dozen times on every `init`."""
    wanted: dict[str, set[str]] = {}
    for view in appbuilder.baseviews:
        if view.base_permissions:
            wanted.setdefault(view.class_permission_name, set()).update(view.base_permissions)
    for category in appbuilder.menu.get_list():
        for name in [category.name] + [item.name for item in category.childs if item.name != "-"]:
            wanted.setdefault(name, set()).add("menu_access")
    for name, permissions in wanted.items():
        sm.add_permissions_view(sorted(permissions), name)


def _sync(appbuilder, sm, session) -> list[tuple[str, str, str]]:
    for name in (ADMIN, "Public") + STAFF_ROLES[1:]:
        if sm.find_role(name) is None:
            sm.add_role(name)
    _register_permissions(appbuilder, sm)

    by_key = {
        (pv.permission.name, pv.view_menu.name): pv
        for pv in session.query(PermissionView).all()
        if pv.permission is not None and pv.view_menu is not None
    }
    unknown = []
    for role_name in ROLE_GRANTS:
        grants = grants_of(role_name)
        grants |= _menu_grants(appbuilder.menu, grants)
        wanted = set()
        for key in grants:
            pv = by_key.get(key)
            if pv is None:
                unknown.append((role_name, *key))
            else:
                wanted.add(pv)
        role = session.query(Role).filter_by(name=role_name).one()
        current = set(role.permissions)
        for pv in current - wanted:
            role.permissions.remove(pv)
        for pv in wanted - current:
            role.permissions.append(pv)
    session.commit()
    return unknown
