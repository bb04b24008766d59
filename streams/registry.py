"""A small Confluent Schema Registry client (REST API v1): register a subject's schema, fetch by id.

Results are cached for the life of the process; the codec is synchronous, so this client is too
(it talks to the registry only the first time a subject or id is seen)."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
from fastavro import parse_schema

from streams.errors import RegistryError

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryClient:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout,
                                  headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE})
        self._ids: dict[tuple[str, str], int] = {}
        self._schemas: dict[int, Any] = {}
        self._lock = threading.Lock()

    def register(self, subject: str, schema: str) -> int:
        key = (subject, schema)
        with self._lock:
            if key in self._ids:
                return self._ids[key]
            body = self._call("POST", f"/subjects/{subject}/versions", json={"schema": schema})
            self._ids[key] = int(body["id"])
            return self._ids[key]

    def schema(self, schema_id: int) -> Any:
        with self._lock:
            if schema_id not in self._schemas:
                body = self._call("GET", f"/schemas/ids/{schema_id}")
                # with fastavro's parse hint: not parsed again for every record
                self._schemas[schema_id] = parse_schema(json.loads(body["schema"]))
            return self._schemas[schema_id]

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RegistryError(f"schema registry unreachable ({type(exc).__name__}): {exc}") from exc
        if response.status_code >= 400:
            raise RegistryError(f"schema registry {method} {path} -> {response.status_code}: {response.text[:300]}")
        result: dict[str, Any] = response.json()
        return result
