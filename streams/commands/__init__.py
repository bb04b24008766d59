"""``scrm`` project commands, registered as Faust app commands. Importing registers them."""

from streams.commands import (  # noqa: F401
    clock,
    config,
    contacts,
    dlq,
    erase,
    generate,
    ingest,
    offsets,
    ops,
    phone,
    receiver,
    replay,
    report,
    rules,
    sql,
    webhook,
)
