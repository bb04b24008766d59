"""Faust agents: thin wiring (decode -> processor -> emit or sink). Importing registers them."""

from streams.agents import crm_normalize, normalize, sink, state  # noqa: F401
