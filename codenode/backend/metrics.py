"""The backend's figures in Prometheus text format, read off the engine table when scraped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from codenode.backend.table import EngineTable


class TableCollector(Collector):
    """Reads the engine table at every scrape: no counters to keep in step."""

    def __init__(self, table: EngineTable) -> None:
        self.table = table

    def collect(self) -> Iterator[Metric]:
        by_state = GaugeMetricFamily(
            "codenode_engines", "Engines by type and state", labels=["type", "state"]
        )
        counts = Counter((e.type.name, e.state) for e in self.table.engines.values())
        counts.update((e.type.name, "pooled") for e in self.table.pool.engines())
        for (type_name, state), count in sorted(counts.items()):
            by_state.add_metric([type_name, state], count)
        yield by_state
        starts = CounterMetricFamily(
            "codenode_engine_starts", "Engines handed out", labels=["type"]
        )
        for type_name, count in sorted(self.table.starts.items()):
            starts.add_metric([type_name], count)
        yield starts
        deaths = CounterMetricFamily(
            "codenode_engine_deaths", "Engines that died unasked", labels=["type"]
        )
        for type_name, count in sorted(self.table.deaths.items()):
            deaths.add_metric([type_name], count)
        yield deaths
        evaluations = CounterMetricFamily(
            "codenode_evaluations", "Evaluations requested", labels=["type"]
        )
        for type_name, count in sorted(self.table.evaluations().items()):
            evaluations.add_metric([type_name], count)
        yield evaluations


def render(table: EngineTable) -> tuple[bytes, str]:
    """The metrics text and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TableCollector(table))
    return generate_latest(registry), CONTENT_TYPE_LATEST
