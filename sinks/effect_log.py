"""The key -> JSON document store behind the sender's outbox and the CRM writer's audit: a dict in
tests, a Faust table (``streams.json_store.JsonTable``) in the worker."""

from __future__ import annotations

from typing import Any, Protocol


class EffectLog(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def __setitem__(self, key: str, value: dict[str, Any]) -> None: ...
