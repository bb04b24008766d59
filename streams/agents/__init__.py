"""Faust agents: thin wiring (decode -> processor -> emit or sink). Importing registers them."""

from streams.agents import automation, crm_normalize, identity, normalize, sender, sink, state  # noqa: F401
