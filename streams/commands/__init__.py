"""``scrm`` project commands, registered as Faust app commands. Importing registers them."""

from streams.commands import (  # noqa: F401
    clock,
    config,
    contacts,
    dlq,
    erase,
    ingest,
    offsets,
    ops,
    phone,
    receiver,
    replay,
    rules,
    sql,
    webhook,
)
