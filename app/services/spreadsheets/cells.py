"""Reading one spreadsheet cell into a stored value. Excel hands over whatever the person typed, in
whichever type Excel guessed: a phone number may arrive as the integer 13800138000 or the float 1.38e10, a
date as a datetime, a string 「2026/5/1」 or a day serial. Each parser accepts those forms, returns the value
as stored, or raises Invalid with the reason in the reader's language."""
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from app.services.contacts import normalize_email, normalize_phone


class Invalid(ValueError):
    """The cell cannot be stored; `reason` is a lazy string, rendered when someone reads it."""

    def __init__(self, reason):
        super().__init__(str(reason))
        self.reason = reason


def is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_text(value) -> str:
    """The text a person sees in the cell: 13800138000 rather than 13800138000.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value).strip()


def text(max_length: int | None):
    def parse(value):
        result = as_text(value)
        if max_length and len(result) > max_length:
            raise Invalid(_l("Longer than %(max)s characters", max=max_length))
        return result
    return parse


# Mainland mobile numbers as most cells hold them (17 9… excepted: phonenumbers reads carrier prefixes there).
_MAINLAND_MOBILE = re.compile(r"1(?:[3-689]\d|7[0-8])\d{8}")


def phone(value) -> str:
    text = as_text(value)
    if _MAINLAND_MOBILE.fullmatch(text):
        return text  # already the canonical form normalize_phone gives; parsing it costs 0.1 ms a row
    result = normalize_phone(text)
    if result is None:
        raise Invalid(_l("Not a valid phone number"))
    return result


def email(value) -> str:
    result = normalize_email(as_text(value))
    if result is None:
        raise Invalid(_l("Not a valid e-mail address"))
    return result


def _words(word: str) -> str:
    """How a choice is compared: case, spaces and full-width forms do not matter."""
    return re.sub(r"\s+", "", word).casefold()


def choice(labels: dict, extra: dict | None = None):
    """One of the codes in `labels` ({code: lazy label}), typed as the code or as its label in either
    language (「VIP客户」, 「VIP」, 「vip」 all mean vip). `extra` adds spellings people use ({"普通": "normal"})."""
    spellings: dict[str, str] = {}  # filled on first use: the labels need the app's catalogues

    def parse(value):
        if not spellings:
            from flask_babel import force_locale

            spellings.update({_words(code): code for code in labels})
            for lang in ("zh", "en"):
                with force_locale(lang):
                    spellings.update({_words(str(label)): code for code, label in labels.items()})
            spellings.update({_words(k): v for k, v in (extra or {}).items()})
        wanted = _words(as_text(value))
        if wanted not in spellings:
            names = "、".join(str(label) for label in labels.values())
            raise Invalid(_l("Not one of: %(choices)s", choices=names))
        return spellings[wanted]
    return parse


class Listed:
    """The labels of a choice, joined when shown (so in the reader's language): 「VIP客户、普通客户」."""

    def __init__(self, labels: dict):
        self.labels = labels

    def __str__(self) -> str:
        return "、".join(str(label) for label in self.labels.values())


def one_of(labels: dict):
    """The hint for a choice column."""
    return _l("One of: %(choices)s", choices=Listed(labels))


YES_NO_HINT = _l("Write 是 or 否 (yes or no)")

_YES = {"是", "y", "yes", "true", "1", "√", "✓", "on"}
_NO = {"否", "n", "no", "false", "0", "×", "✗", "off"}


def yes_no(value) -> bool:
    if isinstance(value, bool):
        return value
    word = _words(as_text(value))
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise Invalid(YES_NO_HINT)


def whole_number(minimum: int = 0, maximum: int = 2_000_000_000):
    def parse(value):
        if isinstance(value, bool):
            raise Invalid(_l("Not a whole number"))
        if isinstance(value, (int, float)) and float(value).is_integer():
            number = int(value)
        else:
            try:
                number = int(as_text(value).replace(",", ""))
            except ValueError:
                raise Invalid(_l("Not a whole number")) from None
        if number < minimum:
            raise Invalid(_l("Must be at least %(min)s", min=minimum))
        if number > maximum:
            raise Invalid(_l("Must be at most %(max)s", max=maximum))
        return number
    return parse


def money(value) -> Decimal:
    """A price in yuan, up to 2 decimals, as the Numeric(10, 2) column holds it."""
    try:
        amount = Decimal(as_text(value).replace(",", "").lstrip("¥￥"))
    except InvalidOperation:
        raise Invalid(_l("Not an amount of money")) from None
    if not amount.is_finite() or amount < 0:
        raise Invalid(_l("Must be zero or more"))
    if amount != amount.quantize(Decimal("0.01")):
        raise Invalid(_l("At most 2 decimal places"))
    if amount >= Decimal("100000000"):
        raise Invalid(_l("Must be less than 100,000,000"))
    return amount.quantize(Decimal("0.01"))


def coordinate(limit: float):
    """Latitude (±90) or longitude (±180) in degrees."""
    def parse(value):
        try:
            number = float(value) if isinstance(value, (int, float)) else float(as_text(value))
        except ValueError:
            raise Invalid(_l("Not a number")) from None
        if not -limit <= number <= limit:
            raise Invalid(_l("Must be between -%(limit)s and %(limit)s", limit=int(limit)))
        return number
    return parse


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_EXCEL_EPOCH = date(1899, 12, 30)


def day(value) -> date:
    """2026-05-01, 2026/5/1, 2026年5月1日, a date cell, or the day number Excel shows when a date cell lost
    its format (45778)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value < 2_958_466:
        return _EXCEL_EPOCH + timedelta(days=int(value))
    match = _DATE.match(as_text(value))
    if match:
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            pass
    raise Invalid(_l("Not a date (write it as 2026-05-01)"))
