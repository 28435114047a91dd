"""Excel import and export at volume: 100,000 customers and 20,000 stock lines.

    .venv/bin/python bench/spreadsheets.py                      # SQLite file
    .venv/bin/python bench/spreadsheets.py --database-url postgresql://postgres@127.0.0.1:5432/bench_xlsx

Creates a fresh database (drops the PostgreSQL schema it is given!) with the demo catalogue, writes a
--customers row customer workbook and a stock workbook of --parts parts × the 4 demo warehouses (the parts
themselves imported first from their own workbook), then times, per file:
- validate: the dry run (every cell parsed, references and keys looked up, nothing written);
- import: the real import and its commit (all rows new);
- re-import: the same file again (all rows unchanged: nothing written);
- export: every row written back to a workbook.
Also prints the process's peak memory, since the import holds the parsed rows until it writes.
"""
import argparse
import os
import random
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.seed import demo_app  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩凯"
REGIONS = ["110101", "110102", "110105", "110106", "110108", "310104", "310106", "310115", "440104", "440106",
           "440304", "440305"]


def customer_workbook(path: str, count: int, rng: random.Random) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("客户")
    sheet.append(["客户姓名", "手机号码", "邮箱", "客户等级", "首选联系渠道", "区域", "地址", "备注"])
    phones = rng.sample(range(10 ** 8), count)
    for i in range(count):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if i % 2 else "")
        sheet.append([name, f"13{rng.choice('5789')}{phones[i]:08d}",
                      f"c{i}@example.com" if i % 3 == 0 else None, "VIP客户" if i % 20 == 0 else "普通客户",
                      rng.choice(["短信", "微信", "电话"]), rng.choice(REGIONS),
                      f"某某路 {rng.randint(1, 999)} 号 {rng.randint(1, 30)} 栋 {rng.randint(101, 2808)} 室",
                      "经销商导入" if i % 7 == 0 else None])
    book.save(path)


def parts_workbook(path: str, count: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("备件")
    sheet.append(["备件编码", "名称（中文）", "名称（英文）", "单价（元）", "适用产品"])
    for i in range(count):
        sheet.append([f"BX-{i:05d}", f"测试备件 {i}", f"Bench part {i}", 10 + i % 300, "JSQ30-16A、F80-D30"])
    book.save(path)


def stock_workbook(path: str, parts: int, rng: random.Random) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("库存")
    sheet.append(["仓库编码", "备件编码", "在库数量", "低库存预警值"])
    for i in range(parts):
        for warehouse in ("WH-BJ", "WH-SH", "WH-GZ", "WH-SZ"):
            sheet.append([warehouse, f"BX-{i:05d}", rng.randint(0, 60), rng.choice([0, 2, 5])])
    book.save(path)


def timed(label: str, rows: int, fn):
    started = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - started
    print(f"  {label:<34} {rows:>8,} rows  {elapsed:7.1f} s  {rows / elapsed:9,.0f} rows/s", flush=True)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--parts", type=int, default=5_000, help="stock lines = parts × 4 warehouses")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    app, url = demo_app(args.database_url, "bench-xlsx-")
    from flask_babel import force_locale

    from app.extensions import db
    from app.services import spreadsheets
    from app.services.spreadsheets import KINDS
    from app.timeutil import utcnow

    folder = tempfile.mkdtemp(prefix="bench-xlsx-files-")
    rng = random.Random(7)  # not the demo's seed: its phone numbers would come out again
    files = {"customers": os.path.join(folder, "customers.xlsx"), "parts": os.path.join(folder, "parts.xlsx"),
             "stock": os.path.join(folder, "stock.xlsx")}
    customer_workbook(files["customers"], args.customers, rng)
    parts_workbook(files["parts"], args.parts)
    stock_workbook(files["stock"], args.parts, rng)
    print(f"database: {url.split('@')[-1] if '@' in url else 'SQLite'}; files: " +
          ", ".join(f"{k} {os.path.getsize(v) / 1e6:.1f} MB" for k, v in files.items()))

    with app.app_context(), force_locale("zh"):
        s = db.session

        def run(kind, dry_run):
            result = spreadsheets.run_import(s, KINDS[kind], files[kind], filename=kind, now=utcnow(), dry_run=dry_run)
            assert result.ok, [e.sentence() for e in result.errors[:5]]
            if dry_run:
                s.rollback()
            else:
                s.commit()
            return result

        for kind, rows in (("customers", args.customers), ("parts", args.parts), ("stock", args.parts * 4)):
            print(f"{kind}:")
            timed("validate (dry run)", rows, lambda: run(kind, True))
            created = timed("import (all new) + commit", rows, lambda: run(kind, False))
            assert created.created == rows, (created.created, rows)
            again = timed("re-import (all unchanged)", rows, lambda: run(kind, False))
            assert again.unchanged == rows
            target = os.path.join(folder, f"{kind}-export.xlsx")
            exported = timed("export", rows, lambda: spreadsheets.export(s, KINDS[kind], target))
            assert exported >= rows
            s.rollback()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS) {peak:,.0f} MB")


if __name__ == "__main__":
    main()
