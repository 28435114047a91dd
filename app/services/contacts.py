"""Phone numbers and e-mail addresses in one canonical form, so that a caller is recognised whether
they write +86 138-0013-8000, 0086 13800138000 or 138 0013 8000 (Google's libphonenumber rules)."""
import re
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

_DIGITS = re.compile(r"\D+")


@lru_cache(maxsize=4096)  # parsing is slow (~0.2 ms) and one report normalises its number several times
def normalize_phone(raw: str | None, region: str = "CN") -> str | None:
    """Chinese numbers as national digits (13800138000, 01062345678), foreign ones as E.164
    (+16502530000). None when it is not a phone number at all."""
    if not raw or not str(raw).strip():
        return None
    text = str(raw).strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    if number.country_code == 86:
        national = _DIGITS.sub("", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
        return national
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=4096)
def normalize_email(raw: str | None) -> str | None:
    """Lower-cased address, or None when it is not an address."""
    if not raw or not str(raw).strip():
        return None
    try:
        result = validate_email(str(raw).strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def tidy_contacts(customer) -> None:
    """Store a customer's phone and e-mail canonically, so that intake recognises them; a value that is
    not a phone number or an address is kept as typed rather than lost."""
    customer.phone = normalize_phone(customer.phone) or (customer.phone or None)
    customer.email = normalize_email(customer.email) or (customer.email or None)


def tidy_contact(contact) -> None:
    if contact.kind == "phone":
        contact.value = normalize_phone(contact.value) or contact.value
    elif contact.kind == "email":
        contact.value = normalize_email(contact.value) or contact.value
