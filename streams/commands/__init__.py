"""``scrm`` project commands, registered as Faust app commands. Importing registers them."""

from streams.commands import clock, config, contacts, dlq, ingest, offsets, ops, phone, receiver, rules, sql, webhook  # noqa: F401
