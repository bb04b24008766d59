import pytest
from hypothesis import given
from hypothesis import strategies as st

from processors.phones import InvalidPhone, Origin, from_wa_id, normalize_phone, wa_id_to_e164


@pytest.mark.parametrize(("typed", "region", "e164"), [
    ("+852 5123 4567", None, "+85251234567"),
    ("5123 4567", "HK", "+85251234567"),
    ("＋８５２ ５１２３ ４５６７", None, "+85251234567"),  # full-width
    ("tel:+852-2123-4567", None, "+85221234567"),
    ("00852 5123 4567", "HK", "+85251234567"),  # libphonenumber alone reads +52 (Mexico)
    ("0912-345-678", "TW", "+886912345678"),
    ("+886 0912 345 678", None, "+886912345678"),  # trunk 0 kept after the country code
    ("131 2345 6789", "CN", "+8613123456789"),
    ("090-1234-5678", "JP", "+819012345678"),
    ("081234 56789", "IN", "+918123456789"),
    ("(11) 96123-4567", "BR", "+5511961234567"),
    ("011 15 5874-9895", "AR", "+5491158749895"),  # domestic 15 mobile token
    ("554188887777", None, "+5541988887777"),  # a wa_id pasted into a CRM field
])
def test_typed_numbers_normalize_to_e164(typed, region, e164):
    assert normalize_phone(typed, region).e164 == e164


@pytest.mark.parametrize(("typed", "region", "says"), [
    ("", "HK", "no digits"),
    ("call me", None, "no digits"),
    ("5123 4567", None, "start it with \\+ and the country code"),
    ("12", "HK", "not a possible phone number for region HK"),
    ("5123 4567", "XX", "unknown region 'XX'"),
])
def test_unusable_numbers_say_what_is_wrong(typed, region, says):
    with pytest.raises(InvalidPhone, match=says) as info:
        normalize_phone(typed, region)
    assert info.value.reason == "bad_phone"


def test_mexico_wa_id_with_mobile_1_normalizes_and_keys_both_forms():
    phone = from_wa_id("5215512345678")
    assert phone.e164 == "+525512345678" and phone.valid and phone.rule == "mx_mobile_1"
    assert phone.keys == ("+525512345678", "+5215512345678")
    assert phone.meets(normalize_phone("+52 55 1234 5678"))


def test_brazil_ninth_digit_meets_both_ways_but_not_a_landline():
    old_id, new_id = from_wa_id("554188887777"), from_wa_id("5541988887777")
    assert old_id.e164 == new_id.e164 == "+5541988887777"  # prefer the 13-digit form
    assert old_id.meets(normalize_phone("+55 41 98888-7777"))
    assert new_id.meets(normalize_phone("+554188887777"))
    landline = normalize_phone("+554132345678")
    assert not from_wa_id("5541932345678").meets(landline)


def test_argentina_549_wa_id_meets_crm_number_without_9_but_not_the_reverse():
    assert from_wa_id("5491112345678").meets(normalize_phone("541112345678", "AR"))
    assert not from_wa_id("541112345678").meets(normalize_phone("5491112345678", "AR"))
    assert normalize_phone("5491112345678", "AR", Origin.WA_ID).keys == from_wa_id("5491112345678").keys


def test_partial_ids_are_kept_not_raised():
    assert from_wa_id("55").keys == ("+55",) and not from_wa_id("55").valid
    assert wa_id_to_e164("55") is None
    assert from_wa_id("<USER_PHONE_NUMBER>") is None
    assert from_wa_id(None) is None


@given(st.text(max_size=40), st.sampled_from([None, "HK", "BR", "MX", "AR", "JP"]))
def test_any_text_either_normalizes_or_raises_invalid_phone(text, region):
    try:
        phone = normalize_phone(text, region)
    except InvalidPhone:
        return
    assert phone.e164.startswith("+") and phone.e164[1:].isdigit() and phone.keys[0] == phone.e164


@given(st.text(alphabet="0123456789", min_size=1, max_size=15))
def test_any_digit_string_is_a_wa_id_that_never_raises(digits):
    phone = from_wa_id(digits)
    assert phone is not None and phone.e164 in phone.keys
