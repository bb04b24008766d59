"""Loading configuration files: the tagging rule pack (SCRM_RULES_FILE), the sentiment lexicon
(SCRM_SENTIMENT_FILE) and the automations with the policy gate's and churn's limits
(SCRM_AUTOMATIONS_FILE); each defaults to the packaged file. ConfigError says what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from processors.automations import AutomationError, Automations, load_automations
from processors.automations.limits import churn_rules, policy_rules
from processors.churn import ChurnRules
from processors.policy import PolicyRules
from processors.tagging import RulePack, RulePackError, load_pack
from streams.errors import ConfigError

DEFAULT_PACK = "processors/rulepacks/default.yaml"


@dataclass(frozen=True)
class AutomationConfig:
    automations: Automations
    policy: PolicyRules
    churn: ChurnRules


def _read_yaml(path: str | Path | None, resource: tuple[str, ...], what: str) -> tuple[Any, str]:
    if path is None:
        text, source = files("processors").joinpath(*resource).read_text(encoding="utf-8"), "processors/" + "/".join(
            resource)
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{what} {source}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{what} {source}: cannot read it: {exc}") from None
    try:
        return yaml.safe_load(text), source
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {source}: not valid YAML: {exc}") from None


def read_pack(path: str | Path | None, default: tuple[str, ...] = ("rulepacks", "default.yaml")) -> RulePack:
    """The rule pack at ``path`` (None: the packaged ``default``)."""
    doc, source = _read_yaml(path, default, "rule pack")
    try:
        return load_pack(doc, source=source)
    except RulePackError as exc:
        raise ConfigError(str(exc)) from None


def read_lexicon(path: str | Path | None) -> RulePack:
    """The sentiment lexicon (a rule pack with ``positive`` and ``negative`` rules)."""
    pack = read_pack(path, ("rulepacks", "sentiment.yaml"))
    if {r.tag for r in pack.rules} != {"positive", "negative"}:
        raise ConfigError(f"sentiment lexicon {path}: needs exactly the tags positive and negative")
    return pack


def read_automations(path: str | Path | None) -> AutomationConfig:
    doc, source = _read_yaml(path, ("automations", "default.yaml"), "automations")
    try:
        return AutomationConfig(load_automations(doc, source=source),
                                policy_rules(doc.get("policy"), source), churn_rules(doc.get("churn"), source))
    except (AutomationError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
