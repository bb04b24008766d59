"""Loading the tagging rule pack: the file named by SCRM_RULES_FILE, or the packaged default."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import yaml

from processors.tagging import RulePack, RulePackError, load_pack
from streams.errors import ConfigError

DEFAULT_PACK = "processors/rulepacks/default.yaml"


def read_pack(path: str | Path | None) -> RulePack:
    """The rule pack at ``path`` (None: the default pack); ConfigError says what is wrong."""
    if path is None:
        text, source = (files("processors") / "rulepacks" / "default.yaml").read_text(encoding="utf-8"), DEFAULT_PACK
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"rule pack {source}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"rule pack {source}: cannot read it: {exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"rule pack {source}: not valid YAML: {exc}") from None
    try:
        return load_pack(doc, source=source)
    except RulePackError as exc:
        raise ConfigError(str(exc)) from None
