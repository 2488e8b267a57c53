"""Prometheus metrics of the sidecar: utterances, frames, errors, time to first frame and
real-time factor; served over HTTP on --metrics-port when asked for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class Metrics:
    """One registry per server, so several servers (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.utterances = Counter(
            "text2lips_utterances", "Utterances ended, by RPC and outcome (ok, cancelled, error)",
            ["rpc", "outcome"], registry=r,
        )
        self.frames = Counter("text2lips_frames", "Lip frames sent to clients", ["rpc"], registry=r)
        self.errors = Counter(
            "text2lips_errors", "Requests or utterances that failed, by google.rpc code",
            ["rpc", "code"], registry=r,
        )
        self.time_to_first_frame = Histogram(
            "text2lips_time_to_first_frame_seconds",
            "From submission to the scheduler to the first decoded frame",
            buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0), registry=r,
        )
        self.rtf = Histogram(
            "text2lips_real_time_factor", "Decode time / audio time of finished utterances",
            buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0), registry=r,
        )
        self.decoding = Gauge("text2lips_utterances_decoding", "Utterances in the batch",
                              registry=r)
        self.waiting = Gauge("text2lips_utterances_waiting", "Utterances waiting for a slot",
                             registry=r)
        self._http: Any = None

    def track_load(self, load: Callable[[], tuple[int, int]]) -> None:
        """Read (decoding, waiting) at scrape time instead of on every change."""
        self.decoding.set_function(lambda: load()[0])
        self.waiting.set_function(lambda: load()[1])

    def serve(self, host: str, port: int) -> int:
        """Start the /metrics HTTP endpoint; returns the bound port (0 picks one)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._http = server
        return int(server.server_port)

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
