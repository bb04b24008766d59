"""Forward an event once per natural id (DESIGN §4), with the seen-ids kept in a Faust table.

An id is marked seen after its event was handed to the producer, with the offset of the source
record that marked it. A SIGKILL can keep the mark (RocksDB is local and survives it) and lose the
event (still in the producer's buffer); the source record then comes again from the last committed
offset, finds its own mark, and is forwarded again (``<counter>_redelivered``): a copy from any
other record (a Meta retry, a re-ingested file) is a duplicate. Every later stage is idempotent.
The table must belong to the agent consuming the event's source partition: Faust writes a key's
changelog to the partition of the event being processed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams.stats import Stats
from streams.topics import BoundTopic


async def forward_once(seen: Any, natural_id: bytes, event_time_ms: int, topic: BoundTopic, key: str,
                       record: dict[str, Any], *, source_offset: int, stats: Stats, stage: str, counter: str,
                       also: Sequence[tuple[BoundTopic, dict[str, Any]]] = (), replay: bool = False,
                       headers: list[tuple[str, bytes]] | None = None) -> bool:
    """Send ``record`` (and each of ``also``, same key, with ``headers``) unless ``natural_id`` was
    forwarded before by another source record; counts ``<counter>_out``, ``_deduplicated`` or
    ``_redelivered``. A ``replay`` sends it again (``<counter>_replayed``). True when it was sent."""
    mark = seen.get(natural_id)
    redelivered = mark is not None and marked_by(mark) == source_offset
    if mark is not None and not replay and not redelivered:
        stats.add(stage, f"{counter}_deduplicated")
        return False
    await topic.send(key, record, headers)
    for other, value in also:
        await other.send(key, value, headers)
    if mark is None:
        seen[natural_id] = f"{event_time_ms}@{source_offset}".encode()
    stats.add(stage, f"{counter}_out" if mark is None else f"{counter}_redelivered" if redelivered
              else f"{counter}_replayed")
    return True


def marked_by(mark: bytes) -> int | None:
    """The source offset in a seen-mark ``<event time ms>@<offset>`` (None in a mark without one)."""
    _, at, offset = mark.partition(b"@")
    return int(offset) if at else None
