"""forward_once: a copy from another source record is a duplicate; the very record that marked an
id, delivered again after a crash (its output may have died in the producer buffer), is forwarded
again; a replay forwards."""

from __future__ import annotations

import asyncio

from streams.dedup import forward_once, marked_by
from streams.stats import Stats


class Recorded:  # what forward_once needs of a BoundTopic: an async send
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    async def send(self, key, record, headers=None):
        self.sent.append((key, record))


def run(seen: dict, offset: int, *, replay: bool = False) -> tuple[bool, Recorded, Stats]:
    topic, stats = Recorded(), Stats()
    sent = asyncio.run(forward_once(seen, b"wamid.1", 1_795_136_000_000, topic, "pn:852", {"n": 1},  # type: ignore[arg-type]
                                    source_offset=offset, stats=stats, stage="normalize", counter="messages",
                                    replay=replay))
    return sent, topic, stats


def test_first_copy_is_forwarded_and_marked_with_its_source_offset():
    seen: dict = {}
    sent, topic, stats = run(seen, 41)
    assert sent and topic.sent == [("pn:852", {"n": 1})]
    assert seen[b"wamid.1"] == b"1795136000000@41" and marked_by(seen[b"wamid.1"]) == 41
    assert stats.snapshot() == {"normalize": {"messages_out": 1}}


def test_a_copy_from_another_record_is_a_duplicate_but_the_marking_record_again_is_a_redelivery():
    seen = {b"wamid.1": b"1795136000000@41"}
    assert run(seen, 97)[0] is False  # a Meta retry or a re-ingest: another record
    sent, topic, stats = run(seen, 41)  # the same record after a SIGKILL: its output may be lost
    assert sent and topic.sent and stats.snapshot() == {"normalize": {"messages_redelivered": 1}}
    assert seen[b"wamid.1"] == b"1795136000000@41"


def test_marks_without_an_offset_deduplicate_and_replays_forward():
    seen = {b"wamid.1": b"1795136000000"}  # written before marks carried offsets
    assert marked_by(seen[b"wamid.1"]) is None
    assert run(seen, 0)[0] is False
    sent, _, stats = run(seen, 500, replay=True)
    assert sent and stats.snapshot() == {"normalize": {"messages_replayed": 1}}
