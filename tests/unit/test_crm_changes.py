import json

import pytest

from processors.crm import parse_crm
from processors.errors import InvalidEvent


def parse(source, doc, region="HK"):
    return parse_crm(source, json.dumps(doc, ensure_ascii=False).encode(), received_at_ms=1_795_136_999_000,
                     envelope_sha256="h", default_region=region)


def test_hubspot_phone_change_is_normalized_with_candidate_keys():
    (c,) = parse("hubspot", [{"eventId": 1001, "subscriptionType": "contact.propertyChange", "objectId": 5001,
                              "propertyName": "phone", "propertyValue": "+55 41 98888-7777",
                              "occurredAt": 1795136940000}])
    assert (c.change_id, c.object_type, c.change, c.key) == ("hubspot:1001", "contact", "updated", "hubspot:5001")
    assert c.phone_e164 == "+5541988887777" and "+554188887777" in c.phone_keys
    assert c.occurred_at_ms == 1_795_136_940_000


def test_hubspot_batch_yields_every_event_merge_deal_stage_and_deletion():
    changes = parse("hubspot", [
        {"eventId": 1, "subscriptionType": "contact.creation", "objectId": 7, "occurredAt": 1795136000000},
        {"eventId": 2, "subscriptionType": "contact.merge", "objectId": 7, "primaryObjectId": 7,
         "mergedObjectIds": [8, 9], "occurredAt": 1795136000001},
        {"eventId": 3, "subscriptionType": "deal.propertyChange", "objectId": 70, "propertyName": "dealstage",
         "propertyValue": "closedwon", "occurredAt": 1795136000002},
        {"eventId": 4, "subscriptionType": "contact.deletion", "objectId": 9, "occurredAt": 1795136000003}])
    assert [c.change for c in changes] == ["created", "merged", "stage_changed", "deleted"]
    assert changes[1].merged_ids == ("8", "9") and changes[2].deal_stage == "closedwon"


def test_cdc_order_carries_skus_and_is_keyed_by_its_contact():
    (c,) = parse("cdc", {"event_id": "e9", "source": "shopify", "entity": "order", "op": "create", "id": "O-1",
                         "occurred_at": "2026-11-20T10:00:00+08:00",
                         "data": {"contact_id": "C-1", "items": [{"sku": "JKT-M-BLK", "quantity": 1},
                                                                 {"sku": "SCF-01"}],
                                  "total": "1299.00", "currency": "HKD"}})
    assert (c.change, c.key, c.order_id, c.skus) == ("order_placed", "shopify:C-1", "O-1", ("JKT-M-BLK", "SCF-01"))
    assert c.amount == 1299.0 and c.currency == "HKD"


def test_cdc_contact_phone_uses_its_own_region_and_lowercases_email():
    (c,) = parse("cdc", {"event_id": "e1", "source": "erp", "entity": "contact", "op": "upsert", "id": "C-2",
                         "occurred_at": 1795136000000,
                         "data": {"phone": "0912-345-678", "region": "TW", "email": " Mei@Example.COM ",
                                  "name": "林美"}})
    assert (c.phone_e164, c.email, c.name, c.change) == ("+886912345678", "mei@example.com", "林美", "updated")


def test_unparseable_phone_travels_with_an_error_instead_of_dropping_the_change():
    (c,) = parse("hubspot", [{"eventId": 5, "subscriptionType": "contact.propertyChange", "objectId": 1,
                              "propertyName": "phone", "propertyValue": "ask reception"}])
    assert c.phone_e164 is None and c.phone_raw == "ask reception" and "no digits" in c.phone_error


@pytest.mark.parametrize(("source", "doc", "reason"), [
    ("hubspot", [{"subscriptionType": "contact.creation", "objectId": 1}], "bad_shape"),
    ("hubspot", [], "bad_shape"),
    ("hubspot", "text", "bad_shape"),
    ("cdc", {"event_id": "e", "source": "s", "entity": "contact", "id": "1", "op": "explode"}, "bad_op"),
    ("cdc", {"event_id": "e", "source": "s", "entity": "contact", "id": "1", "occurred_at": "yesterday"},
     "bad_timestamp"),
])
def test_broken_crm_bodies_say_why(source, doc, reason):
    with pytest.raises(InvalidEvent) as err:
        parse(source, doc)
    assert err.value.reason == reason
