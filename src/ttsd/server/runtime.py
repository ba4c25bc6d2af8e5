"""What every connection shares: settings, engines, the scheduler."""

from __future__ import annotations

from dataclasses import dataclass, field

from ttsd.engines.registry import EngineRegistry
from ttsd.server.drain import Drain
from ttsd.server.metrics import Metrics
from ttsd.server.scheduler import Scheduler
from ttsd.server.settings import Settings


@dataclass
class Runtime:
    """The server's shared state, built once at start-up."""

    settings: Settings
    registry: EngineRegistry
    scheduler: Scheduler
    #: readiness and the drain on SIGTERM (server/drain.py)
    drain: Drain
    #: the Prometheus families of `GET /metrics` (server/metrics.py), one registry per app
    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        # The scheduler and connection gauges are read from here at scrape time.
        self.metrics.watch(self)
