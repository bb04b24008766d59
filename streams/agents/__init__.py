"""Faust agents: thin wiring (decode -> processor -> emit or sink). Importing registers them."""

from streams.agents import normalize, sink  # noqa: F401
