"""What every kind of sheet shares: rows as read, the per-row error, the upsert plan, the result."""
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.services.spreadsheets.columns import Column

AMBIGUOUS = -1  # a lookup's answer when more than one row answers to the name

CHUNK = 500  # keys per IN (…) look-up and rows per bulk statement: well under every database's parameter limit


@dataclass
class Row:
    number: int                  # as Excel shows it
    values: dict[str, Any]       # parsed cells by column key; references become ids when resolved
    bad: bool = False            # a cell of this row is wrong: it takes no further part

    def get(self, key, default=None):
        return self.values.get(key, default)


@dataclass
class RowError:
    row: int           # 0: the whole file
    column: str        # the header as the file writes it ('' when the whole row is meant)
    reason: Any        # lazy: renders in the language of whoever reads it

    def sentence(self) -> str:
        if not self.row:  # about the file as a whole
            return str(self.reason)
        if self.column:
            return _("Row %(row)s, %(column)s: %(reason)s", row=self.row, column=self.column, reason=self.reason)
        return _("Row %(row)s: %(reason)s", row=self.row, reason=self.reason)


@dataclass
class ImportResult:
    kind: str
    filename: str = ""
    dry_run: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Plan:
    """What writing will do: new rows, (row, stored, changed fields) for changed ones, and a count of the rest."""
    create: list[Row] = field(default_factory=list)
    update: list[tuple[Row, dict, dict]] = field(default_factory=list)
    unchanged: int = 0


@dataclass
class Context:
    """What a kind needs while checking and writing: the session, the time, who, and how to report a cell."""
    session: Session
    now: datetime
    actor: Any
    filename: str
    titles: dict[str, str]           # column key → header in the file
    errors: list[RowError]

    def reject(self, row: Row, key: str, reason) -> None:
        row.bad = True
        self.errors.append(RowError(row.number, self.titles.get(key, ""), reason))

    def refer(self, row: Row, key: str, found, *, missing, ambiguous) -> None:
        """Replace the row's written reference (a model, a phone, a code) by the id a lookup `found` for it;
        no row (None) or several (AMBIGUOUS) reject the row, naming the column and why."""
        if found is None:
            self.reject(row, key, missing)
        elif found == AMBIGUOUS:
            self.reject(row, key, ambiguous)
        row.values[key] = found if found and found > 0 else None


def same(stored, new) -> bool:
    """Stored and imported values compare equal when a person would say so: '' is no value, and
    coordinates equal to the last float bit."""
    if stored in (None, "") and new in (None, ""):
        return True
    if isinstance(stored, float) or isinstance(new, float):
        try:
            return math.isclose(float(stored), float(new), rel_tol=0, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return stored == new


def chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Kind:
    """One importable, exportable table. Subclasses name the columns and do the look-ups and writes."""

    name: str = ""
    title: Any = ""
    columns: tuple[Column, ...] = ()
    key_columns: tuple[str, ...] = ()

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def key_label(self) -> str:
        """What rows are matched by, in the reader's language: 「手机号」, 「仓库编码 + 备件编码」."""
        return " + ".join(str(self.column(k).label) for k in self.key_columns)

    # ---- checking (nothing is written here)
    def resolve(self, ctx: Context, rows: list[Row]) -> None:
        """Turn references (a phone, a model, a warehouse code) into ids, reporting those not found."""

    def key_of(self, row: Row) -> tuple:
        return tuple(row.values[k] for k in self.key_columns)

    def stored(self, ctx: Context, keys: list[tuple]) -> dict[tuple, dict]:
        """The stored values of rows already there, by natural key, under the column keys (and 'id')."""
        raise NotImplementedError

    def check(self, ctx: Context, row: Row, stored: dict | None) -> None:
        """Rules that need the stored row (stock on hand not below what is reserved)."""

    # ---- writing
    def write(self, ctx: Context, plan: Plan) -> Iterator[int]:
        """Create and update; yields how many rows are done so far."""
        raise NotImplementedError

    # ---- exporting
    def export_rows(self, session: Session, only=None) -> Iterator[dict]:
        """Every row (or those whose id is in the `only` select), values by column key as a sheet shows them."""
        raise NotImplementedError

    def count(self, session: Session, only=None) -> int:
        raise NotImplementedError
