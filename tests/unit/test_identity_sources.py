"""What identity resolution observes from each source, its wire records, and the buffered JSON
store the worker gives the resolver (checked against a plain dict, the store the property tests
use)."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.crm import parse_crm
from processors.identity import Resolver
from processors.identity_sources import from_crm, from_whatsapp
from streams.catalog import load_catalog
from streams.codec import SingleObjectFraming
from streams.identity_records import observation_from_record, observation_record
from streams.json_store import Overlay, TableStore
from tests.unit.test_identity import people

T = 1_795_136_000_000


def crm(source, doc):
    (change,) = parse_crm(source, json.dumps(doc, ensure_ascii=False).encode(), received_at_ms=T,
                          envelope_sha256="h", default_region="HK")
    return change


def test_a_whatsapp_number_is_observed_with_its_candidate_keys_and_contact_key():
    seen = from_whatsapp("PN:5215512345678", "5215512345678", "María", T)
    assert seen.record_id == "wa:PN:5215512345678" and seen.contact_key == "PN:5215512345678"
    assert set(seen.phone_keys) == {"+525512345678", "+5215512345678"} and seen.name == "María"
    assert from_whatsapp("PN:u-1", None, None, T).phone_keys == ()  # a username-only contact: no number


def test_a_crm_contact_is_observed_with_phone_email_and_a_full_name_only():
    full = from_crm(crm("cdc", {"event_id": "e1", "source": "erp", "entity": "contact", "op": "upsert", "id": "C-2",
                                "occurred_at": T, "data": {"phone": "0912-345-678", "region": "TW",
                                                           "email": "Mei@Example.com", "name": "林美"}}))
    assert full is not None and full.record_id == "crm:erp:C-2" and full.ts_ms == T
    assert (full.phone_e164, full.email, full.name) == ("+886912345678", "mei@example.com", "林美")
    first_only = crm("hubspot", [{"eventId": 9, "subscriptionType": "contact.propertyChange", "objectId": 5,
                                  "propertyName": "firstname", "propertyValue": "Mei", "occurredAt": T}])
    assert from_crm(first_only) is None  # half a name would raise a false conflict


def test_an_order_is_a_purchase_on_its_crm_contact_and_other_changes_are_not_observed():
    order = from_crm(crm("cdc", {"event_id": "o1", "source": "shopify", "entity": "order", "op": "create",
                                 "id": "O-1", "occurred_at": T,
                                 "data": {"contact_id": "C-1",
                                          "items": [{"sku": "JKT"}, {"sku": "SCF"}, {"sku": "JKT"}]}}))
    assert order is not None and order.record_id == "crm:shopify:C-1"
    assert order.purchases == (("JKT", T), ("SCF", T))
    deleted = crm("hubspot", [{"eventId": 4, "subscriptionType": "contact.deletion", "objectId": 9, "occurredAt": T}])
    stage = crm("hubspot", [{"eventId": 3, "subscriptionType": "deal.propertyChange", "objectId": 70,
                             "propertyName": "dealstage", "propertyValue": "closedwon", "occurredAt": T}])
    assert from_crm(deleted) is None and from_crm(stage) is None


def test_observation_records_round_trip_through_the_codec():
    framing = SingleObjectFraming(load_catalog())
    for obs in people:
        data = framing.encode("IdentityObservation", "s", observation_record(obs))
        assert observation_from_record(framing.decode("IdentityObservation", "s", data)) == obs


@settings(max_examples=40, deadline=None)
@given(st.permutations(people))
def test_the_table_store_resolves_like_a_dict_and_writes_nothing_before_commit(order):
    plain, backing = Resolver({}), {}
    for obs in order:
        expected = plain.observe(obs)
        store = TableStore(backing)
        before = dict(backing)
        assert Resolver(store).observe(obs) == expected
        assert backing == before  # buffered until commit
        store.commit()
    decoded = {k.decode(): json.loads(v) for k, v in backing.items()}
    assert decoded == json.loads(json.dumps(dict(plain.store)))
    assert set(TableStore(backing)) == set(plain.store)


@settings(max_examples=40, deadline=None)
@given(st.permutations(people), st.integers(min_value=1, max_value=len(people)))
def test_a_batch_resolves_over_an_overlay_like_one_store_per_event_and_writes_only_at_its_end(order, size):
    plain, backing = Resolver({}), {}
    for start in range(0, len(order), size):
        batch, before = Overlay(backing), dict(backing)
        for obs in order[start:start + size]:
            expected = plain.observe(obs)
            store = TableStore(batch)
            assert Resolver(store).observe(obs) == expected
            store.commit()
            failed = TableStore(batch)  # an event that fails after changing its store leaves no trace
            Resolver(failed).observe(obs)
            failed["r/" + obs.record_id] = {"broken": True}
        assert backing == before  # nothing before the batch's flush
        batch.write_through()
    decoded = {k.decode(): json.loads(v) for k, v in backing.items()}
    assert decoded == json.loads(json.dumps(dict(plain.store)))


def test_an_overlay_reads_its_writes_and_deletes_before_the_table():
    backing = {b"a": b"1", b"b": b"2"}
    batch = Overlay(backing)
    batch[b"c"] = b"3"
    del batch[b"a"]
    assert batch.get(b"a") is None and batch.get(b"b") == b"2" and batch.get(b"c") == b"3"
    assert set(batch) == {b"b", b"c"}
    with pytest.raises(KeyError):
        del batch[b"a"]
    assert backing == {b"a": b"1", b"b": b"2"}
    batch.write_through()
    assert backing == {b"b": b"2", b"c": b"3"} and batch.writes == {}


class _CountingDict(dict):  # type: ignore[type-arg]
    writes = 0

    def __setitem__(self, key, value):  # type: ignore[no-untyped-def]
        self.writes += 1
        super().__setitem__(key, value)


def test_the_table_store_does_not_write_a_value_again_that_the_event_left_unchanged():
    backing = _CountingDict()
    store = TableStore(backing)
    store["a"], store["b"] = {"n": 1, "名": "陳"}, [1, 2]
    store.commit()
    assert backing.writes == 2
    store = TableStore(backing)
    store["a"] = dict(store["a"])  # the same value set again
    changed = store["b"]
    changed.append(3)  # changed in place, then set: written
    store["b"] = changed
    store.commit()
    assert backing.writes == 3
    assert json.loads(backing[b"b"]) == [1, 2, 3] and json.loads(backing[b"a"]) == {"n": 1, "名": "陳"}
    store["b"] = [1, 2, 3]  # after a commit the store knows what it wrote
    store.commit()
    assert backing.writes == 3


def test_observing_the_same_observation_again_writes_no_identity_state():
    backing = _CountingDict()
    for obs in (*people, *people):
        store = TableStore(backing)
        Resolver(store).observe(obs)
        store.commit()
    first = backing.writes
    for obs in people:
        store = TableStore(backing)
        Resolver(store).observe(obs)
        store.commit()
    assert backing.writes == first
