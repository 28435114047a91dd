"""The dashboard's charts as Excel workbooks: one sheet per chart with its title, period, team, definition and
table, headers in the reader's language (openpyxl, streamed)."""
import io
import re
from datetime import datetime

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_title(title: str, taken: set) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    base = _SHEET_FORBIDDEN.sub(" ", title).strip()[:31] or "Sheet"
    name, n = base, 2
    while name in taken:
        suffix = f" ({n})"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def workbook(charts: list[dict], *, period: str, team: str, generated: datetime) -> bytes:
    book = Workbook(write_only=True)
    taken: set = set()
    bold = Font(bold=True)
    for chart in charts:
        sheet = book.create_sheet(sheet_title(chart["title"], taken))
        title = WriteOnlyCell(sheet, value=chart["title"])
        title.font = Font(bold=True, size=13)
        sheet.append([title])
        sheet.append([_("Period"), period])
        sheet.append([_("Team"), team])
        sheet.append([_("Generated at"), generated.strftime("%Y-%m-%d %H:%M")])
        sheet.append([_("Definition"), chart["definition"]])
        if chart.get("note"):
            sheet.append([_("Note"), chart["note"]])
        sheet.append([])
        headers = []
        for text in chart["table"]["headers"]:
            cell = WriteOnlyCell(sheet, value=text)
            cell.font = bold
            headers.append(cell)
        sheet.append(headers)
        for row in chart["table"]["rows"]:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
