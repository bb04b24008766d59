"""``streams.kafka_admin.oldest_pending_ms`` (where the leader's clock tick may put event time)
against a real broker: the Kafka timestamp of the oldest record a group has not committed."""

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic, RecordsToDelete

from streams.kafka_admin import oldest_pending_ms
from streams.settings import Settings

pytestmark = pytest.mark.kafka


async def _topic_with(bootstrap: str, topic: str, stamps: dict[int, list[int]]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=len(stamps), replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for partition, times in stamps.items():
            for ts in times:
                await producer.send_and_wait(topic, b"v", key=b"k", partition=partition, timestamp_ms=ts)
    finally:
        await producer.stop()


async def _commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def test_the_oldest_uncommitted_record_across_partitions_then_none_when_caught_up(kafka_bootstrap, unique):
    topic, group = f"it.pending.{unique}", f"it-pending-{unique}"
    settings = Settings(kafka_bootstrap=kafka_bootstrap)
    # partition 1's first record is older than partition 0's: the answer is a minimum, not the first partition's
    await _topic_with(kafka_bootstrap, topic, {0: [3_000, 4_000, 9_000], 1: [2_000, 5_000]})
    p0, p1 = TopicPartition(topic, 0), TopicPartition(topic, 1)

    assert await oldest_pending_ms(settings, group, [topic]) == 2_000  # nothing committed: every record pending

    await _commit(kafka_bootstrap, group, {p0: 1, p1: 2})  # p1 caught up; p0's next record is 4,000
    assert await oldest_pending_ms(settings, group, [topic]) == 4_000

    await _commit(kafka_bootstrap, group, {p0: 2})
    assert await oldest_pending_ms(settings, group, [topic]) == 9_000  # record time, not wall time

    await _commit(kafka_bootstrap, group, {p0: 3})
    assert await oldest_pending_ms(settings, group, [topic]) is None


async def test_records_gone_to_retention_are_not_pending(kafka_bootstrap, unique):
    topic, group = f"it.retained.{unique}", f"it-retained-{unique}"
    settings = Settings(kafka_bootstrap=kafka_bootstrap)
    await _topic_with(kafka_bootstrap, topic, {0: [1_000, 2_000, 3_000]})
    tp = TopicPartition(topic, 0)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.delete_records({tp: RecordsToDelete(before_offset=1)})
        # the group never committed: its first record is the first one the log still has
        assert await oldest_pending_ms(settings, group, [topic]) == 2_000
        await admin.delete_records({tp: RecordsToDelete(before_offset=3)})
        assert await oldest_pending_ms(settings, group, [topic]) is None  # nothing left to read: not a wait
    finally:
        await admin.close()
