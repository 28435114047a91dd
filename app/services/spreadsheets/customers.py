"""客户 sheet: one row per customer, found again by the primary mobile number."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select, update

from app.models import Customer
from app.services.spreadsheets import cells, lookups
from app.services.spreadsheets.base import Context, Kind, Plan, Row, chunks
from app.services.spreadsheets.columns import Column
from app.services.vocabulary import CONTACT_CHANNELS, CUSTOMER_TIERS, LANGUAGE_NAMES

WRITE_BATCH = 1000

COLUMNS = (
    Column("name", _l("Customer name"), cells.text(100), needed=True, width=14,
           aliases=("姓名", "客户", "客户名称", "联系人", "name")),
    Column("phone", _l("Mobile phone"), cells.phone, required=True, width=16,
           aliases=("手机", "手机号", "手机号码", "电话", "联系电话", "mobile", "phone number", "tel"),
           hint=_l("The customer's number: 13800138000, +86 138 0013 8000 or 010-62345678. A customer is found "
                   "again by it.")),
    Column("email", _l("E-mail address"), cells.email, width=26,
           aliases=("邮件", "邮箱", "电子邮件", "电子邮箱", "email", "mail")),
    Column("tier", _l("Tier"), cells.choice(CUSTOMER_TIERS, {"普通": "normal", "重要客户": "vip"}), keeps=True,
           width=10, aliases=("等级", "客户级别", "level"), hint=cells.one_of(CUSTOMER_TIERS)),
    Column("preferred_language", _l("Preferred language"),
           cells.choice(LANGUAGE_NAMES, {"中": "zh", "简体中文": "zh", "汉语": "zh", "英": "en", "英语": "en"}),
           keeps=True, width=10, aliases=("语言", "language"), hint=cells.one_of(LANGUAGE_NAMES)),
    Column("preferred_channel", _l("Preferred channel"),
           cells.choice(CONTACT_CHANNELS, {"手机": "phone", "电子邮件": "email", "邮箱": "email", "message": "sms"}),
           keeps=True, width=12, aliases=("联系方式", "通知方式", "channel"), hint=cells.one_of(CONTACT_CHANNELS)),
    Column("region", _l("Region"), cells.text(200), width=28, aliases=("区域编码", "地区", "区县", "region code"),
           hint=_l("The service region: its code (110105), its name (朝阳区) or its full path as exported.")),
    Column("address", _l("Address"), cells.text(300), width=36, aliases=("地址", "详细地址", "住址")),
    Column("latitude", _l("Latitude"), cells.coordinate(90), width=10, aliases=("lat",)),
    Column("longitude", _l("Longitude"), cells.coordinate(180), width=10, aliases=("lng", "lon")),
    Column("notes", _l("Notes"), cells.text(2000), width=30, aliases=("备注", "remark", "remarks")),
    Column("sms_opt_out", _l("No SMS (opted out)"), cells.yes_no, keeps=True, width=10, aliases=("短信退订",),
           hint=cells.YES_NO_HINT),
    Column("email_opt_out", _l("No e-mail (opted out)"), cells.yes_no, keeps=True, width=10, aliases=("邮件退订",),
           hint=cells.YES_NO_HINT),
    Column("wechat_opt_out", _l("No WeChat messages (opted out)"), cells.yes_no, keeps=True, width=10,
           aliases=("微信退订",), hint=cells.YES_NO_HINT),
)

# Stored field behind each column (the same name unless it is a reference).
FIELDS = {c.key: c.key for c in COLUMNS} | {"region": "region_id"}
DEFAULTS = {"tier": "normal", "preferred_language": "zh", "preferred_channel": "sms", "sms_opt_out": False,
            "email_opt_out": False, "wechat_opt_out": False}


class Customers(Kind):
    name = "customers"
    title = _l("Customers")
    columns = COLUMNS
    key_columns = ("phone",)

    def resolve(self, ctx: Context, rows: list[Row]) -> None:
        if not any("region" in row.values for row in rows):
            return
        names, _paths = lookups.regions(ctx.session)
        for row in rows:
            written = row.values.get("region")
            if written is None:
                continue
            ctx.refer(row, "region", names.find(written), missing=_l("No such region"),
                      ambiguous=_l("Several regions have this name: write its code or full path"))

    def stored(self, ctx: Context, keys: list[tuple]) -> dict[tuple, dict]:
        found: dict[tuple, dict] = {}
        fields = [getattr(Customer, FIELDS[c.key]) for c in COLUMNS]
        for chunk in chunks([k[0] for k in keys]):
            for record in ctx.session.execute(select(Customer.id, *fields).where(Customer.phone.in_(chunk))):
                values = dict(zip(["id"] + [c.key for c in COLUMNS], record))
                key = (values["phone"],)
                values["duplicates"] = found[key]["duplicates"] + 1 if key in found else 1
                found[key] = values
        return found

    def check(self, ctx: Context, row: Row, stored: dict | None) -> None:
        if stored is not None and stored["duplicates"] > 1:
            ctx.reject(row, "phone", _l("%(count)s customers have this number: merge or edit them in the console "
                                        "first", count=stored["duplicates"]))

    def write(self, ctx: Context, plan: Plan):
        done = 0
        for batch in chunks(plan.create, WRITE_BATCH):
            # render_nulls: an empty cell is NULL in the statement rather than a missing key, so all rows
            # share one column list and go in batches (without it: one INSERT per row on PostgreSQL).
            ctx.session.execute(insert(Customer).execution_options(render_nulls=True),
                                [self._new(row, ctx) for row in batch])
            done += len(batch)
            yield done
        for batch in chunks(plan.update, WRITE_BATCH):
            ctx.session.execute(update(Customer), [
                {"id": stored["id"], "updated_at": ctx.now, **{FIELDS[k]: v for k, v in changed.items()}}
                for _row, stored, changed in batch])
            done += len(batch)
            yield done

    def _new(self, row: Row, ctx: Context) -> dict:
        values = {**DEFAULTS, **{k: v for k, v in row.values.items()}}
        return {FIELDS[k]: v for k, v in values.items()} | {"created_at": ctx.now, "updated_at": ctx.now,
                                                             "verified": True}

    # ---- export
    def count(self, session, only=None) -> int:
        query = select(func.count(Customer.id))
        return session.scalar(query.where(Customer.id.in_(only)) if only is not None else query)

    def export_rows(self, session, only=None):
        _names, paths = lookups.regions(session)
        tiers = {k: str(v) for k, v in CUSTOMER_TIERS.items()}
        languages = {k: str(v) for k, v in LANGUAGE_NAMES.items()}
        channels = {k: str(v) for k, v in CONTACT_CHANNELS.items()}
        yes, no = _("Yes"), _("No")
        query = select(Customer.id, *(getattr(Customer, FIELDS[c.key]) for c in COLUMNS)).order_by(Customer.id)
        if only is not None:
            query = query.where(Customer.id.in_(only))
        for record in session.execute(query.execution_options(yield_per=2000)):
            values = dict(zip([c.key for c in COLUMNS], record[1:]))
            values["tier"] = tiers.get(values["tier"], values["tier"])
            values["preferred_language"] = languages.get(values["preferred_language"], values["preferred_language"])
            values["preferred_channel"] = channels.get(values["preferred_channel"], values["preferred_channel"])
            values["region"] = lookups.localized_path(paths, values["region"])
            for flag in ("sms_opt_out", "email_opt_out", "wechat_opt_out"):
                values[flag] = yes if values[flag] else no
            yield values
