"""Identity resolution (processors/identity.py): phone candidates merge, a similar name needs an
email or a SKU bought within 90 days, merges are logged with evidence and can be undone; the
result is independent of observation order and of repeats."""

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.identity import DAY_MS, Observation, Resolver, name_similarity
from processors.phones import from_wa_id, normalize_phone

T = 1_790_000_000_000


def wa(wa_id: str, name: str, ts: int = T) -> Observation:
    phone = from_wa_id(wa_id)
    return Observation(f"wa:pn:{wa_id}", "whatsapp", ts, phone_keys=phone.keys, phone_e164=phone.e164, name=name,
                       contact_key=f"pn:{wa_id}")


def crm(cid: str, ts: int = T, phone: str | None = None, email: str | None = None, name: str | None = None,
        skus: tuple[tuple[str, int], ...] = ()) -> Observation:
    keys = normalize_phone(phone, "HK").keys if phone else ()
    return Observation(f"crm:hubspot:{cid}", "hubspot", ts, phone_keys=keys, email=email, name=name, purchases=skus)


def groups(r: Resolver) -> set[frozenset[str]]:
    return {frozenset(v) for k, v in r.store.items() if k.startswith("c/")}


def test_the_same_phone_candidate_is_the_same_contact_across_country_variants():
    r = Resolver({})
    r.observe(wa("554188887777", "Ana Souza"))  # WhatsApp id without the 9th digit
    change = r.observe(crm("101", T + 1, phone="+55 41 98888-7777", name="Ana Souza"))
    (merge,) = change.merges
    assert merge.evidence.kind == "phone" and merge.evidence.confidence == 1.0
    assert "98888" not in merge.evidence.detail  # the phone is masked in the evidence
    assert r.contact_of("wa:pn:554188887777") == r.contact_of("crm:hubspot:101")
    profile = next(p for p in change.profiles if p.merged_into is None)
    assert profile.contact_keys == ("pn:554188887777",)


def test_a_similar_name_alone_never_merges():
    r = Resolver({})
    r.observe(crm("1", name="陳大文", email="a@example.com"))
    r.observe(crm("2", name="陳大文", email="b@example.com"))
    assert len(groups(r)) == 2


def test_similar_names_with_the_same_email_merge_cjk_traditional_and_simplified():
    assert name_similarity("陳 大文", "陈大文") == 100
    r = Resolver({})
    r.observe(crm("1", name="陳大文", email="TAIMAN@example.com"))
    change = r.observe(crm("2", T + 5, name="陈大文", email="taiman@example.com "))
    (merge,) = change.merges
    assert merge.evidence.kind == "name+email" and 0.9 < merge.evidence.confidence <= 1.0


def test_same_sku_within_90_days_corroborates_a_similar_name_but_not_after():
    r = Resolver({})
    r.observe(crm("1", name="María José García", skus=(("SKU-9", T),)))
    r.observe(crm("2", name="Maria Jose Garcia", skus=(("SKU-9", T + 91 * DAY_MS),)))
    assert len(groups(r)) == 2
    change = r.observe(crm("3", name="Garcia, Maria Jose", skus=(("SKU-9", T + 30 * DAY_MS),)))
    assert {m.evidence.kind for m in change.merges} == {"name+sku"}
    assert len(groups(r)) == 1  # 3 links to both 1 (30 days) and 2 (61 days)


def test_name_conflict_last_write_wins_by_event_time_and_is_recorded():
    r = Resolver({})
    r.observe(wa("85291234567", "Tai Man", ts=T + 10))
    change = r.observe(crm("7", T + 5, phone="9123 4567", name="陳大文"))
    (conflict,) = change.conflicts
    assert conflict.chosen == "Tai Man" and {v[0] for v in conflict.values} == {"Tai Man", "陳大文"}
    later = r.observe(crm("7", T + 20, name="陳大文 Chan"))
    assert next(p for p in later.profiles if p.merged_into is None).name == "陳大文 Chan"


def test_names_differing_only_in_word_order_or_script_are_not_a_conflict():
    r = Resolver({})
    r.observe(wa("85291234567", "Lee, Mary"))
    assert r.observe(crm("8", T + 1, phone="9123 4567", name="MARY LEE")).conflicts == ()
    r.observe(wa("85291230000", "陳 大文"))
    assert r.observe(crm("9", T + 1, phone="9123 0000", name="陈大文")).conflicts == ()


