"""The erasure list (processors/erasure.py): subjects by hash of every E.164 form, a cut-off time."""

from processors.erasure import ErasureList, subject_hash, subject_hashes, subject_keys, text_pattern
from processors.phones import normalize_phone

T = 1_790_000_000_000


def test_every_form_of_a_mexican_or_argentine_mobile_is_a_subject_key():
    assert subject_keys(normalize_phone("+52 55 1234 5678")) == ["+5215512345678", "+525512345678"]
    assert "+5491123456789" in subject_keys(normalize_phone("+54 9 11 2345-6789"))
    assert "+541123456789" in subject_keys(normalize_phone("+54 9 11 2345-6789"))


def test_the_list_blocks_the_subject_up_to_the_cut_off_and_no_one_else():
    erased = ErasureList()
    assert not erased.blocks_wa_id("5215512345678", T)  # empty: nothing blocked
    erased.add("e1", subject_hashes(normalize_phone("+52 55 1234 5678")), T)
    assert erased.blocks_wa_id("5215512345678", T) and erased.blocks_wa_id("525512345678", T - 1)
    assert erased.blocks_contact_key("1234567890:5215512345678", T)
    assert not erased.blocks_contact_key("1234567890:5215512345678", T + 1)  # writes again: a new relationship
    assert not erased.blocks_wa_id("85291234567", T)
    assert erased.blocks_keys(["+525512345678"], T) and not erased.blocks_keys(["+85291234567"], T)
    assert erased.names("1234567890:525512345678") and not erased.names("1234567890:85291234567")
    assert "+52" not in repr(erased.before)  # only hashes are kept
    erased.add("e2", [subject_hash("+525512345678")], T + 100)  # erased again later: the later cut-off wins
    assert erased.blocks_wa_id("525512345678", T + 100) and erased.ids == {"e1", "e2"}


def test_the_text_pattern_finds_the_number_however_it_is_written_and_only_it():
    import re

    pattern = re.compile(text_pattern(subject_keys(normalize_phone("+55 41 98888-7777"))))
    for written in ('{"wa_id":"5541988887777"}', '"phone": "+55 (41) 98888-7777"', "tel 041 98888 7777",
                    '{"from":"554188887777"}', "(41) 8888-7777", "0055 41 988887777"):
        assert pattern.search(written), written
    for other in ('"wa_id":"55419888877771"', "15541988887777", "+55 41 98888-7778", '"wa_id":"85291234567"'):
        assert not pattern.search(other), other
    hk = re.compile(text_pattern(subject_keys(normalize_phone("9123 4567", "HK"))))
    assert hk.search('{"phone":"9123-4567"}') and hk.search("+852 9123 4567") and not hk.search("19123 4567")
