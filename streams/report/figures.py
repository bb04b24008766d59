"""The figures of `scrm report`, read from the analytics views (docs/analytics.md) for the days
from ``since`` on. One query per figure; each is plain SQL an analyst can run with `scrm sql`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sinks.clickhouse.backend import QueryResult
from sinks.clickhouse.backend import sql_string as lit

Run = Callable[[str], Awaitable[QueryResult]]


def queries(db: str, since: str, tz: str) -> dict[str, str]:
    """name -> SQL; ``since`` is a date (YYYY-MM-DD), ``tz`` an IANA zone for local-time figures."""
    s, z = lit(since), lit(tz)
    return {
        "headline": f"""
            SELECT uniqExactIf(contact_key, direction = 'inbound') AS customers,
                   countIf(direction = 'inbound') AS inbound,
                   countIf(direction = 'outbound' AND sender_kind = 'agent') AS agent_replies,
                   countIf(direction = 'outbound' AND sender_kind = 'bot') AS bot_replies,
                   countIf(direction = 'outbound' AND sender_kind IN ('template', 'campaign')) AS templates,
                   min(ts) AS first_ts, max(ts) AS last_ts
            FROM {db}.messages FINAL WHERE toDate(ts) >= {s}""",
        "receipts": f"""
            SELECT sum(messages) AS messages, sum(delivered) AS delivered, sum(read) AS read, sum(failed) AS failed,
                   round(delivered / messages, 4) AS delivery_rate, round(read / messages, 4) AS read_rate
            FROM {db}.receipts_daily WHERE day >= {s}""",
        "frt": f"""
            SELECT countIf(human_frt_s IS NOT NULL) AS human_n,
                   quantileExactIf(0.5)(human_frt_s, human_frt_s IS NOT NULL) AS human_median_s,
                   quantileExactIf(0.9)(human_frt_s, human_frt_s IS NOT NULL) AS human_p90_s,
                   countIf(bot_frt_s IS NOT NULL) AS bot_n,
                   quantileExactIf(0.5)(bot_frt_s, bot_frt_s IS NOT NULL) AS bot_median_s,
                   quantileExactIf(0.9)(bot_frt_s, bot_frt_s IS NOT NULL) AS bot_p90_s
            FROM {db}.first_response_times WHERE day >= {s}""",
        "frt_trend": f"""
            SELECT day, quantileExactIf(0.5)(human_frt_s, human_frt_s IS NOT NULL) AS human_median_s,
                   quantileExactIf(0.9)(human_frt_s, human_frt_s IS NOT NULL) AS human_p90_s,
                   quantileExactIf(0.5)(bot_frt_s, bot_frt_s IS NOT NULL) AS bot_median_s
            FROM {db}.first_response_times WHERE day >= {s} GROUP BY day ORDER BY day""",
        "frt_agents": f"""
            SELECT ifNull(agent_id, 'unknown') AS agent_id, count() AS answered,
                   quantileExact(0.5)(human_frt_s) AS median_s,
                   quantileExact(0.9)(human_frt_s) AS p90_s
            FROM {db}.first_response_times WHERE day >= {s} AND human_frt_s IS NOT NULL
            GROUP BY agent_id ORDER BY answered DESC""",
        "funnel": f"""
            SELECT sum(contacted) AS contacted, sum(replied) AS replied, sum(resolved) AS resolved,
                   sum(ordered) AS ordered
            FROM {db}.conversation_funnel WHERE day >= {s}""",
        "heatmap": f"SELECT weekday, hour, messages FROM {db}.activity_heatmap(tz = {z}) ORDER BY weekday, hour",
        "templates": f"""
            SELECT template, sum(sent) AS sent, sum(delivered) AS delivered, sum(read) AS read,
                   sum(replied) AS replied, round(delivered / sent, 4) AS delivery_rate,
                   round(read / sent, 4) AS read_rate, round(replied / sent, 4) AS reply_rate
            FROM {db}.template_performance(tz = {z}) GROUP BY template ORDER BY sent DESC""",
        "segments": f"SELECT segment, contacts FROM {db}.segment_sizes ORDER BY contacts DESC",
        "flows": f"""
            SELECT from_segment, to_segment, sum(contacts) AS moves FROM {db}.segment_flows
            WHERE day >= {s} GROUP BY from_segment, to_segment ORDER BY moves DESC LIMIT 12""",
        "decisions": f"""
            SELECT outcome, reason, sum(decisions) AS decisions FROM {db}.decisions_daily
            WHERE day >= {s} GROUP BY outcome, reason ORDER BY decisions DESC LIMIT 12""",
        "hot_words": f"""
            SELECT language, groupArray(5)((word, mentions)) AS top
            FROM (SELECT language, word, sum(mentions) AS mentions FROM {db}.hot_words
                  GROUP BY language, word ORDER BY language, mentions DESC, word)
            GROUP BY language ORDER BY language""",
        "active": f"""
            SELECT day, dau, mau FROM {db}.active_customers WHERE day >= {s} ORDER BY day""",
        "alerts": f"""
            SELECT (SELECT count() FROM {db}.alert_complaint_rate WHERE day >= {s}) AS complaint_days,
                   (SELECT count() FROM {db}.alert_slow_high_value WHERE day >= {s}) AS slow_high_value""",
        "crm": f"""
            SELECT sum(writes) AS writes, sum(written) AS written, sum(failed) AS failed,
                   sum(responses_429) AS responses_429
            FROM {db}.crm_write_health WHERE day >= {s}""",
        "dead_letters": f"SELECT count() AS dead_letters FROM {db}.dead_letters_by_source WHERE first_failure >= {s}",
    }


@dataclass
class Figures:
    since: str
    tz: str
    data: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def one(self, name: str) -> dict[str, Any]:
        rows = self.data.get(name) or [{}]
        return rows[0]

    def rows(self, name: str) -> list[dict[str, Any]]:
        return self.data.get(name, [])


async def collect(run: Run, db: str, since: str, tz: str) -> Figures:
    figures = Figures(since, tz)
    for name, sql in queries(db, since, tz).items():
        result = await run(sql)
        figures.data[name] = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    return figures
