"""Faust agents: thin wiring (decode -> processor -> emit or sink). Importing registers them."""

from streams.agents import automation, crm_normalize, identity, normalize, sink, state  # noqa: F401
