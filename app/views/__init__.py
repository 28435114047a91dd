"""Registers the back-office views and builds the menu: 工单, 客户, 备件, 工程师, 配置."""
from flask_babel import lazy_gettext as _l

from app.views.audit import AuditLogView
from app.views.config import (
    CategoryView, DispatchSettingsView, PriorityView, ResolutionCodeView, ServiceRegionView, ServiceTypeView,
)
from app.views.customers import (
    AssetTicketsView, AssetView, CustomerContactView, CustomerTicketsView, CustomerView, ProductLineView,
    ProductView,
)
from app.views.dashboard import DashboardView
from app.views.formatting import yes_no
from app.views.intake import (
    ClassificationRuleView, IntakeSettingsView, IntegrationTokenView, PhoneIntakeView, ReviewQueueView,
    SynonymGroupView,
)
from app.views.inventory import (
    LowStockView, PartRequestView, SparePartView, StockMoveView, StockView, WarehouseStockView, WarehouseView,
)
from app.views.mailboxes import MailboxView
from app.views.knowledge import KbArticleView
from app.views.maintenance import MaintenancePlanView, MaintenanceRunView
from app.views.problems import ProblemView, RecurringProblemsView
from app.views.notifications import (
    InboxView, NotificationAttemptView, NotificationTemplateView, NotifyEndpointView, NotifySettingsView, OutboxView,
    PreferenceView,
)
from app.views.satisfaction import (
    FollowUpHistoryView, FollowUpView, LowScoreReviewView, SatisfactionSettingsView, SurveyView,
)
from app.views.staff import (
    EngineerAbsenceView, EngineerShiftView, EngineerView, SkillView, TeamEngineersView, TeamView,
)
from app.views.spreadsheets import SPREADSHEET_VIEWS
from app.views.sla import (
    AtRiskView, BusinessCalendarView, CalendarDayView, CalendarHoursView, EscalationStepView, SchedulerView,
    SlaPolicyView,
)
from app.views.tickets import OpenTicketView, PoolView, TicketEventView, TicketView
from app.views.workspace import WorkspaceView


