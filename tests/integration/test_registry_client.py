"""The Confluent wire format through the real RegistryClient over HTTP."""

import struct

import pytest

from streams.catalog import load_catalog
from streams.codec import ConfluentFraming
from streams.errors import DecodeError, RegistryError
from streams.registry import RegistryClient
from tests.integration.registry_server import RegistryServer

CATALOG = load_catalog()
VALUE = {"source": "whatsapp", "received_at_ms": 1795136001000, "headers": {"content-type": "application/json"},
         "body": b'{"object":"whatsapp_business_account"}', "body_sha256": "x", "signature_verified": True,
         "request_id": "r1"}


def test_confluent_framing_registers_once_and_round_trips():
    with RegistryServer() as server:
        framing = ConfluentFraming(CATALOG, RegistryClient(server.url))
        first = framing.encode("WebhookEnvelope", "scrm.raw.whatsapp-value", VALUE)
        framing.encode("WebhookEnvelope", "scrm.raw.whatsapp-value", VALUE)
        assert first[:1] == b"\x00" and struct.unpack(">I", first[1:5]) == (1,)
        assert server.requests.count("POST /subjects/scrm.raw.whatsapp-value/versions") == 1  # cached

        reader = ConfluentFraming(CATALOG, RegistryClient(server.url))  # another process: fetches by id
        assert reader.decode("WebhookEnvelope", "scrm.raw.whatsapp-value", first)["body"] == VALUE["body"]
        assert "GET /schemas/ids/1" in server.requests
        with pytest.raises(DecodeError, match="not Confluent wire format"):
            reader.decode("WebhookEnvelope", "s", b"\xc3\x01rest")


def test_unknown_schema_id_and_unreachable_registry_are_clear_errors():
    with RegistryServer() as server:
        client = RegistryClient(server.url)
        with pytest.raises(RegistryError, match="404"):
            client.schema(99)
    with pytest.raises(RegistryError, match="unreachable"):
        RegistryClient(server.url, timeout=1).register("s", '"string"')
