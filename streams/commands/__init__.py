"""``scrm`` project commands, registered as Faust app commands. Importing registers them."""

from streams.commands import config, ingest, ops, sql  # noqa: F401
