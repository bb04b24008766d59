"""Tagging rule packs: multilingual keywords, regexes and count rules over an event-time window. Pure.

A pack is a versioned YAML document (see ``processors/rulepacks/default.yaml``)::

    pack: default
    version: "2026.11.1"
    rules:
      - tag: returns
        department: returns          # optional: where the conversation is routed
        keywords: [退貨, return, devolución, 返品]
        regex: ['refund\\s*#?\\d+']  # optional
      - tag: price_sensitive
        count: {keywords: [折扣, discount], at_least: 3, within_days: 30}

Keywords and text are compared after ``textnorm.fold`` (NFKC, casefold, traditional → simplified,
Latin accents dropped), so 退貨 and 退货, Ｈｏｗ ＭＵＣＨ and how much, devolución and devolucion are
the same. Keywords in Chinese or Japanese match anywhere; Latin keywords match whole words, or as
a prefix when they end in ``*`` (``devol*``). Regexes run case-insensitively on the folded text
with traditional characters in the pattern simplified. A count rule fires on a message when the
keyword mentions within ``within_days`` before it (this one included) reach ``at_least``; the
per-contact window (``CountState``) is kept by the caller."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from processors.textnorm import fold, has_cjk, simplify

DAY_MS = 86_400_000
_TAG = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class RulePackError(ValueError):
    """A rule pack that cannot be used; the message says where and what to change."""


@dataclass(frozen=True, slots=True)
class CountRule:
    pattern: re.Pattern[str]
    at_least: int
    within_ms: int


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    tag: str
    department: str | None
    keywords: re.Pattern[str] | None
    regexes: tuple[re.Pattern[str], ...]
    count: CountRule | None


@dataclass(frozen=True, slots=True)
class RulePack:
    name: str
    version: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Match:
    rule_id: str
    tag: str
    department: str | None
    reason: str  # keyword '多少钱' | regex '...' | count '折扣' 3 in 30 days (>= 3)
    pack: str
    rule_version: str


# rule id -> ((event time ms, wamid, mentions), ...) inside the rule's window, oldest first
CountState = dict[str, tuple[tuple[int, str, int], ...]]


@dataclass(frozen=True, slots=True)
class Tagged:
    matches: tuple[Match, ...]
    counts: CountState = field(default_factory=dict)


def load_pack(doc: Any, *, source: str = "rule pack") -> RulePack:
    """Validate a parsed YAML document into a RulePack; RulePackError says what is wrong."""
    if not isinstance(doc, Mapping):
        raise RulePackError(f"{source}: expected a mapping with pack, version and rules")
    name, version, rules = doc.get("pack"), doc.get("version"), doc.get("rules")
    if not isinstance(name, str) or not name:
        raise RulePackError(f"{source}: 'pack' (the pack's name) is required")
    if not isinstance(version, (str, int, float)) or str(version) == "":
        raise RulePackError(f"{source}: 'version' is required (quote it: version: \"2026.11.1\")")
    if not isinstance(rules, list) or not rules:
        raise RulePackError(f"{source}: 'rules' must be a non-empty list")
    built, ids = [], set()
    for i, raw in enumerate(rules):
        rule = _rule(raw, f"{source}: rules[{i}]")
        if rule.id in ids:
            raise RulePackError(f"{source}: rules[{i}]: duplicate rule id '{rule.id}' (set 'id' to tell them apart)")
        ids.add(rule.id)
        built.append(rule)
    return RulePack(name, str(version), tuple(built))


def _rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, Mapping):
        raise RulePackError(f"{where}: expected a mapping with a tag")
    unknown = set(raw) - {"id", "tag", "department", "keywords", "regex", "count"}
    if unknown:
        raise RulePackError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    tag = raw.get("tag")
    if not isinstance(tag, str) or not _TAG.match(tag):
        raise RulePackError(f"{where}: 'tag' must be snake_case ascii (e.g. price_inquiry), got {tag!r}")
    where = f"{where} (tag {tag})"
    rule_id = str(raw.get("id") or tag)
    department = raw.get("department")
    if department is not None and not isinstance(department, str):
        raise RulePackError(f"{where}: 'department' must be a string")
    keywords = _keywords(raw.get("keywords"), where) if raw.get("keywords") is not None else None
    regexes = tuple(_regex(p, where) for p in _strings(raw.get("regex") or [], f"{where}: regex"))
    count = _count(raw["count"], where) if raw.get("count") is not None else None
    if keywords is None and not regexes and count is None:
        raise RulePackError(f"{where}: give keywords, regex or count")
    return Rule(rule_id, tag, department, keywords, regexes, count)


def _strings(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RulePackError(f"{where}: expected a list of non-empty strings")
    return value


def _keywords(value: Any, where: str) -> re.Pattern[str]:
    parts = []
    for kw in _strings(value, f"{where}: keywords"):
        prefix = kw.endswith("*")
        word = fold(kw.rstrip("*").strip())
        if has_cjk(word):
            parts.append(re.escape(word))
        else:
            parts.append(r"(?<![0-9a-z])" + re.escape(word) + ("" if prefix else r"(?![0-9a-z])"))
    # longest first, so the reported keyword is the most specific one
    return re.compile("|".join(sorted(parts, key=len, reverse=True)))


def _regex(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(simplify(pattern), re.IGNORECASE)
    except re.error as exc:
        raise RulePackError(f"{where}: regex {pattern!r} does not compile: {exc}") from None


def _count(raw: Any, where: str) -> CountRule:
    if not isinstance(raw, Mapping) or set(raw) - {"keywords", "at_least", "within_days"}:
        raise RulePackError(f"{where}: count takes keywords, at_least and within_days")
    at_least, days = raw.get("at_least"), raw.get("within_days")
    if not isinstance(at_least, int) or at_least < 1 or not isinstance(days, (int, float)) or days <= 0:
        raise RulePackError(f"{where}: count needs at_least >= 1 and within_days > 0")
    return CountRule(_keywords(raw.get("keywords"), f"{where}: count"), at_least, int(days * DAY_MS))


def tag_text(pack: RulePack, text: str | None, *, wamid: str = "", ts_ms: int = 0,
             counts: CountState | None = None) -> Tagged:
    """Rules that fire on one customer message, and the contact's updated count windows.

    Idempotent per ``wamid``: a message already counted is not counted again (at-least-once)."""
    counts = dict(counts or {})
    if not text:
        return Tagged((), counts)
    folded = fold(text)
    matches: list[Match] = []
    for rule in pack.rules:
        reason = _first_reason(rule, folded)
        if rule.count is not None:
            reason = _count_reason(rule, rule.count, folded, wamid, ts_ms, counts) or reason
        if reason:
            matches.append(Match(rule.id, rule.tag, rule.department, reason, pack.name, pack.version))
    return Tagged(tuple(matches), counts)


def _first_reason(rule: Rule, folded: str) -> str | None:
    if rule.keywords is not None and (m := rule.keywords.search(folded)):
        return f"keyword '{m.group(0)}'"
    for regex in rule.regexes:
        if m := regex.search(folded):
            return f"regex '{regex.pattern}' matched '{m.group(0)}'"
    return None


def _count_reason(rule: Rule, count: CountRule, folded: str, wamid: str, ts_ms: int,
                  counts: CountState) -> str | None:
    found = count.pattern.findall(folded)
    if not found:
        return None
    hits = tuple(h for h in counts.get(rule.id, ()) if h[0] > ts_ms - count.within_ms)
    if not any(h[1] == wamid for h in hits) or not wamid:
        hits = tuple(sorted((*hits, (ts_ms, wamid, len(found)))))
    counts[rule.id] = hits[-_KEEP_HITS:]
    total = sum(h[2] for h in hits if ts_ms - count.within_ms < h[0] <= ts_ms)
    if total < count.at_least:
        return None
    days = count.within_ms / DAY_MS
    return f"count '{found[0]}' {total} in {days:g} days (>= {count.at_least})"


_KEEP_HITS = 64  # mentions kept per rule and contact: enough for any sensible at_least


def explain(pack: RulePack, text: str) -> list[tuple[Rule, bool, str | None]]:
    """Every rule, whether it fires on ``text`` alone, and why; for ``scrm rules test``."""
    folded = fold(text)
    out: list[tuple[Rule, bool, str | None]] = []
    for rule in pack.rules:
        reason = _first_reason(rule, folded)
        fires = reason is not None
        if rule.count is not None and (found := rule.count.pattern.findall(folded)):
            n, days = len(found), rule.count.within_ms / DAY_MS
            fires = fires or n >= rule.count.at_least
            counted = (f"count '{found[0]}' {n} in this message; fires at {rule.count.at_least} "
                       f"within {days:g} days of the contact's messages")
            reason = f"{reason}; {counted}" if reason else counted
        out.append((rule, fires, reason))
    return out


def departments(matches: Sequence[Match]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.department for m in matches if m.department))
