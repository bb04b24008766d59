"""A local WhatsApp Cloud API (``POST /{version}/{phone_number_id}/messages``) that enforces the
documented contract: bearer token (190 otherwise), ``messaging_product``, the shape of text,
template and interactive messages (100 / 131008 / 131009 when wrong), ``biz_opaque_callback_data``
at most 512 characters, the pair rate limit (131056 when one recipient gets messages closer than
``pair_gap_s``) and the per-number throughput (130429 above ``mps``). Errors use Meta's body:
``{"error": {"message", "type", "code", "error_data": {"messaging_product", "details"}, "fbtrace_id"}}``.

Tests script failures (``fail_next``), slow answers (``delay_next``) and read what was accepted
(``sends``)."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.vendors.http_server import ThreadedServer

TITLES = {100: "Invalid parameter", 131008: "Required parameter is missing", 131009: "Parameter value is not valid",
          190: "Access token has expired", 130429: "Rate limit hit",
          131056: "(Business Account, Consumer Account) pair rate limit hit", 131000: "Something went wrong",
          131026: "Message Undeliverable", 131047: "Re-engagement message", 132001: "Template does not exist",
          131031: "Account has been locked", 1: "API Unknown", 2: "API Service"}
INTERACTIVE_TYPES = {"button", "list", "cta_url", "product", "product_list", "flow", "location_request_message"}
MESSAGE_TYPES = {"text", "template", "interactive", "image", "audio", "video", "document", "sticker", "location",
                 "contacts", "reaction"}


@dataclass
class Scripted:
    code: int
    http_status: int = 400
    retry_after: str | None = None


@dataclass
class CloudApiState:
    token: str = "test-token"
    mps: float = 80.0
    pair_gap_s: float = 0.0  # 0: no pair limit
    sends: list[dict[str, Any]] = field(default_factory=list)  # accepted requests, with the wamid given
    requests: int = 0
    failed_at: list[tuple[int, float]] = field(default_factory=list)  # (code, monotonic time) of scripted failures
    failures: list[Scripted] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    _last_to: dict[tuple[str, str], float] = field(default_factory=dict)
    _window: dict[str, list[float]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, code: int, times: int = 1, http_status: int = 400, retry_after: str | None = None) -> None:
        with self.lock:
            self.failures += [Scripted(code, http_status, retry_after)] * times

    def delay_next(self, seconds: float) -> None:
        with self.lock:
            self.delays.append(seconds)

    def sent_to(self, callback: str) -> list[dict[str, Any]]:
        with self.lock:
            return [s for s in self.sends if s["body"].get("biz_opaque_callback_data") == callback]


def error(code: int, http_status: int = 400, details: str | None = None,
          headers: dict[str, str] | None = None) -> web.Response:
    title = TITLES.get(code, "Error")
    body = {"error": {"message": f"(#{code}) {title}", "type": "OAuthException", "code": code,
                      "error_data": {"messaging_product": "whatsapp", "details": details or title},
                      "fbtrace_id": f"A{code}trace"}}
    return web.json_response(body, status=http_status, headers=headers)


def _shape_error(body: Any) -> web.Response | None:
    if not isinstance(body, dict):
        return error(100, details="the body must be a JSON object")
    if body.get("messaging_product") != "whatsapp":
        return error(100, details="messaging_product must be whatsapp")
    if not body.get("to"):
        return error(131008, details="to is required")
    callback = body.get("biz_opaque_callback_data")
    if callback is not None and (not isinstance(callback, str) or len(callback) > 512):
        return error(100, details="biz_opaque_callback_data is a string of at most 512 characters")
    kind = body.get("type", "text")
    if kind not in MESSAGE_TYPES:
        return error(100, details=f"unknown type {kind}")
    obj = body.get(kind)
    if not isinstance(obj, dict):
        return error(131008, details=f"{kind} object is required")
    if kind == "text" and not (isinstance(obj.get("body"), str) and 0 < len(obj["body"]) <= 4096):
        return error(100, details="text.body is required, at most 4096 characters")
    if kind == "template":
        language = obj.get("language")
        if not obj.get("name") or not isinstance(language, dict) or not language.get("code"):
            return error(131008, details="template.name and template.language.code are required")
        components = obj.get("components", [])
        if not isinstance(components, list) or not all(isinstance(c, dict) and c.get("type") for c in components):
            return error(131009, details="template.components is a list of objects with a type")
    if kind == "interactive":
        if obj.get("type") not in INTERACTIVE_TYPES:
            return error(131009, details="interactive.type is not valid")
        if obj["type"] in ("button", "list") and not isinstance(obj.get("action"), dict):
            return error(131008, details="interactive.action is required")
    return None


def make_app(state: CloudApiState) -> web.Application:
    async def messages(request: web.Request) -> web.Response:
        with state.lock:
            state.requests += 1
            delay = state.delays.pop(0) if state.delays else 0.0
        if delay:
            await asyncio.sleep(delay)
        if request.headers.get("Authorization") != f"Bearer {state.token}":
            return error(190, http_status=401, details="Error validating access token")
        try:
            body = await request.json()
        except ValueError:
            return error(100, details="the body is not JSON")
        shape = _shape_error(body)
        if shape is not None:
            return shape
        number, now = request.match_info["number"], time.monotonic()
        with state.lock:
            if state.failures:
                f = state.failures.pop(0)
                state.failed_at.append((f.code, now))
                return error(f.code, f.http_status, headers={"Retry-After": f.retry_after} if f.retry_after else None)
            window = [t for t in state._window.get(number, []) if now - t < 1.0]
            if len(window) >= state.mps:
                return error(130429)
            last = state._last_to.get((number, body["to"]))
            if state.pair_gap_s and last is not None and now - last < state.pair_gap_s:
                return error(131056)
            state._window[number] = [*window, now]
            state._last_to[(number, body["to"])] = now
            wamid = f"wamid.TEST{next(state._ids):08d}"
            state.sends.append({"number": number, "version": request.match_info["version"], "body": body,
                                "wamid": wamid, "at": now})
        return web.json_response({"messaging_product": "whatsapp", "contacts": [{"input": body["to"],
                                  "wa_id": body["to"]}], "messages": [{"id": wamid}]})

    app = web.Application()
    app.router.add_post("/{version}/{number}/messages", messages)
    return app


class CloudApiServer(ThreadedServer):
    def __init__(self, state: CloudApiState | None = None) -> None:
        self.state = state or CloudApiState()
        super().__init__(lambda: make_app(self.state))
