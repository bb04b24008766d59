"""``scrm offsets``: a consumer group's position and lag per partition, and resetting it.

A reset moves where the group's workers start reading; it refuses while the group has live
members (their next commit would overwrite it). Tables keep their state and every output is
idempotent, so reading again re-derives the same records; ``scrm replay`` is the tool for
re-processing a time range with side effects suppressed."""

from __future__ import annotations

from typing import Any

import click
from aiokafka import TopicPartition

from streams.app import app, consumed_topics, settings
from streams.commands.errors import fail, time_argument
from streams.commands.output import table
from streams.faust_cli import argument, option
from streams.kafka_admin import BrokerUnavailable, commit_offsets, group_lag, group_members, target_offsets


@app.command(
    argument("action", type=click.Choice(["show", "reset"]), required=False, default="show"),
    option("--group", type=str, default=None, help="consumer group (default: the app id, SCRM_APP_ID)"),
    option("--topic", "topic_names", type=str, multiple=True,
           help="full topic name (repeatable; default: every topic the worker reads)"),
    option("--to-datetime", type=str, default=None,
           help="reset: the first record at or after this time (ISO-8601 with a timezone, or epoch ms)"),
    option("--to-earliest", is_flag=True, default=False, help="reset: the oldest record kept"),
    option("--to-latest", is_flag=True, default=False, help="reset: the end (skip everything not yet read)"),
)
async def offsets(self: Any, action: str, group: str | None, topic_names: tuple[str, ...], to_datetime: str | None,
                  to_earliest: bool, to_latest: bool) -> None:
    """show (default): committed offset, end and lag per partition. reset: move the group (stop its workers first)."""
    group = group or settings.app_id
    names = list(topic_names) or consumed_topics()
    try:
        lag = await group_lag(settings, group, names)
        if action == "show":
            rows = [[p.topic, p.partition, "-" if p.committed is None else p.committed, p.end, p.lag] for p in lag]
            print(table(["topic", "partition", "committed", "end", "lag"], rows))
            print(f"group {group}: total lag {sum(p.lag for p in lag)}")
            return
        chosen = [name for name, on in (("--to-datetime", to_datetime), ("--to-earliest", to_earliest),
                                        ("--to-latest", to_latest)) if on]
        if len(chosen) != 1:
            fail("offsets", "reset needs exactly one of --to-datetime TIME, --to-earliest, --to-latest")
        members = await group_members(settings, group)
        if members:
            fail("offsets", f"group {group} has {len(members)} live member(s) ({', '.join(sorted(members)[:3])}); "
                            "stop its workers first (make demo-stop, docker compose stop worker), then run this again")
        tps = [TopicPartition(p.topic, p.partition) for p in lag]
        if not tps:
            fail("offsets", f"none of the topics exist: {', '.join(names)}")
        at_ms = time_argument("offsets", "--to-datetime", to_datetime) if to_datetime else None
        to = "datetime" if to_datetime else "earliest" if to_earliest else "latest"
        targets = await target_offsets(settings, tps, to=to, at_ms=at_ms)
        await commit_offsets(settings, group, targets)
    except BrokerUnavailable as exc:
        fail("offsets", str(exc), 1)
    before = {(p.topic, p.partition): "-" if p.committed is None else p.committed for p in lag}
    rows = [[tp.topic, tp.partition, before[(tp.topic, tp.partition)], offset]
            for tp, offset in sorted(targets.items())]
    print(table(["topic", "partition", "was", "now"], rows))
    print(f"group {group}: reset {len(rows)} partition(s) {chosen[0].removeprefix('--')}")

