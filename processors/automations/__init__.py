"""Automation rules: which actions a contact's events and segments call for. Pure.

Rules come from YAML (``default.yaml`` holds the seeds' defaults). ``action_for`` turns a rule and
its trigger into an ``Action`` whose id is a hash of (rule, contact, trigger): a replayed trigger
gives the same id, so the sender's outbox and the CRM writer do it once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

from processors.policy import Action

MINUTE_MS = 60_000
DAY_MS = 86_400_000
KINDS = ("template", "text", "interactive", "task", "alert")
CATEGORIES = ("marketing", "utility", "service", "authentication")
LANGUAGES = ("zh_HK", "zh_TW", "zh_CN", "ja", "es", "pt_BR", "en")
_REGION_LANGUAGE = {"HK": "zh_HK", "MO": "zh_HK", "TW": "zh_TW", "CN": "zh_CN", "JP": "ja", "BR": "pt_BR",
                    "PT": "pt_BR", "AO": "pt_BR", "MZ": "pt_BR", "US": "en", "GB": "en", "SG": "en", "AU": "en"}
_SPANISH = {"MX", "AR", "CO", "CL", "PE", "VE", "EC", "GT", "CU", "BO", "DO", "HN", "PY", "SV", "NI", "CR", "PA",
            "UY", "PR", "ES"}


class AutomationError(ValueError):
    """An automation rule file is invalid; the message says where and what to fix."""


@dataclass(frozen=True, slots=True)
class Automation:
    id: str
    kind: str
    category: str = "utility"
    promotion: bool = False
    template: str | None = None
    payload_json: str | None = None  # do.components of a template, or do.interactive, as JSON
    texts: tuple[tuple[str, str], ...] = ()  # (language, text)
    title: str | None = None
    event: str | None = None
    segment_entered: str | None = None
    segment: str | None = None
    every_ms: int | None = None
    tag: str | None = None
    unanswered_ms: int | None = None
    high_value_segments: tuple[str, ...] = ()
    high_value_tags: tuple[str, ...] = ()

    def text_for(self, language: str) -> str | None:
        by = dict(self.texts)
        return by.get(language) or by.get("en") or (self.texts[0][1] if self.texts else None)


@dataclass(frozen=True, slots=True)
class Automations:
    version: str
    rules: tuple[Automation, ...]

    def on_tag(self, tag: str) -> tuple[Automation, ...]:
        return tuple(r for r in self.rules if r.tag == tag)

    def on_segment(self, segment: str) -> tuple[Automation, ...]:
        return tuple(r for r in self.rules if segment in (r.segment_entered, r.segment))

    @property
    def sla(self) -> tuple[Automation, ...]:
        return tuple(r for r in self.rules if r.unanswered_ms is not None)


def load_automations(doc: Any, *, source: str = "automations") -> Automations:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("automations"), list) or not doc["automations"]:
        raise AutomationError(f"{source}: expected a mapping with version and a non-empty 'automations' list")
    version = doc.get("version")
    if not isinstance(version, str | int | float) or str(version) == "":
        raise AutomationError(f"{source}: 'version' is required (quote it: version: \"2026.11.1\")")
    rules, ids = [], set()
    for i, raw in enumerate(doc["automations"]):
        rule = _rule(raw, f"{source}: automations[{i}]")
        if rule.id in ids:
            raise AutomationError(f"{source}: automations[{i}]: duplicate id '{rule.id}'")
        ids.add(rule.id)
        rules.append(rule)
    return Automations(str(version), tuple(rules))


def _rule(raw: Any, where: str) -> Automation:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise AutomationError(f"{where}: each automation needs an 'id'")
    when, do = raw.get("when"), raw.get("do")
    if not isinstance(when, Mapping) or not isinstance(do, Mapping):
        raise AutomationError(f"{where} ({raw['id']}): needs 'when' and 'do' mappings")
    kind, category = do.get("kind"), do.get("category", "utility")
    if kind not in KINDS:
        raise AutomationError(f"{where}: do.kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if category not in CATEGORIES:
        raise AutomationError(f"{where}: do.category must be one of {', '.join(CATEGORIES)}, not {category!r}")
    text = do.get("text")
    texts = tuple(sorted(text.items())) if isinstance(text, Mapping) else ((("en", text),) if text else ())
    if any(lang not in LANGUAGES or not isinstance(t, str) or not t for lang, t in texts):
        raise AutomationError(f"{where}: do.text is a string or a mapping of {', '.join(LANGUAGES)} to strings")
    if kind == "template" and not isinstance(do.get("template"), str):
        raise AutomationError(f"{where}: a template action names its approved template (do.template)")
    if kind == "text" and not texts:
        raise AutomationError(f"{where}: a text action needs do.text")
    payload = _payload(kind, do, where)
    triggers = [k for k in ("segment_entered", "segment", "tag", "unanswered_minutes") if when.get(k) is not None]
    if len(triggers) != 1:
        raise AutomationError(f"{where}: 'when' needs exactly one of segment_entered, segment, tag, "
                              f"unanswered_minutes (got {', '.join(triggers) or 'none'})")
    every = when.get("every_days")
    if when.get("segment") is not None and (not isinstance(every, int | float) or every <= 0):
        raise AutomationError(f"{where}: 'segment' repeats: give every_days > 0 (or use segment_entered)")
    minutes = when.get("unanswered_minutes")
    if minutes is not None and (not isinstance(minutes, int | float) or minutes <= 0):
        raise AutomationError(f"{where}: unanswered_minutes must be > 0")
    return Automation(
        id=raw["id"], kind=kind, category=category, promotion=bool(do.get("promotion", False)),
        template=do.get("template"), payload_json=payload, texts=texts, title=do.get("title"), event=do.get("event"),
        segment_entered=when.get("segment_entered"), segment=when.get("segment"),
        every_ms=int(every * DAY_MS) if isinstance(every, int | float) and when.get("segment") else None,
        tag=when.get("tag"),
        unanswered_ms=int(minutes * MINUTE_MS) if minutes is not None else None,
        high_value_segments=tuple(when.get("segments") or ()), high_value_tags=tuple(when.get("tags") or ()))


def _payload(kind: str, do: Mapping[str, Any], where: str) -> str | None:
    """do.components (a template's header/body/button parameters, in the Cloud API's shape) or
    do.interactive (the Cloud API's interactive object: buttons, a list, ...), checked here so a
    mistake is found when the file loads, not when Meta refuses the send."""
    components, interactive = do.get("components"), do.get("interactive")
    if components is not None:
        if kind != "template":
            raise AutomationError(f"{where}: do.components belongs to a template action")
        if not isinstance(components, list) or not all(isinstance(c, Mapping) and c.get("type") for c in components):
            raise AutomationError(f"{where}: do.components is a list of components, each with a type "
                                  "(header, body, button)")
        return json.dumps(components, ensure_ascii=False)
    if kind == "interactive":
        if not isinstance(interactive, Mapping) or interactive.get("type") not in _INTERACTIVE or \
                not isinstance(interactive.get("action"), Mapping):
            raise AutomationError(f"{where}: an interactive action needs do.interactive with a type "
                                  f"({', '.join(_INTERACTIVE)}) and an action")
        return json.dumps(interactive, ensure_ascii=False)
    if interactive is not None:
        raise AutomationError(f"{where}: do.interactive belongs to an interactive action (do.kind: interactive)")
    return None


_INTERACTIVE = ("button", "list", "cta_url", "product", "product_list", "flow")


def language_for(phone_e164: str | None, default: str = "en") -> str:
    """The language of texts and templates for a contact, from the phone number's region."""
    if not phone_e164:
        return default
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(phone_e164))
    except phonenumbers.NumberParseException:
        return default
    if region in _SPANISH:
        return "es"
    return _REGION_LANGUAGE.get(region or "", default)


def action_id(rule_id: str, contact_key: str, trigger: str) -> str:
    return hashlib.sha256(f"{rule_id}|{contact_key}|{trigger}".encode()).hexdigest()[:24]


def action_for(rule: Automation, contact_key: str, trigger: str, now_ms: int, language: str) -> Action:
    return Action(action_id=action_id(rule.id, contact_key, trigger), rule_id=rule.id, contact_key=contact_key,
                  kind=rule.kind, trigger=trigger, created_ms=now_ms, category=rule.category,
                  content=rule.template or rule.id, event_key=rule.event,
                  promotion=rule.promotion, template=rule.template,
                  language=language if rule.kind == "template" else None,
                  text=rule.text_for(language) if rule.kind == "text" else None, title=rule.title,
                  payload_json=rule.payload_json)
