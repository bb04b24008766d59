"""Reading loosely typed JSON values from vendor payloads. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from processors.errors import InvalidEvent


def load_json_any(body: bytes) -> Any:
    """Any JSON document; ``InvalidEvent("bad_json")`` when the bytes are not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidEvent("bad_json", f"body is not valid JSON ({type(exc).__name__})") from exc


def opt_str(value: Any) -> str | None:
    """A non-empty string, a number as text, else None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def opt_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def obj(value: Any) -> Mapping[str, Any]:
    """The value when it is a JSON object, else an empty mapping."""
    return value if isinstance(value, dict) else {}


def dumps(value: Any) -> str | None:
    """Compact JSON keeping non-ASCII text as is (CJK payloads stay readable), None for None."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def first_error(errors: Any) -> tuple[int | None, str | None]:
    """(code, title) of the first entry of a Meta ``errors`` list."""
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        err = errors[0]
        return opt_int(err.get("code")), opt_str(err.get("title")) or opt_str(err.get("message"))
    return None, None
