"""Fixed code lists (with their human names) and the reference data every installation starts with."""
from flask_babel import lazy_gettext as _l

CHANNELS = {
    "phone": _l("Phone"),
    "email": _l("E-mail"),
    "web": _l("Web form"),
    "chat": _l("Online chat"),
    "app": _l("App"),
    "wechat": _l("WeChat"),
    "iot": _l("IoT device"),
    "plan": _l("Maintenance plan"),
}

WARRANTY_STATUSES = {"in": _l("In warranty"), "out": _l("Out of warranty"), "unknown": _l("Unknown")}
CUSTOMER_TIERS = {"vip": _l("VIP"), "normal": _l("Normal")}
LANGUAGE_NAMES = {"zh": _l("Chinese"), "en": _l("English")}
CONTACT_CHANNELS = {"sms": _l("SMS"), "phone": _l("Phone"), "email": _l("E-mail"), "wechat": _l("WeChat")}
CONTACT_KINDS = {"phone": _l("Phone"), "email": _l("E-mail"), "wechat": _l("WeChat")}
REGION_LEVELS = {"province": _l("Province"), "city": _l("City"), "district": _l("District")}
STOCK_MOVE_KINDS = {
    "receipt": _l("Receipt"),
    "reserve": _l("Reserve"),
    "release": _l("Release"),
    "consume": _l("Consume"),
    "return": _l("Return"),
    "transfer_out": _l("Transfer out"),
    "transfer_in": _l("Transfer in"),
    "adjust": _l("Adjustment"),
}


def choices(mapping: dict) -> list[tuple[str, str]]:
    """(code, label) pairs for a form select; labels render in the reader's language."""
    return [(code, label) for code, label in mapping.items()]


# Stable codes (APIs, rules and integrations depend on them); names are managers' to edit later.
CATEGORIES = [
    ("fault", "故障报修", "Fault"),
    ("inquiry", "咨询", "Inquiry"),
    ("parts", "配件", "Parts"),
    ("complaint", "投诉", "Complaint"),
    ("installation", "安装", "Installation"),
]
SERVICE_TYPES = [  # (code, zh, en, done at the customer's place)
    ("installation", "安装调试", "Installation", True),
    ("hardware_repair", "硬件维修", "Hardware repair", True),
    ("software_guidance", "软件指导", "Software guidance", False),
]
PRIORITIES = [  # (code, zh, en, rank, load weight, tickets allowed past capacity)
    ("urgent", "紧急", "Urgent", 1, 2.0, 2),
    ("high", "高", "High", 2, 1.5, 0),
    ("medium", "中", "Medium", 3, 1.0, 0),
    ("low", "低", "Low", 4, 0.5, 0),
]
RESOLUTION_CODES = [  # how it was fixed: what first-time-fix and root-cause reports count
    ("part_replaced", "更换配件", "Part replaced"),
    ("repaired", "维修调试", "Repaired and adjusted"),
    ("installed", "安装完成", "Installed"),
    ("guidance", "使用指导", "Guided the customer"),
    ("unit_replaced", "整机更换", "Unit replaced"),
    ("no_fault", "未发现故障", "No fault found"),
]
