"""Phone numbers: E.164 normalization and the candidate keys that make a CRM-typed number and a
WhatsApp id meet (DESIGN §5). Pure; results are cached per raw input.

WhatsApp ids are the customer's international number without the ``+``, but not always the
number libphonenumber considers canonical:

* Mexico: ids created before 2019 keep the mobile ``1`` (``521`` + 10 digits); libphonenumber
  calls those invalid. Canonical is ``+52`` + 10 digits; keys hold both forms.
* Brazil: mobiles gained a 9th digit; older ids lack it (``55`` + DDD + 8 digits). Canonical is
  the 9-digit form; keys hold both -- unless dropping the 9 would give a landline (an 8-digit
  subscriber number starting 2-5), which stays separate.
* Argentina: mobile ids carry a ``9`` after ``54``; CRMs store the number without it (or with the
  domestic ``15``). A ``549`` WhatsApp id also keys as ``54``; a ``54`` number without the 9 is a
  landline and never keys as ``549`` -- so the Argentine rule depends on where the number came from.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import phonenumbers

from processors.errors import InvalidEvent

_MIN_DIGITS = 7
_MAX_DIGITS = 15
_MX_WITH_1 = re.compile(r"^521(\d{10})$")
_MX = re.compile(r"^52(\d{10})$")
_BR_WITH_9 = re.compile(r"^55([1-9]\d)9([6-9]\d{7})$")
_BR_OLD_MOBILE = re.compile(r"^55([1-9]\d)([6-9]\d{7})$")
_AR_WITH_9 = re.compile(r"^549(\d{10})$")
_NON_DIGITS = re.compile(r"[^\d+]")


class Origin(StrEnum):
    WA_ID = "wa_id"  # a WhatsApp id: international digits as Meta sends them
    TYPED = "typed"  # anything a person typed: CRM fields, forms, imports


class InvalidPhone(InvalidEvent):
    def __init__(self, message: str) -> None:
        super().__init__("bad_phone", message)


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str  # canonical E.164, e.g. "+5541988887777"
    keys: tuple[str, ...]  # candidate match keys (E.164), canonical first
    region: str | None  # ISO 3166 region of the canonical form, None when unknown
    valid: bool  # libphonenumber's verdict on the canonical form
    rule: str | None = None  # the WhatsApp country rule that applied, if any

    def meets(self, other: Phone) -> bool:
        """Whether two numbers may belong to the same person (they share a candidate key)."""
        return not set(self.keys).isdisjoint(other.keys)

    @property
    def wa_digits(self) -> str:
        return self.e164[1:]


def _variants(digits: str, origin: Origin) -> tuple[str, tuple[str, ...], str | None]:
    """International digits -> (canonical digits, candidate key digits, rule name)."""
    if m := _MX_WITH_1.match(digits):
        return f"52{m[1]}", (f"52{m[1]}", digits), "mx_mobile_1"
    if m := _MX.match(digits):
        return digits, (digits, f"521{m[1]}"), "mx_mobile_1"
    if m := _BR_WITH_9.match(digits):
        return digits, (digits, f"55{m[1]}{m[2]}"), "br_ninth_digit"
    if m := _BR_OLD_MOBILE.match(digits):
        return f"55{m[1]}9{m[2]}", (f"55{m[1]}9{m[2]}", digits), "br_ninth_digit"
    if (m := _AR_WITH_9.match(digits)) and origin is Origin.WA_ID:
        return digits, (digits, f"54{m[1]}"), "ar_mobile_9"
    return digits, (digits,), None


def _phone(digits: str, origin: Origin) -> Phone:
    canonical, keys, rule = _variants(digits, origin)
    try:
        parsed = phonenumbers.parse("+" + canonical, None)
        valid = phonenumbers.is_valid_number(parsed)
        region = phonenumbers.region_code_for_number(parsed)
    except phonenumbers.NumberParseException:
        valid, region = False, None
    return Phone(e164="+" + canonical, keys=tuple("+" + k for k in keys),
                 region=region if region and region != "ZZ" else None, valid=valid, rule=rule)


@lru_cache(maxsize=65536)
def from_wa_id(wa_id: str | None) -> Phone | None:
    """A WhatsApp id as a Phone; None when it is not a digit string. Never raises: an id too short
    to classify (``"55"``) is kept as it is, marked invalid."""
    if not wa_id or not wa_id.isascii() or not wa_id.isdigit() or len(wa_id) > _MAX_DIGITS:
        return None
    return _phone(wa_id, Origin.WA_ID)


def wa_id_to_e164(wa_id: str | None) -> str | None:
    """The canonical E.164 form of a WhatsApp id. WhatsApp vouches for its ids, so a number
    libphonenumber does not know yet is kept; only ids too short to be a phone give None."""
    phone = from_wa_id(wa_id)
    return phone.e164 if phone is not None and len(phone.e164) > _MIN_DIGITS else None


@lru_cache(maxsize=65536)
def normalize_phone(text: str, default_region: str | None = None, origin: Origin = Origin.TYPED) -> Phone:
    """A typed number (any formatting, full-width digits, ``tel:``, ``00`` prefix) as a Phone.

    Raises ``InvalidPhone`` saying what is wrong when no reading gives a possible number."""
    cleaned = unicodedata.normalize("NFKC", text).strip().removeprefix("tel:")
    digits = _NON_DIGITS.sub("", cleaned).lstrip("+")
    if not digits:
        raise InvalidPhone("no digits in the phone number")
    region = default_region.upper() if default_region else None
    if region and region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidPhone(f"unknown region {region!r}: use an ISO 3166 code such as HK, TW, BR")
    if origin is Origin.WA_ID:
        return _phone(digits, origin)
    first_possible: Phone | None = None
    for candidate, hint, guess in _readings(cleaned, digits, region):
        try:
            parsed = phonenumbers.parse(candidate, hint)
        except phonenumbers.NumberParseException:
            continue
        phone = _phone(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:], origin)
        if phone.valid:
            return phone
        if not guess and first_possible is None and phonenumbers.is_possible_number(phonenumbers.parse(phone.e164)):
            first_possible = phone
    if first_possible is not None:
        return first_possible
    if region is None and not cleaned.startswith(("+", "00")):
        raise InvalidPhone("not an international number: start it with + and the country code, or give a region")
    raise InvalidPhone(f"not a possible phone number{f' for region {region}' if region else ''}")


def _readings(cleaned: str, digits: str, region: str | None) -> list[tuple[str, str | None, bool]]:
    """The ways to read a typed number, most likely first, as (text, region, is_a_guess). ``00``
    is read as the international prefix before the region's own rules, which would turn
    "00852 5123 4567" (HK) into +52. Digits without ``+`` read as international are a guess: the
    guess must give a valid number, not merely a possible one."""
    if cleaned.startswith("+"):
        return [("+" + digits, None, False)]
    readings: list[tuple[str, str | None, bool]] = []
    if digits.startswith("00"):
        readings.append(("+" + digits[2:], None, False))
    if region:
        readings.append((cleaned, region, False))
    readings.append(("+" + digits, None, True))
    return readings
