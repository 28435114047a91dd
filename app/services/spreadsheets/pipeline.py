"""Importing a sheet: check every row first, then write every row — or nothing.

The steps, each reported as Progress so a progress bar can follow (the CLI's tqdm, the browser's NDJSON):
  read   — every cell parsed (a phone number is a phone number, a date a date, a choice one of the choices)
  check  — references looked up (customer by phone, product by model…), keys unique within the file,
           rules that need the stored row (on hand not below reserved); each row planned as new, changed or
           unchanged by its natural key
  write  — only when no row is wrong and it is not a dry run: one transaction, committed by the caller

The generator ends with Finished(result). Nothing here commits: the CLI and the view commit when the
result is clean, and roll back otherwise — so a bad row anywhere means nothing is stored."""
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from flask_babel import lazy_gettext as _l
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.services.spreadsheets.base import Context, ImportResult, Kind, Plan, Row, RowError, same
from app.services.spreadsheets.cells import Invalid, is_empty
from app.services.spreadsheets.columns import HeaderMatch, match_header
from app.services.spreadsheets.workbook import HEADER_SEARCH_ROWS, FileProblem, Limits, Sheet, _too_many_rows

PROGRESS_EVERY = 1000  # rows between two progress reports


@dataclass
class Progress:
    phase: str            # read | check | write
    done: int
    total: int | None     # None while the file has not said how many rows it has


@dataclass
class Finished:
    result: ImportResult


class RowConflict(Exception):
    """Writing found a row changed since it was checked (stock reserved meanwhile): the whole import stops."""

    def __init__(self, row: Row, key: str, reason):
        super().__init__(str(reason))
        self.row, self.key, self.reason = row, key, reason


def find_header(sheet: Sheet, kind: Kind) -> HeaderMatch:
    """The first of the top rows that names one of the kind's columns."""
    best = None
    for number, cells in sheet.rows(1, HEADER_SEARCH_ROWS):
        match = match_header(kind.columns, cells, number)
        if any(c.importable for c in match.columns.values()):
            best = match
            break
    if best is None:
        raise FileProblem(_l("No header row found. The first row should name the columns, e.g. %(columns)s.",
                             columns="、".join(str(c.label) for c in kind.columns if c.importable)))
    if best.repeated:
        raise FileProblem(_l("The column %(column)s appears twice.", column=best.repeated[0]))
    missing = [str(c.label) for c in kind.columns if c.required and c.key not in best.titles]
    if missing:
        raise FileProblem(_l("The column %(columns)s is missing.", columns="、".join(missing)))
    return best


def import_sheet(session: Session, kind: Kind, path: str, *, filename: str, now: datetime, actor=None,
                 dry_run: bool = False, limits: Limits = Limits()) -> Iterator[Progress | Finished]:
    """Check and (unless `dry_run` or any row is wrong) write the workbook at `path`. Raises FileProblem
    before the first event when the file as a whole cannot be read."""
    sheet = Sheet(path, limits)
    try:
        header = find_header(sheet, kind)
        result = ImportResult(kind=kind.name, filename=filename, dry_run=dry_run, ignored_columns=header.ignored)
        ctx = Context(session, now, actor, filename, header.titles, result.errors)
        rows: list[Row] = []
        yield from _read(sheet, header, ctx, rows, limits)
        result.rows = len(rows)

        yield Progress("check", 0, len(rows))
        _plan_each_lookup(session)
        plan = _check(kind, ctx, rows)
        yield Progress("check", len(rows), len(rows))
        result.errors.sort(key=lambda e: (e.row, _column_order(header, e.column)))
        if result.errors:
            yield Finished(result)
            return
        result.created, result.updated, result.unchanged = len(plan.create), len(plan.update), plan.unchanged
        if dry_run:
            yield Finished(result)
            return

        changes = len(plan.create) + len(plan.update)
        yield Progress("write", 0, changes)
        try:
            for done in kind.write(ctx, plan):
                yield Progress("write", done, changes)
            session.flush()
        except RowConflict as conflict:
            result.errors.append(RowError(conflict.row.number, header.titles.get(conflict.key, ""), conflict.reason))
        except IntegrityError:  # someone stored one of these keys since the check: the caller rolls back
            result.errors.append(RowError(0, "", _l("Someone saved some of these records at the same moment. "
                                                    "Nothing was imported; import the file again.")))
        if result.errors:
            result.created = result.updated = result.unchanged = 0
            yield Finished(result)
            return
        yield Progress("write", changes, changes)
        yield Finished(result)
    finally:
        sheet.close()


