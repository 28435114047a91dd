"""Excel import and export (Excel 导入导出) of customers, assets, spare parts and stock.

- import_sheet / run_import (pipeline): every row checked first, then everything written in the caller's
  transaction — or nothing, when any row is wrong. Upsert by natural key: phone, serial number, SKU,
  warehouse + SKU; a re-imported file changes nothing.
- export, write_template, write_error_report (exporting): headers in the reader's language; an export
  imports again unchanged.
Column definitions live in one module per kind (customers, assets, parts, stock)."""
from app.services.spreadsheets.assets import Assets
from app.services.spreadsheets.base import ImportResult, Kind, RowError
from app.services.spreadsheets.customers import Customers
from app.services.spreadsheets.exporting import export, write_error_report, write_template
from app.services.spreadsheets.parts import SpareParts
from app.services.spreadsheets.pipeline import Finished, Progress, import_sheet, run_import
from app.services.spreadsheets.stock import StockLevels
from app.services.spreadsheets.workbook import FileProblem, Limits

KINDS: dict[str, Kind] = {kind.name: kind for kind in (Customers(), Assets(), SpareParts(), StockLevels())}

__all__ = ["KINDS", "FileProblem", "Finished", "ImportResult", "Kind", "Limits", "Progress", "RowError", "export",
           "import_sheet", "run_import", "write_error_report", "write_template"]