def register_views(appbuilder) -> None:
    add = appbuilder.add_view
    add(WorkspaceView, "MyWork", label=_l("My work"), icon="fa-mobile",
        category="TicketsMenu", category_label=_l("Tickets"), category_icon="fa-ticket")
    add(OpenTicketView, "OpenTickets", label=_l("Open tickets"), icon="fa-inbox", category="TicketsMenu")
    add(PoolView, "TicketPool", label=_l("Ticket pool"), icon="fa-inbox", category="TicketsMenu")
    add(AtRiskView, "AtRisk", label=_l("SLA at risk"), icon="fa-clock-o", category="TicketsMenu")
    add(PhoneIntakeView, "PhoneIntake", label=_l("Phone registration"), icon="fa-phone", category="TicketsMenu")
    add(ReviewQueueView, "ReviewQueue", label=_l("Review queue"), icon="fa-eye", category="TicketsMenu")
    add(TicketView, "Tickets", label=_l("All tickets"), icon="fa-ticket", category="TicketsMenu")
    add(TicketEventView, "Timeline", label=_l("Timeline"), icon="fa-history", category="TicketsMenu")
    add(KbArticleView, "KnowledgeBase", label=_l("Knowledge base"), icon="fa-book", category="TicketsMenu")

    add(FollowUpView, "FollowUps", label=_l("Follow-up calls"), icon="fa-phone-square",
        category="SatisfactionMenu", category_label=_l("Satisfaction"), category_icon="fa-smile-o")
    add(FollowUpHistoryView, "FollowUpHistory", label=_l("Follow-up history"), icon="fa-history",
        category="SatisfactionMenu")
    add(SurveyView, "Ratings", label=_l("Ratings"), icon="fa-star", category="SatisfactionMenu")
    add(LowScoreReviewView, "LowScoreReviews", label=_l("Low-score reviews"), icon="fa-frown-o",
        category="SatisfactionMenu")

    add(RecurringProblemsView, "RecurringProblems", label=_l("Recurring problems"), icon="fa-repeat",
        category="ProblemsMenu", category_label=_l("Problem management"), category_icon="fa-search")
    add(ProblemView, "ProblemRecords", label=_l("Problem records"), icon="fa-bug", category="ProblemsMenu")

    add(DashboardView, "Dashboards", label=_l("Dashboards"), icon="fa-bar-chart",
        category="AnalyticsMenu", category_label=_l("Analytics"), category_icon="fa-line-chart")

    add(CustomerView, "Customers", label=_l("Customers"), icon="fa-user",
        category="CustomersMenu", category_label=_l("Customers"), category_icon="fa-users")
    add(AssetView, "Assets", label=_l("Assets"), icon="fa-cube", category="CustomersMenu")
    add(MaintenancePlanView, "MaintenancePlans", label=_l("Maintenance plans"), icon="fa-calendar-check-o",
        category="CustomersMenu")
    add(CustomerContactView, "CustomerContacts", label=_l("Other contacts"), icon="fa-address-book",
        category="CustomersMenu")

    add(SparePartView, "SpareParts", label=_l("Spare parts"), icon="fa-cog",
        category="PartsMenu", category_label=_l("Spare parts"), category_icon="fa-cogs")
    add(StockView, "StockLevels", label=_l("Stock"), icon="fa-cubes", category="PartsMenu")
    add(WarehouseView, "Warehouses", label=_l("Warehouses"), icon="fa-building", category="PartsMenu")
    add(StockMoveView, "StockMoves", label=_l("Stock movements"), icon="fa-exchange", category="PartsMenu")
    add(PartRequestView, "PartRequests", label=_l("Transfer and purchase requests"), icon="fa-truck",
        category="PartsMenu")
    add(LowStockView, "LowStock", label=_l("Low stock"), icon="fa-exclamation-triangle", category="PartsMenu")

    add(EngineerView, "Engineers", label=_l("Engineers"), icon="fa-wrench",
        category="StaffMenu", category_label=_l("Engineers"), category_icon="fa-wrench")
    add(EngineerShiftView, "Shifts", label=_l("Shifts"), icon="fa-clock-o", category="StaffMenu")
    add(EngineerAbsenceView, "Absences", label=_l("Leave and absences"), icon="fa-calendar-times-o",
        category="StaffMenu")
    add(TeamView, "Teams", label=_l("Teams"), icon="fa-sitemap", category="StaffMenu")
    add(SkillView, "Skills", label=_l("Skills"), icon="fa-tags", category="StaffMenu")

    add(CategoryView, "Categories", label=_l("Categories"), icon="fa-folder",
        category="ConfigMenu", category_label=_l("Configuration"), category_icon="fa-sliders")
    add(ServiceTypeView, "ServiceTypes", label=_l("Service types"), icon="fa-briefcase", category="ConfigMenu")
    add(ResolutionCodeView, "ResolutionCodes", label=_l("Resolution codes"), icon="fa-check-square-o",
        category="ConfigMenu")
    add(PriorityView, "Priorities", label=_l("Priorities"), icon="fa-exclamation", category="ConfigMenu")
    add(ServiceRegionView, "Regions", label=_l("Service regions"), icon="fa-map-marker", category="ConfigMenu")
    add(ProductView, "Products", label=_l("Products"), icon="fa-barcode", category="ConfigMenu")
    add(ProductLineView, "ProductLines", label=_l("Product lines"), icon="fa-th-list", category="ConfigMenu")
    add(SlaPolicyView, "SlaPolicies", label=_l("SLA policies"), icon="fa-hourglass-half", category="ConfigMenu")
    add(BusinessCalendarView, "BusinessCalendars", label=_l("Business calendars"), icon="fa-calendar",
        category="ConfigMenu")
    add(SchedulerView, "Scheduler", label=_l("Scheduler"), icon="fa-heartbeat", category="ConfigMenu")
    for view in (EscalationStepView, CalendarHoursView, CalendarDayView):
        appbuilder.add_view_no_menu(view)
    add(ClassificationRuleView, "ClassificationRules", label=_l("Classification rules"), icon="fa-filter",
        category="ConfigMenu")
    add(SynonymGroupView, "Synonyms", label=_l("Synonyms"), icon="fa-book", category="ConfigMenu")
    add(IntakeSettingsView, "IntakeSettings", label=_l("Intake settings"), icon="fa-cogs", category="ConfigMenu")
    add(DispatchSettingsView, "DispatchSettings", label=_l("Dispatch settings"), icon="fa-random",
        category="ConfigMenu")
    add(IntegrationTokenView, "IntegrationTokens", label=_l("Integration tokens"), icon="fa-key",
        category="ConfigMenu")
    add(MailboxView, "Mailboxes", label=_l("Mailboxes"), icon="fa-envelope", category="ConfigMenu")
    add(NotificationTemplateView, "NotificationTemplates", label=_l("Notification templates"), icon="fa-commenting",
        category="ConfigMenu")
    add(NotifyEndpointView, "NotifyEndpoints", label=_l("Webhooks and group robots"), icon="fa-plug",
        category="ConfigMenu")
    add(NotifySettingsView, "NotifySettings", label=_l("Notification settings"), icon="fa-bell-o",
        category="ConfigMenu")
    add(SatisfactionSettingsView, "SatisfactionSettings", label=_l("Satisfaction settings"), icon="fa-smile-o",
        category="ConfigMenu")
    add(OutboxView, "Outbox", label=_l("Notification outbox"), icon="fa-paper-plane", category="ConfigMenu")
    appbuilder.add_view_no_menu(NotificationAttemptView)
    # Reached from the bell and the user menu in the navigation bar.
    appbuilder.add_view_no_menu(InboxView)
    appbuilder.add_view_no_menu(PreferenceView)

    # Beside FAB's users and roles (its "Security" menu, 用户权限): administrators only.
    add(AuditLogView, "AuditLog", label=_l("Audit log"), icon="fa-history", category="Security")

    # Excel import and export pages, reached from the buttons on their list views.
    for sheet_view in SPREADSHEET_VIEWS:
        appbuilder.add_view_no_menu(sheet_view)
    for related in (CustomerTicketsView, AssetTicketsView, TeamEngineersView, WarehouseStockView, MaintenanceRunView):
        appbuilder.add_view_no_menu(related)
    _booleans_as_words(appbuilder)


def _booleans_as_words(appbuilder) -> None:
    """Every yes/no column reads 是/否 instead of Python's True/False, unless a view says otherwise."""
    for view in appbuilder.baseviews:
        datamodel = getattr(view, "datamodel", None)
        if datamodel is None or not hasattr(view, "formatters_columns"):
            continue
        shown = set(getattr(view, "list_columns", None) or []) | set(getattr(view, "show_columns", None) or [])
        for column in shown:
            if datamodel.is_boolean(column):
                view.formatters_columns.setdefault(column, yes_no)
