"""WhatsApp Cloud API client: ``POST {base}/{version}/{phone_number_id}/messages`` over one
pooled httpx connection set.

Every outcome is one of: sent (a wamid), an error response (Meta's error object; the message was
not sent), *not sent* transport failures (the request never left: connection refused, connect
timeout), and *ambiguous* ones (the request may have reached Meta: read timeout, connection
dropped mid-response). The sender never retries an ambiguous one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from processors.wa_send import ApiError, parse_error, sent_wamid

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"


@dataclass(frozen=True, slots=True)
class SendResponse:
    http_status: int | None
    wamid: str | None = None
    error: ApiError | None = None
    ambiguous: bool = False
    transport_error: str | None = None
    retry_after_s: float | None = None


class CloudApi:
    def __init__(self, token: str, *, base_url: str = DEFAULT_BASE_URL, version: str = DEFAULT_VERSION,
                 timeout_s: float = 20.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._version = version
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=httpx.Timeout(timeout_s, connect=min(5.0, timeout_s)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10))

    async def send(self, phone_number_id: str, body: dict[str, Any]) -> SendResponse:
        try:
            response = await self._client.post(f"/{self._version}/{phone_number_id}/messages", json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return SendResponse(None, transport_error=f"{type(exc).__name__}: not sent")
        except httpx.TransportError as exc:  # read/write timeout, dropped connection: it may have been sent
            return SendResponse(None, ambiguous=True, transport_error=f"{type(exc).__name__}: outcome unknown")
        if response.status_code == 200:
            wamid = sent_wamid(response.content)
            if wamid:
                return SendResponse(200, wamid=wamid)
            return SendResponse(200, ambiguous=True, transport_error="200 without a message id")
        return SendResponse(response.status_code, error=parse_error(response.content),
                            retry_after_s=_retry_after(response.headers.get("retry-after")))

    async def aclose(self) -> None:
        await self._client.aclose()


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
