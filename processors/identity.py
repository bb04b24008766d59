"""Identity resolution (DESIGN §5): WhatsApp and CRM records resolve to one contact. Pure.

A *record* is what one source knows about a person: a WhatsApp contact (``wa:<contact key>``:
number, profile name) or a CRM contact (``crm:<system>:<id>``: phone, email, name, purchases).
Two records are linked when they

* share a normalized phone candidate key (``processors.phones``: the MX/BR/AR variants meet), or
* have similar names (rapidfuzz ``token_sort_ratio`` >= 80 on folded names: NFKC, casefold,
  traditional -> simplified, accents dropped; spaces ignored in CJK names) **and** corroborating
  evidence: the same email, or the same SKU bought within 90 days of each other.

A fuzzy name alone never links. A contact is a connected group of linked records, so the result
does not depend on the order observations arrive in, and observing the same thing twice changes
nothing. The contact id comes from the group's oldest record (first seen, then record id).

``Resolver.observe`` returns what changed: contacts (profiles to publish), merges (with evidence
and confidence: the merge log), and name conflicts for review. ``Resolver.unmerge(merge_id)``
forbids the links between the two sides of a logged merge, which splits them again.

State lives in a ``Store`` (a mutable mapping of str -> JSON-able values): a dict in tests, the
identity agent's table in the worker."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from processors.textnorm import fold, has_cjk

DAY_MS = 86_400_000
Store = MutableMapping[str, Any]
MAX_INDEX = 200  # records kept per email / SKU index entry (a SKU bought by thousands: the newest)


@dataclass(frozen=True, slots=True)
class IdentityRules:
    name_threshold: float = 80.0
    sku_window_ms: int = 90 * DAY_MS


@dataclass(frozen=True, slots=True)
class Observation:
    record_id: str  # wa:<contact key> | crm:<system>:<id>
    source: str  # whatsapp | hubspot | shopify | ...
    ts_ms: int  # event time of what was observed
    phone_keys: tuple[str, ...] = ()
    phone_e164: str | None = None
    email: str | None = None
    name: str | None = None
    purchases: tuple[tuple[str, int], ...] = ()  # (sku, bought at ms)
    contact_key: str | None = None  # WhatsApp records: the stream's contact key


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str  # phone | name+email | name+sku
    detail: str  # the shared key (a phone is shown masked), the name similarity
    confidence: float  # 0..1


@dataclass(frozen=True, slots=True)
class Profile:
    contact_id: str
    records: tuple[str, ...]
    contact_keys: tuple[str, ...]
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    name: str | None
    name_source: str | None
    first_seen_ms: int
    updated_ms: int
    merged_into: str | None = None  # set on a contact that no longer exists (absorbed by a merge)


@dataclass(frozen=True, slots=True)
class Merge:
    merge_id: str
    into: str  # the surviving contact id
    absorbed: str  # the contact id merged into it
    left: tuple[str, ...]  # records on each side
    right: tuple[str, ...]
    evidence: Evidence
    at_ms: int
    undone: bool = False


@dataclass(frozen=True, slots=True)
class Conflict:
    conflict_id: str
    contact_id: str
    field: str
    chosen: str
    values: tuple[tuple[str, str, int], ...]  # (value, source, ts) of every member


@dataclass(frozen=True, slots=True)
class Change:
    profiles: tuple[Profile, ...] = ()
    merges: tuple[Merge, ...] = ()
    splits: tuple[Merge, ...] = ()  # merges undone
    conflicts: tuple[Conflict, ...] = ()


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What ``Resolver.forget`` erased: contact ids (theirs and the ones they absorbed), records, merges."""

    contact_ids: tuple[str, ...] = ()
    records: tuple[str, ...] = ()
    merges: tuple[str, ...] = ()


def name_key(name: str | None) -> str:
    if not name:
        return ""
    folded = " ".join("".join(c if c.isalnum() else " " for c in fold(name)).split())
    return folded.replace(" ", "") if has_cjk(folded) else folded


def name_similarity(a: str | None, b: str | None) -> float:
    ka, kb = name_key(a), name_key(b)
    if not ka or not kb:
        return 0.0
    return float(fuzz.token_sort_ratio(ka, kb))


def _h(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _mask(phone: str) -> str:
    return phone[:4] + "…" + phone[-2:] if len(phone) > 6 else "…"


def _mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}"


