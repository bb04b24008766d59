"""Faust agents: thin wiring (decode -> processor -> emit or sink). Importing registers them."""

from streams.agents import (  # noqa: F401
    automation,
    crm_normalize,
    crm_writer,
    identity,
    normalize,
    sender,
    sink,
    state,
)
