"""The rule set every installation starts with: typical appliance after-sales feedback in Simplified and
Traditional Chinese (folded to Simplified before matching) and English. `init` adds the rules and
synonym groups whose code is missing and never touches ones a manager has edited.
"""
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Category, ClassificationRule, IntakeSettings, Priority, ServiceType, SynonymGroup

SYNONYMS = [
    ("power", "无法开机, 开不了机, 不能开机, 不开机, 打不开, 开不开, 不通电, 没反应, 无反应, 不启动, "
              "won't turn on, wont turn on, not turning on, cannot power on, can't turn on, no power, dead"),
    ("leak", "漏水, 渗水, 滴水, 跑水, 冒水, 漏了, leak, leaks, leaking, leakage, dripping"),
    ("gas", "煤气味, 燃气味, 漏气, 漏煤气, 有气味, 天然气味, gas smell, smell of gas, gas leak"),
    ("smoke", "冒烟, 烧焦, 焦味, 糊味, 着火, 起火, 火花, 打火花, smoke, smoking, burning smell, fire, sparks"),
    ("shock", "漏电, 触电, 电到, 麻手, electric shock, shocked, electrocuted"),
    ("no_hot_water", "不出热水, 没有热水, 不加热, 不热, no hot water, not heating"),
    ("no_cooling", "不制冷, 不凉, 制冷差, 不制热, not cooling, no cold air, not heating up"),
    ("noise", "异响, 噪音, 响声大, 噪声, 嗡嗡响, noise, noisy, rattling"),
    ("error", "故障, 坏了, 报错, 故障码, 错误代码, 失灵, fault, error, error code, broken, malfunction"),
    ("install", "安装, 装机, 上门安装, 移机, 拆装, 拆机, install, installation, relocate, mounting"),
    ("filter", "滤芯, 换滤芯, 更换滤芯, 滤网, filter, filter replacement, cartridge"),
    ("parts", "配件, 备件, 遥控器, 购买配件, spare part, spare parts, remote control, accessory"),
    ("how", "怎么, 如何, 怎样, 请问, 咨询, 使用方法, 说明书, 设置, how to, how do i, how can i, manual, "
            "instructions, question, setting"),
    ("complaint", "投诉, 差评, 态度差, 太差, 差劲, 垃圾, 骗子, 欺骗, 忽悠, 坑人, 退货, 退款, 12315, 消协, "
                  "曝光, 媒体, 律师, 起诉, 忍无可忍, 气死, complaint, complain, terrible, unacceptable, refund, "
                  "lawyer, scam, worst, ridiculous"),
]

# (code, position, name, conditions, actions)
RULES = [
    ("safety", 10, "安全隐患 Safety hazard",
     dict(keywords="漏水, 煤气味, 冒烟, 漏电"),
     dict(category="fault", service_type="hardware_repair", priority="urgent", tags="安全隐患", confidence=0.95)),
    ("total_failure", 20, "整机无法使用 Total failure",
     dict(keywords="无法开机, 不出热水, 不制冷"),
     dict(category="fault", service_type="hardware_repair", priority="urgent", tags="整机故障", confidence=0.9)),
    ("iot_critical", 30, "设备严重报警 Critical device alarm",
     dict(channels="iot", min_severity="critical"),
     dict(category="fault", service_type="hardware_repair", priority="urgent", tags="设备报警", confidence=0.9)),
    ("iot_alarm", 40, "设备报警 Device alarm",
     dict(channels="iot"),
     dict(category="fault", service_type="hardware_repair", priority="medium", tags="设备报警", confidence=0.8)),
    ("installation", 50, "安装移机 Installation",
     dict(keywords="安装"),
     dict(category="installation", service_type="installation", priority="medium", confidence=0.85)),
    ("fault", 60, "一般故障 General fault",
     dict(keywords="故障, 异响"),
     dict(category="fault", service_type="hardware_repair", priority="high", confidence=0.8)),
    ("parts", 70, "配件滤芯 Parts and filters",
     dict(keywords="滤芯, 配件"),
     dict(category="parts", service_type="hardware_repair", priority="low", confidence=0.8)),
    ("usage_question", 80, "使用咨询 Usage question",
     dict(keywords="怎么"),
     dict(category="inquiry", service_type="software_guidance", priority="low", confidence=0.75)),
    ("complaint_words", 100, "投诉用语 Complaint wording",
     dict(keywords="投诉"),
     dict(raise_priority=1, tags="投诉")),
    ("angry_tone", 110, "情绪激烈 Angry tone",
     dict(max_sentiment=-0.6),
     dict(raise_priority=1, tags="情绪激动")),
    ("repeat_report", 120, "7天内重复报修 Repeat report within 7 days",
     dict(repeat_within_days=7),
     dict(raise_priority=1, tags="重复报修")),
    ("vip", 130, "VIP客户 VIP customer",
     dict(customer_tier="vip"),
     dict(raise_priority=1, tags="VIP")),
]


def ensure_default_rules(session: Session) -> int:
    """Insert missing shipped synonym groups, rules and the settings row. Returns how many rows."""
    added = 0
    have = set(session.scalars(select(SynonymGroup.code)))
    for code, words in SYNONYMS:
        if code not in have:
            session.add(SynonymGroup(code=code, words=words))
            added += 1

    def ref(model, code):
        return session.scalar(select(model.id).where(model.code == code)) if code else None

    have = set(session.scalars(select(ClassificationRule.code)))
    for code, position, name, conditions, actions in RULES:
        if code in have:
            continue
        actions = dict(actions)
        session.add(ClassificationRule(
            code=code, position=position, name=name, **conditions,
            category_id=ref(Category, actions.pop("category", None)),
            service_type_id=ref(ServiceType, actions.pop("service_type", None)),
            priority_id=ref(Priority, actions.pop("priority", None)),
            **actions,
        ))
        added += 1
    if session.get(IntakeSettings, 1) is None:
        session.add(IntakeSettings(id=1, default_priority_id=ref(Priority, "medium")))
        added += 1
    session.commit()
    return added
