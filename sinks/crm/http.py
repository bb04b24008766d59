"""One pooled httpx client for a CRM API, with the retry rules every CRM write uses:

* the request budget (``WindowBudget``): HubSpot's rolling 10-second window, and nothing before a
  429's ``Retry-After`` (or 10 s for HubSpot's ``TEN_SECONDLY_ROLLING`` policy without one);
* 429 waits as told and tries again (it is not a failure); 5xx, connection failures and timeouts
  are retried with bounded, jittered exponential back-off; each attempt is logged in
  ``Call.log`` for the audit;
* any other 4xx is final: the caller dead-letters it with the response body.

``idempotent=False`` (creating tasks or notes): a timeout after the request was sent is not
retried, because HubSpot may have created the object; the call comes back ``ambiguous``."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from processors.crm_write import WindowBudget

logger = logging.getLogger(__name__)


@dataclass
class Call:
    status: int | None = None
    body: bytes = b""
    log: list[str] = field(default_factory=list)  # one entry per attempt: "429", "500", "timeout", "200"
    ambiguous: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def rate_limited(self) -> int:
        return sum(1 for e in self.log if e == "429")


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    max_backoff_s: float = 30.0
    daily_limit_pause_s: float = 900.0  # a DAILY 429 without Retry-After: try again this much later


class CrmHttp:
    def __init__(self, base_url: str, headers: dict[str, str], *, budget: WindowBudget | None = None,
                 policy: RetryPolicy | None = None, timeout_s: float = 30.0,
                 clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep, rng: random.Random | None = None) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers,
                                         timeout=httpx.Timeout(timeout_s, connect=min(5.0, timeout_s)),
                                         limits=httpx.Limits(max_connections=10, max_keepalive_connections=5))
        self.budget = budget or WindowBudget()
        self.policy = policy or RetryPolicy()
        self.clock_ms, self.sleep = clock_ms, sleep
        self.rng = rng or random.Random()
        self.requests = 0

    async def post(self, path: str, body: Any, *, idempotent: bool, headers: dict[str, str] | None = None) -> Call:
        call, failures = Call(), 0
        while failures < self.policy.max_attempts:
            wait_ms = self.budget.wait_ms(self.clock_ms())
            if wait_ms:
                await self.sleep(wait_ms / 1000)
            self.budget.record(self.clock_ms())
            self.requests += 1
            try:
                response = await self._client.post(path, json=body, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                call.log.append("unreachable")
                logger.warning("CRM %s unreachable (%s)", path, type(exc).__name__)
            except httpx.TransportError as exc:
                call.log.append("timeout")
                if not idempotent:
                    call.ambiguous = True
                    return call
                logger.warning("CRM %s: %s", path, type(exc).__name__)
            else:
                call.status, call.body = response.status_code, response.content
                call.log.append(str(response.status_code))
                now = self.clock_ms()
                self.budget.observe_headers(response.headers.get("x-hubspot-ratelimit-remaining"),
                                            response.headers.get("x-hubspot-ratelimit-interval-milliseconds"), now)
                if response.status_code == 429:  # not a failure: wait as told, however long it takes
                    self.budget.hold(now + int(self._retry_after_s(response) * 1000))
                    logger.warning("CRM %s: 429 rate limited, waiting", path)
                    continue
                if response.status_code < 500:
                    return call
                logger.warning("CRM %s: %d", path, response.status_code)
            failures += 1
            if failures < self.policy.max_attempts:
                await self.sleep(self._backoff(failures))
        return call

    def _retry_after_s(self, response: httpx.Response) -> float:
        header = response.headers.get("retry-after")
        if header:
            try:
                return max(0.0, float(header))
            except ValueError:
                pass
        try:
            policy = json.loads(response.content).get("policyName")
        except (ValueError, AttributeError):
            policy = None
        return self.policy.daily_limit_pause_s if policy == "DAILY" else 10.0

    def _backoff(self, attempt: int) -> float:
        return float(min(self.policy.max_backoff_s, 0.25 * 2.0 ** attempt) * (0.5 + self.rng.random() / 2))

    async def aclose(self) -> None:
        await self._client.aclose()
