"""Every wa_id-versus-CRM vector in ../shared/data/phones behaves as its ``expected`` says.

Each vector is prose written by others; the checks below turn each into assertions and name the
vector they cover, and the last test fails when the file gains a vector nobody checks."""

from __future__ import annotations

import json

import pytest

from processors.contact_key import contact_key
from processors.phones import from_wa_id, normalize_phone

VECTORS = "phones/whatsapp_wa_id_vs_crm_vectors.json"


def meets(wa_id: str, typed: str, region: str | None = None) -> bool:
    return from_wa_id(wa_id).meets(normalize_phone(typed, region))


def plain_mobile(region, *typed_and_wa):
    *typed, wa_id = typed_and_wa
    for text in typed:
        assert normalize_phone(text, region).wa_digits == wa_id, text
        assert meets(wa_id, text, region)


CHECKS = {
    # index: (country, kind, check)
    0: ("BR", "ninth_digit", lambda: meets("554188887777", "+5541988887777")),
    1: ("BR", "ninth_digit", lambda: meets("5541988887777", "+554188887777")),
    2: ("BR", "ninth_digit_both_exist", lambda: (
        from_wa_id("554188887777").e164 == "+5541988887777"
        and normalize_phone("554188887777").e164 == normalize_phone("5541988887777").e164 == "+5541988887777")),
    3: ("BR", "landline_guard", lambda: not meets("5541932345678", "+554132345678")),
    4: ("BR", "ninth_digit", lambda: meets("552187654321", "+55 (21) 98765-4321")),
    5: ("BR", "ninth_digit_rule", lambda: meets("559281723241", "+55 92 98172 3241")),
    # the "44 66 ..." placeholders read as a DDD-44 mobile with and without the extra 9
    6: ("BR", "ninth_digit", lambda: meets("554499999999", "+55 44 99999-9999")),
    7: ("BR", "normalizer_behaviour", lambda: from_wa_id("554188887777").e164 == "+5541988887777"),
    8: ("BR", "partial_number", lambda: from_wa_id("55").keys == ("+55",)),
    9: ("MX", "mobile_1", lambda: meets("5215512345678", "+52 55 1234 5678") and meets("5215512345678",
                                                                                     "525512345678", "MX")),
    10: ("MX", "mobile_1", lambda: meets("525512345678", "5215512345678", "MX")),
    11: ("MX", "normalizer", lambda: normalize_phone("5215512345678", "MX").e164 == "+525512345678"),
    12: ("MX", "normalizer_guard", lambda: from_wa_id("521512345678").e164 == "+521512345678"),
    13: ("MX", "normalizer_guard", lambda: from_wa_id("5511999998888").e164 == "+5511999998888"),
    14: ("MX", "mobile_1", lambda: meets("5215639691841", "+52 56 3969 1841")),
    15: ("MX", "crm_typing_habits", lambda: all(
        meets("5210123456789", typed, "MX") for typed in ("0123456789", "52 0123456789", "52 1 0123456789"))),
    # a landline (libphonenumber's MX example 2001234567) stays 52 + 10 digits: the 1 is only a key
    16: ("MX", "landline", lambda: normalize_phone("+52 200 123 4567").e164 == "+522001234567"),
    17: ("MX", "background", lambda: from_wa_id("5215512345678").valid),  # libphonenumber alone says invalid
    18: ("AR", "mobile_9", lambda: meets("5491112345678", "541112345678", "AR")),
    19: ("AR", "landline_guard", lambda: not meets("541112345678", "5491112345678", "AR")),
    20: ("AR", "partial_number", lambda: from_wa_id("549").keys == ("+549",)),
    21: ("AR", "mobile_9", lambda: meets("5491158749895", "+54 11 5874 9895")),
    22: ("AR", "allow_list", lambda: "+541158749895" in from_wa_id("5491158749895").keys),
    23: ("HK", "plain_mobile", lambda: plain_mobile("HK", "+852 5123 4567", "5123 4567", "85251234567")),
    24: ("TW", "plain_mobile", lambda: plain_mobile("TW", "0912-345-678", "+886 912 345 678", "886912345678")),
    25: ("CN", "plain_mobile", lambda: plain_mobile("CN", "131 2345 6789", "+86 131-2345-6789", "8613123456789")),
    26: ("JP", "plain_mobile", lambda: plain_mobile("JP", "090-1234-5678", "+81 90-1234-5678", "819012345678")),
    27: ("IN", "plain_mobile", lambda: plain_mobile("IN", "081234 56789", "+91 81234 56789", "918123456789")),
    28: ("BR", "plain_mobile", lambda: plain_mobile("BR", "(11) 96123-4567", "+55 11 96123-4567",
                                                    "5511961234567")),
    # a delivery caveat, not a normalization rule: +91 ids normalize unchanged
    29: ("IN", "delivery_caveat", lambda: from_wa_id("918123456789").e164 == "+918123456789"),
    30: ("ANY", "bsuid_no_phone", lambda: contact_key("PNID", None, "US.13491208655302741918")
         == "PNID:US.13491208655302741918" and from_wa_id(None) is None),
}


@pytest.fixture(scope="module")
def vectors(shared_data):
    return json.loads((shared_data / VECTORS).read_text())["vectors"]


@pytest.mark.parametrize("index", sorted(CHECKS))
def test_vector_behaves_as_expected(vectors, index):
    country, kind, check = CHECKS[index]
    vector = vectors[index]
    assert (vector["country"], vector["kind"]) == (country, kind), "the vector file changed: re-read it"
    result = check()
    assert result is None or result is True, f"vector {index}: {vector['expected']}"


def test_every_vector_is_checked(vectors):
    assert len(vectors) == len(CHECKS)
