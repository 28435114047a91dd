"""Writing sheets: an export (every row, or those a list's filters leave), an empty template with the
columns explained, and the error report — the uploaded rows with what is wrong beside each."""
from datetime import datetime
from typing import Callable

from flask_babel import gettext as _

from app.services.spreadsheets.base import Kind
from app.services.spreadsheets.pipeline import find_header, run_import
from app.services.spreadsheets.workbook import Limits, Sheet, SheetWriter


# The import's rules, as the import page and the template's instructions sheet both say them.
RULES = (
    lambda key: _("Rows are matched by %(key)s: a new one is added, a known one is updated, an identical one is "
                  "left alone. Importing the same file twice changes nothing.", key=key),
    lambda: _("Every row is checked first. If any row is wrong, nothing is imported: you get the list of problems "
              "(row, column, reason) and can download the file with the problems marked."),
    lambda: _("An empty cell clears an optional field; a field that always has a value keeps it. Columns the "
              "import does not know are ignored."),
)


def _writer(kind: Kind) -> SheetWriter:
    writer = SheetWriter(str(kind.title))
    writer.columns([c.width for c in kind.columns])
    writer.header([str(c.label) for c in kind.columns],
                  required={i for i, c in enumerate(kind.columns) if c.required or c.needed})
    return writer


def export(session, kind: Kind, target, *, only=None, progress: Callable[[int], None] | None = None) -> int:
    """Write the kind's rows (those whose id is in the `only` select, when given) with headers in the reader's
    language. The file imports again unchanged. Returns the number of rows."""
    writer = _writer(kind)
    formats = [c.number_format for c in kind.columns]
    written = 0
    for values in kind.export_rows(session, only):
        writer.row([values.get(c.key) for c in kind.columns], formats)
        written += 1
        if progress is not None and written % 1000 == 0:
            progress(written)
    writer.save(target)
    if progress is not None:
        progress(written)
    return written


def write_template(kind: Kind, target) -> None:
    """An empty sheet with the headers, and a second sheet saying what each column takes."""
    writer = _writer(kind)
    notes = [[_("Column"), _("Required"), _("What to write")]]
    for column in kind.columns:
        if not column.importable:
            what = _("Shown in exports; ignored when importing.")
        else:
            what = str(column.hint) if column.hint else ""
        required = _("Yes") if column.required else (_("For new rows") if column.needed else "")
        notes.append([str(column.label), required, what])
    notes.append([])
    notes.append([_("Rules"), "", RULES[0](kind.key_label())])
    notes.extend([["", "", rule()] for rule in RULES[1:]])
    writer.notes_sheet(_("Instructions"), notes)
    writer.save(target)


def write_error_report(session, kind: Kind, path: str, target, *, filename: str, now: datetime,
                       limits: Limits = Limits()) -> int:
    """The uploaded sheet again — its header, then every row — with a last column saying what is wrong in
    each row. Checking only (nothing is written). Returns the number of rows with errors."""
    result = run_import(session, kind, path, filename=filename, now=now, dry_run=True, limits=limits)
    by_row: dict[int, list[str]] = {}
    for error in result.errors:
        by_row.setdefault(error.row, []).append(error.sentence())
    sheet = Sheet(path, limits)
    try:
        header = find_header(sheet, kind)
        writer = SheetWriter(str(kind.title))
        titles = None
        for number, cells in sheet.rows(header.row_number):
            if titles is None:
                titles = list(cells)
                width = len(titles)
                writer.columns([16] * width + [60])
                writer.header([("" if t is None else t) for t in titles] + [_("Errors")])
                continue
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            values = (list(cells) + [None] * width)[:width]
            writer.marked_row(values, "；".join(by_row.get(number, [])))
        writer.save(target)
    finally:
        sheet.close()
    return len(by_row)
