"""A sheet's columns and how a file's header row is matched to them.

Headers are matched in either language whatever the reader's language — a file exported in English imports
for a Chinese-speaking clerk — and by a few fixed spellings people use (手机/手机号/phone), so a translation
edited later does not break files already out there."""
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from flask_babel import force_locale


@dataclass(frozen=True)
class Column:
    key: str                      # the field it fills, also accepted as a header
    label: Any                    # lazy label: the header an export writes, in the reader's language
    parse: Callable | None = None  # cell → stored value (raises cells.Invalid); None: export only, ignored on import
    required: bool = False        # the natural key: the file must have the column and every row a value
    needed: bool = False          # stored NOT NULL without a default (a name): an empty cell is wrong, and a
    #                               new row needs the column
    keeps: bool = False           # an empty cell keeps the stored value (fields that always have one)
    aliases: tuple[str, ...] = ()
    hint: Any = None              # what to write, for the template's instructions
    width: int = 16               # column width in the exported sheet
    number_format: str | None = None

    @property
    def importable(self) -> bool:
        return self.parse is not None


def _spelling(text) -> str:
    """Headers compare without case, spaces, a required-marker star or a 「（必填）」 note."""
    text = re.sub(r"[（(](必填|required|optional|选填)[)）]", "", str(text or ""), flags=re.I)
    return re.sub(r"[\s*＊:：]+", "", text).casefold()


def header_spellings(column: Column) -> tuple[set[str], set[str]]:
    """(its own names: the key and the label in both languages, other spellings people use)."""
    names = {_spelling(column.key)}
    for lang in ("zh", "en"):
        with force_locale(lang):
            names.add(_spelling(column.label))
    return names, {_spelling(a) for a in column.aliases}


@dataclass
class HeaderMatch:
    row_number: int                              # where the header row is in the sheet (Excel's numbering)
    columns: dict[int, Column] = field(default_factory=dict)   # cell position → column
    titles: dict[str, str] = field(default_factory=dict)       # column key → header as the file writes it
    ignored: list[str] = field(default_factory=list)           # headers that name nothing we import
    repeated: list[str] = field(default_factory=list)          # a column named twice


def match_header(columns: tuple[Column, ...], cells, row_number: int) -> HeaderMatch:
    spellings = {}
    named = [(column, *header_spellings(column)) for column in columns]
    for column, own, _aliases in named:
        for name in own:
            spellings.setdefault(name, column)
    for column, _own, aliases in named:  # a column's own label wins over another's alias (仓库 is the name)
        for name in aliases:
            spellings.setdefault(name, column)
    found = HeaderMatch(row_number)
    for position, cell in enumerate(cells):
        title = str(cell).strip() if cell is not None else ""
        if not title:
            continue
        column = spellings.get(_spelling(title))
        if column is None:
            found.ignored.append(title)
        elif column.key in found.titles:
            found.repeated.append(title)
        else:
            found.columns[position] = column
            found.titles[column.key] = title
    return found