def test_unmerge_restores_the_previous_grouping_and_history_stays_reachable():
    r = Resolver({})
    r.observe(wa("85291234567", "陳大文"))
    r.observe(crm("9", T + 1, name="陳大文", email="dm@example.com"))
    before = groups(r)
    change = r.observe(Observation("wa:pn:85291234567", "whatsapp", T + 2, email="dm@example.com"))
    (merge,) = change.merges
    merged_id = merge.into
    assert len(groups(r)) == 1 and r.members(merged_id) == ("crm:hubspot:9", "wa:pn:85291234567")
    undone = r.unmerge(merge.merge_id, T + 3)
    assert groups(r) == before
    assert [s.merge_id for s in undone.splits] == [merge.merge_id] and r.merge_log(merge.merge_id).undone
    assert r.observe(Observation("wa:pn:85291234567", "whatsapp", T + 4, email="dm@example.com")).merges == ()


people = [wa("85291234567", "陳大文"), crm("1", phone="9123 4567", name="Chan Tai Man"),
          crm("2", email="tm@example.com", name="陈大文"), wa("85298765432", "陳大文"),
          crm("3", email="tm@example.com", name="Tai Man Chan", skus=(("S1", T),)),
          crm("4", name="Mary Lee", skus=(("S1", T + DAY_MS),)), wa("5215512345678", "Mary Lee"),
          crm("5", phone="+52 55 1234 5678", name="Mary Lee", skus=(("S1", T + 2 * DAY_MS),)),
          Observation("wa:pn:85298765432", "whatsapp", T + 3, email="tm@example.com"),
          Observation("crm:hubspot:2", "hubspot", T + 9, name="陳大文 (VIP)")]


@settings(max_examples=150, deadline=None)
@given(st.permutations(people), st.lists(st.sampled_from(people), max_size=5))
def test_resolution_is_order_insensitive_and_idempotent(order, repeats):
    reference = Resolver({})
    for obs in people:
        reference.observe(obs)
    shuffled = Resolver({})
    for obs in [*order, *repeats]:
        shuffled.observe(obs)
    assert groups(shuffled) == groups(reference)
    for rid in {o.record_id for o in people}:
        assert shuffled.contact_of(rid) == reference.contact_of(rid)
        assert shuffled.record(rid) == reference.record(rid)


def test_forget_erases_the_whole_contact_and_nothing_else():
    r = Resolver({})
    r.observe(wa("554188887777", "Ana Souza"))
    r.observe(crm("101", T + 1, phone="+55 41 98888-7777", name="Ana Souza", email="ana@example.com"))
    r.observe(crm("102", T + 2, name="Ana Souza", email="ana@example.com"))  # joins by name + email
    r.observe(wa("85291234567", "Chan Tai Man"))
    erased = r.contact_of("wa:pn:554188887777")
    kept = r.contact_of("wa:pn:85291234567")
    merge_ids = [k[2:] for k in r.store if k.startswith("m/")]
    unmerged = r.unmerge(merge_ids[0], T + 3)  # a split side's forbidden links name erased records too
    assert unmerged.splits

    forgotten = r.forget(normalize_phone("+55 41 98888-7777").keys)

    assert erased in forgotten.contact_ids and kept not in forgotten.contact_ids
    assert "wa:pn:554188887777" in forgotten.records and "crm:hubspot:101" in forgotten.records
    left = [k for k in r.store if "554188887777" in k or "5541988887777" in k or "hubspot:101" in k]
    assert left == []
    assert not any("554188887777" in str(v) or "hubspot:101" in str(v) for v in r.store.values())
    assert r.contact_of("wa:pn:85291234567") == kept
    assert r.forget(normalize_phone("+55 41 98888-7777").keys) == type(forgotten)()  # twice: nothing left
    again = r.observe(crm("101", T + 9, phone="+55 41 98888-7777", name="Ana Souza"))  # a new relationship
    assert [p.records for p in again.profiles] == [("crm:hubspot:101",)]
