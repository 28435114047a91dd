"""Opening an uploaded workbook safely and streaming its rows; writing workbooks row by row.

openpyxl's read-only mode parses rows as they are asked for and its write-only mode writes them as they
come, so a 100,000-row file never sits in memory as cell objects. What reaches us may be anything with an
.xlsx name: an old .xls, a CSV, a zip bomb — each is refused with a sentence, never a server error."""
import os
import zipfile
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from app.services.errors import ServiceError

HEADER_SEARCH_ROWS = 10  # a title or a note may stand above the header row
_OLD_EXCEL = b"\xd0\xcf\x11\xe0"  # the compound-file signature of .xls (Excel 97–2003)


@dataclass(frozen=True)
class Limits:
    max_rows: int = 200_000
    max_bytes: int = 20 * 1024 * 1024
    # What the zip may unpack to: a small upload that inflates to gigabytes (zip bomb) stops here.
    max_unpacked_bytes: int = 512 * 1024 * 1024


class FileProblem(ServiceError):
    """The file as a whole cannot be imported (not a workbook, too big, no header)."""

    def __init__(self, message):
        super().__init__(message, field="file")


class Sheet:
    """The first worksheet of an uploaded workbook, read row by row."""

    def __init__(self, path: str, limits: Limits):
        self.limits = limits
        _check_container(path, limits)
        try:
            self._book = load_workbook(path, read_only=True, data_only=True)
        except Exception:  # noqa: BLE001  (openpyxl raises many kinds for a damaged file)
            raise FileProblem(_l("The file could not be read as an Excel workbook (.xlsx).")) from None
        if not self._book.worksheets:
            self.close()
            raise FileProblem(_l("The workbook has no worksheet."))
        self._sheet = self._book.worksheets[0]
        if (self.size_hint or 0) > limits.max_rows + HEADER_SEARCH_ROWS:
            self.close()
            raise _too_many_rows(limits)

    @property
    def size_hint(self) -> int | None:
        """Rows the file says it has (its dimension record); None when it does not say."""
        try:
            return self._sheet.max_row
        except Exception:  # noqa: BLE001  (a missing or malformed dimension record)
            return None

    def rows(self, first: int = 1, last: int | None = None):
        """(Excel row number, cell values) from row `first` on."""
        try:
            for number, values in enumerate(self._sheet.iter_rows(min_row=first, max_row=last, values_only=True),
                                            start=first):
                yield number, values
        except FileProblem:
            raise
        except Exception:  # noqa: BLE001  (damage found half-way through the sheet's XML)
            raise FileProblem(_l("The file is damaged and could not be read to the end.")) from None

    def close(self) -> None:
        self._book.close()


def _too_many_rows(limits: Limits) -> FileProblem:
    return FileProblem(_l("The file has more than %(max)s rows. Split it into smaller files.",
                          max=f"{limits.max_rows:,}"))


def _check_container(path: str, limits: Limits) -> None:
    size = os.path.getsize(path)
    if size == 0:
        raise FileProblem(_l("The file is empty."))
    if size > limits.max_bytes:
        raise FileProblem(_l("The file is larger than %(max)s MB.", max=limits.max_bytes // (1024 * 1024)))
    with open(path, "rb") as fh:
        if fh.read(4) == _OLD_EXCEL:
            raise FileProblem(_l("This is an old Excel file (.xls). Save it as an Excel workbook (.xlsx) and "
                                 "upload it again."))
    if not zipfile.is_zipfile(path):
        raise FileProblem(_l("The file is not an Excel workbook (.xlsx)."))
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile:
        raise FileProblem(_l("The file is not an Excel workbook (.xlsx).")) from None
    if not any(e.filename == "xl/workbook.xml" for e in entries):
        raise FileProblem(_l("The file is not an Excel workbook (.xlsx)."))
    if sum(e.file_size for e in entries) > limits.max_unpacked_bytes:
        raise FileProblem(_l("The file is larger than %(max)s MB.", max=limits.max_bytes // (1024 * 1024)))


# ---------------------------------------------------------------- writing

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
ERROR_FONT = Font(color="9C0006")


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class SheetWriter:
    """A write-only workbook: header first, then rows, then save. The header row stays in view."""

    def __init__(self, title: str):
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet(title=_sheet_title(title))
        self.sheet.freeze_panes = "A2"

    def columns(self, widths: list[int]) -> None:
        for position, width in enumerate(widths, start=1):
            self.sheet.column_dimensions[get_column_letter(position)].width = width

    def header(self, titles: list[str], required: set[int] = frozenset()) -> None:
        cells = []
        for position, title in enumerate(titles):
            cell = WriteOnlyCell(self.sheet, value=title)
            cell.font = HEADER_FONT
            cell.fill = REQUIRED_FILL if position in required else HEADER_FILL
            cells.append(cell)
        self.sheet.append(cells)

    def row(self, values: list, formats: list[str | None] | None = None) -> None:
        self.sheet.append(self._cells(values, formats))

    def marked_row(self, values: list, note: str) -> None:
        """A row of the error report: the original cells, then what is wrong, in red."""
        cell = WriteOnlyCell(self.sheet, value=note)
        cell.font, cell.fill = ERROR_FONT, ERROR_FILL
        cell.alignment = Alignment(wrap_text=True)
        self.sheet.append(self._cells(list(values)) + [cell])

    def _cells(self, values: list, formats: list[str | None] | None = None) -> list:
        """Values as cells. Text that Excel would take for a formula (a customer named =HYPERLINK(…) through the
        portal) is written as text: an export must never run what a customer typed."""
        cells = []
        for position, value in enumerate(values):
            number_format = formats[position] if formats else None
            if isinstance(value, str) and value.startswith(FORMULA_START):
                cell = WriteOnlyCell(self.sheet, value=value)
                cell.data_type = "s"
            elif number_format and value is not None:
                cell = WriteOnlyCell(self.sheet, value=value)
                cell.number_format = number_format
            else:
                cell = value
            cells.append(cell)
        return cells

    def notes_sheet(self, title: str, rows: list[list]) -> None:
        """A second sheet explaining the columns (the import reads only the first)."""
        sheet = self.book.create_sheet(title=_sheet_title(title))
        for i, width in enumerate((22, 12, 70)):
            sheet.column_dimensions[get_column_letter(i + 1)].width = width
        for number, values in enumerate(rows):
            if number == 0:
                cells = []
                for value in values:
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.font, cell.fill = HEADER_FONT, HEADER_FILL
                    cells.append(cell)
                sheet.append(cells)
            else:
                sheet.append(values)

    def save(self, target) -> None:
        self.book.save(target)


def _sheet_title(title: str) -> str:
    """Excel allows 31 characters and none of []:*?/\\ in a sheet name."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in str(title)).strip()
    return (cleaned or "Sheet")[:31]
