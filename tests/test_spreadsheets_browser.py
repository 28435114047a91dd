"""A manager imports customers from Excel in a real browser: the progress bar follows the upload and then the
server's checking and saving, the counts appear; a file with a wrong cell shows the problem table and the
marked file downloads. Screenshots go to test-artifacts/."""
import os
import uuid

import openpyxl
import pytest
from sqlalchemy import func, select

from app.models import Customer
from tests.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser


def workbook(tmp_path, name, rows) -> str:
    book = openpyxl.Workbook()
    book.active.append(["客户姓名", "手机号码", "客户等级", "地址"])
    for row in rows:
        book.active.append(row)
    path = str(tmp_path / name)
    book.save(path)
    return path


def shot(page, name, app):
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, f"import-{name}-{app.config['DB_KIND']}.png"), full_page=True)


def test_a_manager_imports_customers_and_follows_the_progress(app, session, browser, server, tmp_path):
    prefix = "B" + uuid.uuid4().hex[:8]
    base = uuid.uuid4().int % 10 ** 4
    rows = [[f"{prefix}客户{i}", f"137{base:04d}{i:04d}", "VIP" if i % 10 == 0 else "普通", f"上海市静安区南京西路 {i} 号"]
            for i in range(3000)]
    good = workbook(tmp_path, "经销商客户.xlsx", rows)

    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    sign_in(page, server, "manager")
    page.goto(f"{server}/customerview/list/")
    page.click("#import-link")
    page.wait_for_selector("#import-form")
    assert page.inner_text("h3") == "导入客户"

    page.set_input_files("#import-file", good)
    page.click("#import-submit")
    page.wait_for_selector("#import-outcome[data-ok=yes]", timeout=60_000)

    progress = page.locator("#import-progress")
    assert progress.is_visible()
    assert progress.get_attribute("data-uploaded") == "100"  # the browser's own upload events drove the bar
    seen = progress.get_attribute("data-seen").split()
    assert seen[0] == "upload" and {"read", "check", "write"} <= set(seen) and seen[-1] == "done"
    assert page.inner_text("#import-progress-text") == "全部完成"
    assert page.get_attribute("#import-progress .progress-bar", "aria-valuenow") == "100"
    assert page.inner_text("#import-summary") == "经销商客户.xlsx 导入完成：共 3000 行。"
    assert page.inner_text("#import-counts tr[data-count=created] td") == "3000"
    shot(page, "done", app)
    assert session.scalar(select(func.count(Customer.id)).where(Customer.name.like(f"{prefix}%"))) == 3000

    # The same people again, one number mistyped: the problem table, nothing stored, the marked file.
    rows[1] = [f"{prefix}新客户", "1370", "普通", None]
    bad = workbook(tmp_path, "第二批.xlsx", rows)
    page.set_input_files("#import-file", bad)
    page.click("#import-submit")
    page.wait_for_selector("#import-outcome[data-ok=no]", timeout=60_000)
    assert page.inner_text("#import-progress-text") == "已停止：请查看下方的错误"
    assert page.inner_text("#import-summary") == "第二批.xlsx 中有 1 处错误，未导入任何数据。请改正后重新上传。"
    cells = page.locator("#import-errors tbody tr").first.locator("td").all_inner_texts()
    assert cells == ["3", "手机号码", "不是有效的电话号码"]
    shot(page, "errors", app)
    with page.expect_download() as download:
        page.click("#download-report")
    assert download.value.suggested_filename == "第二批 - 错误报告.xlsx"
    download.value.save_as(tmp_path / "report.xlsx")
    marked = openpyxl.load_workbook(tmp_path / "report.xlsx", read_only=True)
    third = list(marked.worksheets[0].iter_rows(min_row=3, max_row=3, values_only=True))[0]
    assert third[1] == "1370" and third[-1] == "第 3 行，手机号码：不是有效的电话号码"
    session.expire_all()
    assert session.scalar(select(func.count(Customer.id)).where(Customer.name == f"{prefix}新客户")) == 0
    page.close()
