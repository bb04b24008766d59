"""What ``scrm dlq redrive`` can do with a dead letter. Pure: the command does the I/O.

A letter read from a topic goes back to that topic, original key and bytes, so the stage reads
it again (every stage is idempotent, so the other readers of that topic take it as the duplicate
it is). A line rejected by ``scrm ingest`` is parsed again and, if it is fixed now, produced to
its raw topic. Receiver rejections (bad signatures) and final side effects are not redriven."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

# stages whose failures are final by design: a failed send or CRM write is never repeated by a
# redelivered command (the outbox and the write audit make effects at-most-once)
FINAL_STAGES = {"sender": "a failed WhatsApp send is final in the outbox (a send happens at most once)",
                "crm.writer": "a failed CRM write is final in the write audit (each write_id is applied once)"}


class Route(StrEnum):
    TOPIC = "redrive"  # produce the original bytes to the topic they came from
    INGEST = "re-ingest"  # parse the original line again and produce it to its raw topic
    REFUSE = "not redrivable"


@dataclass(frozen=True, slots=True)
class Plan:
    route: Route
    target: str | None  # the topic for TOPIC; None otherwise
    detail: str


def plan(stage: str, source_topic: str, known_topics: Collection[str]) -> Plan:
    if source_topic.startswith("http:"):
        return Plan(Route.REFUSE, None, "rejected by the webhook receiver (signature, size or JSON) before reaching "
                                        "Kafka: the sender must retry it, or ingest the body with `scrm ingest`")
    if source_topic.startswith("file:"):
        return Plan(Route.INGEST, None, f"line from {source_topic[5:]} parsed again and produced to its raw topic")
    if stage in FINAL_STAGES:
        return Plan(Route.REFUSE, None, f"{FINAL_STAGES[stage]}; trigger the action again instead")
    if source_topic not in known_topics:
        return Plan(Route.REFUSE, None, f"{source_topic} is not a topic of this app (another SCRM_TOPIC_PREFIX?)")
    return Plan(Route.TOPIC, source_topic, f"original bytes sent back to {source_topic} for stage {stage}")


@dataclass(frozen=True, slots=True)
class LetterFilter:
    """The list/redrive filters; every filter given must hold."""

    ids: frozenset[str] = frozenset()
    stage: str | None = None
    error_class: str | None = None
    topic: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None

    @property
    def empty(self) -> bool:
        return not self.ids and self == LetterFilter()

    def __call__(self, dlq_id: str, record: dict[str, object], failed_ms: int) -> bool:
        return ((not self.ids or dlq_id in self.ids) and self.stage in (None, record["stage"])
                and self.error_class in (None, record["error_class"]) and self.topic in (None, record["topic"])
                and (self.since_ms is None or failed_ms >= self.since_ms)
                and (self.until_ms is None or failed_ms < self.until_ms))