@dataclass
class Resolver:
    store: Store
    rules: IdentityRules = field(default_factory=IdentityRules)

    # -- records and indexes -------------------------------------------------------------------
    def record(self, rid: str) -> dict[str, Any] | None:
        value: dict[str, Any] | None = self.store.get(f"r/{rid}")
        return value

    def _index(self, kind: str, value: str, rid: str, ts: int) -> None:
        key = f"x/{kind}/{value}"
        entries = [e for e in self.store.get(key, []) if e[0] != rid]
        entries.append([rid, ts])
        if kind != "p":  # phone keys identify; emails and SKUs are capped, newest kept
            entries = sorted(entries, key=lambda e: (e[1], e[0]))[-MAX_INDEX:]
        self.store[key] = sorted(entries)

    def _candidates(self, rec: dict[str, Any]) -> set[str]:
        found: set[str] = set()
        for kind, values in (("p", rec["phones"]), ("e", rec["emails"]), ("s", {s for s, _ in rec["purchases"]})):
            for value in values:
                found.update(e[0] for e in self.store.get(f"x/{kind}/{value}", []))
        found.discard(rec["id"])
        return found

    def _apply(self, obs: Observation) -> dict[str, Any]:
        old = self.record(obs.record_id)
        rec = old or {"id": obs.record_id, "source": obs.source, "first_seen": obs.ts_ms, "phones": [],
                      "emails": [], "name": None, "name_ts": None, "purchases": [], "contact_keys": [],
                      "updated": obs.ts_ms}
        rec = dict(rec)
        rec["first_seen"] = min(rec["first_seen"], obs.ts_ms)
        rec["updated"] = max(rec["updated"], obs.ts_ms)
        rec["phones"] = sorted(set(rec["phones"]) | set(obs.phone_keys))
        if obs.email:
            rec["emails"] = sorted(set(rec["emails"]) | {obs.email.strip().lower()})
        if obs.contact_key:
            rec["contact_keys"] = sorted(set(rec["contact_keys"]) | {obs.contact_key})
        if obs.purchases:
            rec["purchases"] = sorted({tuple(p) for p in rec["purchases"]} | set(obs.purchases))[-50:]
        if obs.name and (rec["name_ts"] is None or (obs.ts_ms, obs.name) > (rec["name_ts"], rec["name"])):
            rec["name"], rec["name_ts"] = obs.name, obs.ts_ms  # last write wins by event time (ties: value)
        if obs.phone_e164:
            rec["e164"] = obs.phone_e164
        self.store[f"r/{obs.record_id}"] = rec
        known = old or {"phones": (), "emails": (), "purchases": ()}  # only new keys touch the indexes
        for p in set(rec["phones"]) - set(known["phones"]):
            self._index("p", p, rec["id"], rec["first_seen"])
        for e in set(rec["emails"]) - set(known["emails"]):
            self._index("e", e, rec["id"], obs.ts_ms)
        for sku, ts in {tuple(p) for p in rec["purchases"]} - {tuple(p) for p in known["purchases"]}:
            self._index("s", sku, rec["id"], ts)
        return rec

    # -- links --------------------------------------------------------------------------------
    def link(self, a: dict[str, Any], b: dict[str, Any]) -> Evidence | None:
        if b["id"] in self.store.get(f"b/{a['id']}", ()):
            return None
        shared = sorted(set(a["phones"]) & set(b["phones"]))
        if shared:
            return Evidence("phone", f"phone {_mask(shared[0])}", 1.0)
        sim = name_similarity(a["name"], b["name"])
        if sim < self.rules.name_threshold:
            return None
        emails = sorted(set(a["emails"]) & set(b["emails"]))
        if emails:
            detail = f"email {_mask_email(emails[0])}; name similarity {sim:.0f}"
            return Evidence("name+email", detail, round(0.6 + 0.4 * sim / 100, 3))
        window = self.rules.sku_window_ms
        for sku, ta in a["purchases"]:
            for sku_b, tb in b["purchases"]:
                if sku == sku_b and abs(ta - tb) <= window:
                    return Evidence("name+sku", f"sku {sku} within {window // DAY_MS} days; name similarity {sim:.0f}",
                                    round(0.5 + 0.4 * sim / 100, 3))
        return None

    def _component(self, start: str) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            rec = self.record(todo.pop())
            if rec is None:
                continue
            for other_id in self._candidates(rec):
                if other_id in seen:
                    continue
                other = self.record(other_id)
                if other is not None and self.link(rec, other) is not None:
                    seen.add(other_id)
                    todo.append(other_id)
        return seen

    def _root(self, members: Iterable[str]) -> str:
        """The group's oldest record (first seen, then record id): it names the contact."""
        return min(members, key=lambda r: ((self.record(r) or {}).get("first_seen", 0), r))

    def _contact_id(self, members: Iterable[str]) -> str:
        return "ct_" + _h(self._root(members))

    # -- operations ---------------------------------------------------------------------------
    def observe(self, obs: Observation) -> Change:
        before = self.store.get(f"k/{obs.record_id}")
        self._apply(obs)
        return self._regroup({obs.record_id} | set(self.store.get(f"c/{before}", []) if before else ()), obs.ts_ms)

    def unmerge(self, merge_id: str, at_ms: int) -> Change:
        """Forbid every link between the two sides of merge ``merge_id``; KeyError if unknown."""
        logged = self.store.get(f"m/{merge_id}")
        if logged is None:
            raise KeyError(merge_id)
        left, right = logged["left"], logged["right"]
        for a in left:
            self.store[f"b/{a}"] = sorted(set(self.store.get(f"b/{a}", [])) | set(right))
        for b in right:
            self.store[f"b/{b}"] = sorted(set(self.store.get(f"b/{b}", [])) | set(left))
        self.store[f"m/{merge_id}"] = {**logged, "undone": True}
        change = self._regroup(set(left) | set(right), at_ms)
        undone = _merge_from(merge_id, {**logged, "undone": True})
        return Change(change.profiles, change.merges, (*change.splits, undone), change.conflicts)

    def phones_hashed(self, hashes: Iterable[str]) -> list[str]:
        """The indexed phone keys whose SHA-256 (``processors.erasure.subject_hash``) is in ``hashes``."""
        wanted = set(hashes)
        return [k[4:] for k in self.store if k.startswith("x/p/") and _sha256(k[4:]) in wanted]

    def forget(self, phone_keys: Iterable[str]) -> Forgotten:
        """GDPR erasure: every contact holding one of these numbers goes as a whole (all its
        records, their index entries, its merge log and the links forbidden by unmerges), and so
        do the contacts it absorbed. Contacts elsewhere are untouched."""
        hit = {e[0] for p in phone_keys for e in self.store.get(f"x/p/{p}", [])}
        contacts = {c for r in hit if (c := self.store.get(f"k/{r}"))}
        records = hit | {r for c in contacts for r in self.store.get(f"c/{c}", [])}
        merges, absorbed = [], set()
        for key in [k for k in self.store if k.startswith(("m/", "b/"))]:
            doc = self.store[key]
            if key.startswith("b/"):
                kept = [r for r in doc if r not in records]
                if key[2:] in records or not kept:
                    del self.store[key]
                elif len(kept) != len(doc):
                    self.store[key] = kept
            elif records & {*doc["left"], *doc["right"]}:
                merges.append(key[2:])
                absorbed.add(doc["absorbed"])
                del self.store[key]
        for rid in sorted(records):
            rec = self.record(rid) or {"phones": [], "emails": [], "purchases": []}
            for kind, values in (("p", rec["phones"]), ("e", rec["emails"]), ("s", {s for s, _ in rec["purchases"]})):
                for value in values:
                    entries = [e for e in self.store.get(f"x/{kind}/{value}", []) if e[0] != rid]
                    if entries:
                        self.store[f"x/{kind}/{value}"] = entries
                    else:
                        self.store.pop(f"x/{kind}/{value}", None)
            for prefix in ("r/", "k/"):
                self.store.pop(f"{prefix}{rid}", None)
        gone = contacts | {a for a in absorbed if f"c/{a}" not in self.store}  # a split side may live on
        for cid in gone:
            self.store.pop(f"c/{cid}", None)
        return Forgotten(tuple(sorted(gone)), tuple(sorted(records)), tuple(sorted(merges)))

    def contact_of(self, record_id: str) -> str | None:
        value: str | None = self.store.get(f"k/{record_id}")
        return value

    def members(self, contact_id: str) -> tuple[str, ...]:
        return tuple(self.store.get(f"c/{contact_id}", ()))

    def merge_log(self, merge_id: str) -> Merge | None:
        logged = self.store.get(f"m/{merge_id}")
        return _merge_from(merge_id, logged) if logged is not None else None

    def _regroup(self, touched: set[str], at_ms: int) -> Change:
        """Recompute the groups of ``touched`` records; publish what changed."""
        groups: list[set[str]] = []
        for rid in sorted(touched):
            if not any(rid in g for g in groups):
                groups.append(self._component(rid))
        old_ids: dict[str, str | None] = {rid: self.store.get(f"k/{rid}") for g in groups for rid in g}
        profiles, merges, conflicts = [], [], []
        for group in groups:
            cid = self._contact_id(group)
            previous: set[str] = {old for r in group if (old := old_ids[r])}
            sides: dict[str, list[str]] = {}
            for r in group:
                sides.setdefault(old_ids[r] or f"new:{r}", []).append(r)
            merges += self._log_merges(cid, sides, at_ms)
            for r in group:
                self.store[f"k/{r}"] = cid
            self.store[f"c/{cid}"] = sorted(group)
            profile, conflict = self._profile(cid, group)
            profiles.append(profile)
            if conflict is not None:
                conflicts.append(conflict)
            for gone in previous - {cid}:
                if not any(self.store.get(f"k/{r}") == gone for r in self.store.get(f"c/{gone}", [])):
                    self.store.pop(f"c/{gone}", None)
                    profiles.append(Profile(gone, (), (), (), (), None, None, 0, at_ms, merged_into=cid))
        return Change(tuple(profiles), tuple(merges), (), tuple(conflicts))

    def _log_merges(self, cid: str, sides: dict[str, list[str]], at_ms: int) -> list[Merge]:
        """A group made of several sides (existing contacts, or records seen for the first time) is
        logged as merges: starting from the side that keeps the contact id, each side joins with
        the evidence of its strongest link into what was joined before it."""
        if len(sides) < 2:
            return []
        root = self._root(r for side in sides.values() for r in side)
        first = next(k for k, side in sides.items() if root in side)
        anchor, remaining, merges = list(sides[first]), sorted(k for k in sides if k != first), []
        while remaining:
            found = next(((k, ev) for k in remaining if (ev := self._evidence_between(anchor, sides[k])) is not None),
                         None)
            if found is None:  # cannot happen in a connected group; never loop forever
                break
            key, evidence = found
            side = sorted(sides[key])
            absorbed = key if not key.startswith("new:") else "ct_" + _h(key[4:])
            mid = _h(cid, absorbed, ",".join(sorted(anchor)), ",".join(side))
            merge = Merge(mid, cid, absorbed, tuple(sorted(anchor)), tuple(side), evidence, at_ms)
            self.store[f"m/{mid}"] = _merge_doc(merge)
            merges.append(merge)
            anchor += side
            remaining.remove(key)
        return merges

    def _evidence_between(self, left: list[str], right: list[str]) -> Evidence | None:
        best: Evidence | None = None
        for a in left:
            ra = self.record(a)
            for b in right:
                rb = self.record(b)
                if ra is None or rb is None:
                    continue
                ev = self.link(ra, rb)
                if ev is not None and (best is None or ev.confidence > best.confidence):
                    best = ev
        return best

    def _profile(self, cid: str, group: set[str]) -> tuple[Profile, Conflict | None]:
        recs = [r for r in (self.record(x) for x in sorted(group)) if r is not None]
        named = [(r["name"], r["source"], r["name_ts"]) for r in recs if r["name"]]
        chosen = max(named, key=lambda n: (n[2], n[0])) if named else None
        conflict = None
        if len({" ".join(sorted(name_key(n[0]).split())) for n in named}) > 1 and chosen is not None:
            values = tuple(sorted(named))
            conflict = Conflict(_h(cid, "name", repr(values)), cid, "name", chosen[0], values)
        e164 = sorted({r["e164"] for r in recs if r.get("e164")})
        profile = Profile(cid, tuple(sorted(group)), tuple(sorted({k for r in recs for k in r["contact_keys"]})),
                          tuple(e164), tuple(sorted({e for r in recs for e in r["emails"]})),
                          chosen[0] if chosen else None, chosen[1] if chosen else None,
                          min(r["first_seen"] for r in recs), max(r["updated"] for r in recs))
        return profile, conflict


def _merge_doc(m: Merge) -> dict[str, Any]:
    return {"into": m.into, "absorbed": m.absorbed, "left": list(m.left), "right": list(m.right),
            "evidence": [m.evidence.kind, m.evidence.detail, m.evidence.confidence], "at": m.at_ms,
            "undone": m.undone}


def _merge_from(merge_id: str, doc: dict[str, Any]) -> Merge:
    kind, detail, confidence = doc["evidence"]
    return Merge(merge_id, doc["into"], doc["absorbed"], tuple(doc["left"]), tuple(doc["right"]),
                 Evidence(kind, detail, confidence), doc["at"], doc.get("undone", False))
