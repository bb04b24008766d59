"""Unit tests cannot touch infrastructure by accident: opening a network connection fails."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def guard(*args, **kwargs):
        raise RuntimeError("unit tests must not open network connections; use tests/integration")

    monkeypatch.setattr(socket.socket, "connect", guard)
    monkeypatch.setattr(socket.socket, "connect_ex", guard)
