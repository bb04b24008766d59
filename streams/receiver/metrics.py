"""Prometheus metrics of the receiver, on its own registry (served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class ReceiverMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("scrm_receiver_requests", "Webhook requests by source and outcome",
                                ["source", "outcome"], registry=self.registry)
        self.latency = Histogram("scrm_receiver_request_seconds", "Time to answer a webhook POST "
                                 "(includes waiting for Kafka's acknowledgement)", ["source"],
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
                                 registry=self.registry)

    def count(self, source: str, outcome: str) -> None:
        self.requests.labels(source, outcome).inc()

    def value(self, source: str, outcome: str) -> float:
        return self.registry.get_sample_value("scrm_receiver_requests_total",
                                              {"source": source, "outcome": outcome}) or 0.0
