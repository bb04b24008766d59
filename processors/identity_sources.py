"""What identity resolution observes from each source (``processors.identity.Observation``). Pure.

* WhatsApp: a contact key's number (its candidate keys, so MX/BR/AR variants meet CRM numbers)
  and profile name, sent by the automation stage when it first sees them or they change.
* CRM contact changes: phone, email and full name. A HubSpot ``propertyChange`` of ``firstname``
  or ``lastname`` alone carries half a name, so it is not observed as a name (it would raise a
  false conflict); a CDC event with ``name`` or both parts is.
* CRM orders: the ordered SKUs at the order's time, on the CRM contact the order belongs to.

Deleted, merged and other changes are not observations (erasure is its own command)."""

from __future__ import annotations

import json

from processors.events import CrmChange
from processors.identity import Observation
from processors.phones import from_wa_id

_OBSERVED_CONTACT_CHANGES = frozenset({"created", "updated", "restored"})


def whatsapp_record_id(contact_key: str) -> str:
    return f"wa:{contact_key}"


def crm_record_id(crm_key: str) -> str:
    """``crm:<system>:<contact id>`` from a CrmChange key (``<system>:<contact id>``)."""
    return f"crm:{crm_key}"


def from_whatsapp(contact_key: str, wa_id: str | None, profile_name: str | None, ts_ms: int) -> Observation:
    phone = from_wa_id(wa_id)
    return Observation(whatsapp_record_id(contact_key), "whatsapp", ts_ms,
                       phone_keys=phone.keys if phone is not None else (),
                       phone_e164=phone.e164 if phone is not None else None,
                       name=profile_name or None, contact_key=contact_key)


def from_crm(change: CrmChange) -> Observation | None:
    """The observation a CRM change carries, or None when it says nothing about who someone is."""
    if change.object_type == "order" and change.contact_id and change.skus:
        purchases = tuple(sorted({(sku, change.occurred_at_ms) for sku in change.skus}))
        return Observation(crm_record_id(change.key), change.system, change.occurred_at_ms, purchases=purchases)
    if change.object_type != "contact" or change.change not in _OBSERVED_CONTACT_CHANGES:
        return None
    name = change.name if _full_name(change) else None
    if not (change.phone_keys or change.email or name):
        return None
    return Observation(crm_record_id(change.key), change.system, change.occurred_at_ms,
                       phone_keys=change.phone_keys, phone_e164=change.phone_e164, email=change.email, name=name)


def _full_name(change: CrmChange) -> bool:
    if not change.name:
        return False
    try:
        props = json.loads(change.properties_json) if change.properties_json else {}
    except ValueError:
        return False
    if not isinstance(props, dict):
        return False
    return bool(props.get("name")) or (bool(props.get("firstname")) and bool(props.get("lastname")))
