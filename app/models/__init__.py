"""All models, imported here so that Alembic and AppBuilder see the whole schema."""
from flask_appbuilder.security.sqla.models import User  # noqa: F401  (FAB's ab_user, referenced by FKs)

from app.models.customer import Asset, Customer, CustomerContact, Product, ProductLine  # noqa: F401
from app.models.dispatch import DispatchSettings, EngineerAbsence, EngineerShift, TicketPart  # noqa: F401
from app.models.inventory import PartRequest, SparePart, Stock, StockMove, Warehouse  # noqa: F401
from app.models.reference import Category, Priority, ResolutionCode, ServiceType  # noqa: F401
from app.models.region import ServiceRegion  # noqa: F401
from app.models.staff import Engineer, Skill, Team  # noqa: F401
from app.models.ticket import Ticket, TicketEvent, TicketNumberCounter  # noqa: F401
from app.models.audit import AuditLog  # noqa: F401
from app.models.analytics import WorkStretch  # noqa: F401  (after ticket: its indexes are on the ticket table)
from app.models.intake import (  # noqa: F401
    ClassificationRule, IntakeRecord, IntakeSettings, IntegrationToken, Mailbox, SynonymGroup, TicketAttachment,
)
from app.models.notify import (  # noqa: F401
    Notification, NotificationAttempt, NotificationTemplate, NotifyEndpoint, NotifySettings, StaffNotifyPreference,
)
from app.models.knowledge import KbArticle, TicketSearch  # noqa: F401
from app.models.maintenance import MaintenancePlan, MaintenanceRun  # noqa: F401
from app.models.problem import Problem, ProblemTicket  # noqa: F401
from app.models.satisfaction import FollowUp, LowScoreReview, SatisfactionSettings, Survey  # noqa: F401
from app.models.scheduler import JobRun, SchedulerHeartbeat  # noqa: F401
from app.models.security import LoginLock  # noqa: F401
from app.models.sla import (  # noqa: F401
    BusinessCalendar, CalendarDay, CalendarHours, EscalationStep, SlaCheck, SlaPolicy, SlaSegment, SlaStep,
)