def run_import(session: Session, kind: Kind, path: str, **options) -> ImportResult:
    """import_sheet without progress: the result."""
    for event in import_sheet(session, kind, path, **options):
        if isinstance(event, Finished):
            return event.result
    raise AssertionError("import_sheet ended without a result")


def _plan_each_lookup(session: Session) -> None:
    """Look-ups go 500 keys at a time (`phone IN (…)`). psycopg prepares a statement run 5 times, and
    PostgreSQL may then reuse one generic plan, which compares every row with all 500 keys one by one instead
    of through a hash: measured 280 ms instead of 7 ms a chunk on 20,000 just-imported customers. For this
    transaction only (SET LOCAL), every query is planned with its own keys."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def _column_order(header: HeaderMatch, title: str) -> int:
    for position, column in header.columns.items():
        if header.titles.get(column.key) == title:
            return position
    return -1


def _read(sheet: Sheet, header: HeaderMatch, ctx: Context, rows: list[Row], limits: Limits):
    hint = sheet.size_hint
    total = hint - header.row_number if hint else None
    importable = [(p, c) for p, c in sorted(header.columns.items()) if c.importable]
    for number, cells in sheet.rows(header.row_number + 1):
        if all(is_empty(c) for c in cells):
            continue  # blank lines between blocks, or formatted but empty rows at the end
        if len(rows) >= limits.max_rows:
            raise _too_many_rows(limits)
        row = Row(number, {})
        for position, column in importable:
            cell = cells[position] if position < len(cells) else None
            if is_empty(cell):
                if column.required or column.needed:
                    ctx.reject(row, column.key, _l("Must not be empty"))
                elif not column.keeps:
                    row.values[column.key] = None  # an empty cell clears an optional field
                continue
            try:
                row.values[column.key] = column.parse(cell)
            except Invalid as problem:
                ctx.reject(row, column.key, problem.reason)
        rows.append(row)
        if len(rows) % PROGRESS_EVERY == 0:
            yield Progress("read", len(rows), total)
    yield Progress("read", len(rows), len(rows))


def _check(kind: Kind, ctx: Context, rows: list[Row]) -> Plan:
    kind.resolve(ctx, rows)
    first_seen: dict[tuple, int] = {}
    keyed: list[tuple[Row, tuple]] = []
    for row in rows:
        if any(k not in row.values for k in kind.key_columns) or _key_bad(row, kind):
            continue
        key = kind.key_of(row)
        if key in first_seen:
            ctx.reject(row, kind.key_columns[-1], _l("Same as row %(row)s", row=first_seen[key]))
            continue
        first_seen[key] = row.number
        keyed.append((row, key))
    stored = kind.stored(ctx, [key for _row, key in keyed])
    plan = Plan()
    needed_new = [c for c in kind.columns if c.needed and c.importable]
    for row, key in keyed:
        current = stored.get(key)
        kind.check(ctx, row, current)
        if current is None:
            for column in needed_new:
                if column.key not in ctx.titles:  # the file has no such column (an empty cell is reported already)
                    ctx.reject(row, column.key, _l("%(column)s is needed for a new record",
                                                   column=str(column.label)))
        if row.bad:
            continue
        if current is None:
            plan.create.append(row)
            continue
        changed = {k: v for k, v in row.values.items() if k in current and not same(current[k], v)}
        if changed:
            plan.update.append((row, current, changed))
        else:
            plan.unchanged += 1
    return plan


def _key_bad(row: Row, kind: Kind) -> bool:
    """A row whose key could not be read cannot be checked for duplicates (its cell is already reported)."""
    return row.bad and any(row.values.get(k) is None for k in kind.key_columns)
