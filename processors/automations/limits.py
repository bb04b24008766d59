"""The ``policy:`` and ``churn:`` sections of an automation file -> PolicyRules, ChurnRules. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from typing import Any

from processors.automations import AutomationError
from processors.churn import ChurnRules
from processors.policy import PolicyRules

_SECOND, _HOUR, _DAY = 1000, 3_600_000, 86_400_000
# name in the file -> (PolicyRules field, unit in ms or None for a count)
_POLICY = {"window_hours": ("window_ms", _HOUR), "human_pause_hours": ("human_pause_ms", _HOUR),
           "marketing_per_day": ("marketing_per_day", None), "automated_per_day": ("automated_per_day", None),
           "promotion_every_days": ("promotion_every_ms", _DAY), "content_per_month": ("content_per_month", None),
           "event_spacing_hours": ("event_spacing_ms", _HOUR),
           "marketing_limit_backoff_hours": ("marketing_limit_backoff_ms", _HOUR),
           "pair_backoff_seconds": ("pair_backoff_ms", _SECOND),
           "throughput_backoff_seconds": ("throughput_backoff_ms", _SECOND)}
_CHURN = ("churned_days", "high_intent_inquiries", "high_intent_days", "potential_max", "window_days",
          "rate_drop_at_risk", "score_at_risk", "negative_sentiment", "unread_after_hours")


def policy_rules(section: Any, source: str = "automations") -> PolicyRules:
    values: dict[str, Any] = {}
    for name, raw in _section(section, "policy", source).items():
        if name == "quiet_hours":
            values["quiet_start"], values["quiet_end"] = _quiet(raw, source)
            continue
        if name not in _POLICY:
            raise AutomationError(f"{source}: policy.{name} is not a setting (known: quiet_hours, "
                                  f"{', '.join(_POLICY)})")
        field, unit = _POLICY[name]
        number = _number(raw, f"{source}: policy.{name}")
        values[field] = int(number * unit) if unit else int(number)
    return PolicyRules(**values)


def churn_rules(section: Any, source: str = "automations") -> ChurnRules:
    values: dict[str, Any] = {}
    for name, raw in _section(section, "churn", source).items():
        if name not in _CHURN:
            raise AutomationError(f"{source}: churn.{name} is not a setting (known: {', '.join(_CHURN)})")
        number = _number(raw, f"{source}: churn.{name}")
        values[name] = int(number) if name in ("high_intent_inquiries", "potential_max") else float(number)
    return ChurnRules(**values)


def _section(section: Any, name: str, source: str) -> Mapping[str, Any]:
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise AutomationError(f"{source}: '{name}' must be a mapping of settings")
    return section


def _number(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
        raise AutomationError(f"{where} must be a number >= 0, not {raw!r}")
    return float(raw)


def _quiet(raw: Any, source: str) -> tuple[time, time]:
    try:
        start, end = (time.fromisoformat(p.strip()) for p in str(raw).split("-"))
    except ValueError:
        raise AutomationError(f"{source}: policy.quiet_hours is 'HH:MM-HH:MM' (e.g. \"22:00-08:00\"), "
                              f"not {raw!r}") from None
    return start, end
