"""Forward an event once per natural id (DESIGN §4), with the seen-ids kept in a Faust table.

An id is marked seen only after its event was handed to the producer (Faust flushes the producer
before it commits offsets), so a crash in between re-emits rather than loses it; sinks are
idempotent. The table must belong to the agent consuming the event's source partition: Faust
writes a key's changelog to the partition of the event being processed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams.stats import Stats
from streams.topics import BoundTopic


async def forward_once(seen: Any, natural_id: bytes, event_time_ms: int, topic: BoundTopic, key: str,
                       record: dict[str, Any], *, stats: Stats, stage: str, counter: str,
                       also: Sequence[tuple[BoundTopic, dict[str, Any]]] = (), replay: bool = False,
                       headers: list[tuple[str, bytes]] | None = None) -> bool:
    """Send ``record`` (and each of ``also``, same key, with ``headers``) unless ``natural_id`` was
    forwarded before; counts ``<counter>_out`` or ``<counter>_deduplicated``. A ``replay`` sends
    it again (``<counter>_replayed``): every later stage is idempotent. True when it was sent."""
    known = seen.get(natural_id) is not None
    if known and not replay:
        stats.add(stage, f"{counter}_deduplicated")
        return False
    await topic.send(key, record, headers)
    for other, value in also:
        await other.send(key, value, headers)
    if not known:
        seen[natural_id] = str(event_time_ms).encode()
    stats.add(stage, f"{counter}_replayed" if known else f"{counter}_out")
    return True
