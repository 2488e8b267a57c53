"""`text2lips serve`: the grpc.aio server with health, reflection, optional token and TLS,
metrics, and graceful shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import signal
import threading
import time
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from sidecar import config as config_mod
from sidecar.auth import BearerTokenInterceptor
from sidecar.config import ConfigError, ServerConfig
from sidecar.guard import GuardInterceptor
from sidecar.logging import configure, get_logger
from sidecar.metrics import Metrics
from sidecar.prepare import Preparer, WorkBudget
from sidecar.scheduler import Scheduler, StepGate
from sidecar.servicer import LipSyncServicer
from sidecar.utterance import PacingClock
from sidecar.voiced import VoicedService
from text2lips import __version__
from text2lips.runtime import Synthesizer
from text2lips.v1 import lipsync_pb2, lipsync_pb2_grpc

SERVICE_NAME = lipsync_pb2.DESCRIPTOR.services_by_name["LipSync"].full_name
"""text2lips.v1.LipSync, as health checks and reflection name it."""


DRAIN_NOTICE_S = 0.5
"""On shutdown, health says NOT_SERVING this long (at most a quarter of the grace) before the
listener closes."""


class Sidecar:
    """A LipSync server around one Synthesizer: start(), then stop(grace)."""

    def __init__(self, config: ServerConfig, synth: Synthesizer, *,
                 gate: StepGate | None = None, clock: PacingClock | None = None) -> None:
        self.config = config
        self.synth = synth
        self.gate = gate
        self.clock = clock
        self.stopping = False
        """True once stop() has begun."""
        self.port: int | None = None
        self.metrics_port: int | None = None
        self.scheduler: Scheduler | None = None
        self.preparer: Preparer | None = None
        self.voiced: VoicedService | None = None
        self.voice_preload: threading.Thread | None = None
        """The default voice loading in the background (ServerConfig.preload_voice)."""
        self.metrics = Metrics()
        self._server: grpc.aio.Server | None = None
        self._health: health_aio.HealthServicer | None = None
        self._log = get_logger()

    async def start(self) -> int:
        """Bind and serve; returns the gRPC port (useful with port 0)."""
        cfg = self.config
        self.scheduler = Scheduler(self.synth, max_batch=cfg.max_batch, max_queue=cfg.max_queue,
                                   gate=self.gate)
        self.metrics.track_load(lambda: self.scheduler.load)  # type: ignore[union-attr]
        self.preparer = Preparer(
            WorkBudget(max_symbols=cfg.max_symbols, max_frames=cfg.max_frames),
            getattr(self.synth, "rate_wpm", None) if self.synth.timed else None,
        )
        voiced = VoicedService(self.synth, max_streams=cfg.max_voiced,
                               default=cfg.voice or None, pacing=self.clock)
        voiced.check_installed()  # a missing voice package stops us here, naming the extra
        self.voiced = voiced
        servicer = LipSyncServicer(
            self.scheduler, self.synth.info, max_text_chars=cfg.max_text_chars,
            converse_queue=cfg.converse_queue, metrics=self.metrics, preparer=self.preparer,
            voiced=voiced, clock=self.clock,
        )
        options = [
            ("grpc.max_receive_message_length", cfg.max_message_bytes),
            ("grpc.max_send_message_length", cfg.max_message_bytes),
            # gRPC sets SO_REUSEPORT by default: a second server would silently share the port.
            ("grpc.so_reuseport", 0),
        ]
        # The token is checked first, then the bytes are parsed inside the call.
        interceptors: list[grpc.aio.ServerInterceptor] = (
            [BearerTokenInterceptor(cfg.token)] if cfg.token else []
        )
        interceptors.append(GuardInterceptor(cfg.send_timeout_s))
        server = grpc.aio.server(interceptors=interceptors, options=options)
        lipsync_pb2_grpc.add_LipSyncServicer_to_server(servicer, server)
        self._health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME), server,
        )
        address = f"{cfg.host}:{cfg.port}"
        try:
            if cfg.tls_cert:
                creds = grpc.ssl_server_credentials(
                    [(_read(cfg.tls_key, "--tls-key"), _read(cfg.tls_cert, "--tls-cert"))]
                )
                port = server.add_secure_port(address, creds)
            else:
                port = server.add_insecure_port(address)
        except RuntimeError as exc:
            port = 0
            reason = str(exc)
        else:
            reason = "address in use or not available"
        if not port:
            self.scheduler.close()
            self.preparer.close()
            raise ConfigError(f"cannot listen on {address}: {reason}")
        await self.preparer.ready()
        await server.start()
        self._server = server
        if cfg.preload_voice:
            self.voice_preload = voiced.preload()
        self.port = port
        for name in ("", SERVICE_NAME):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        if cfg.metrics_port is not None:
            self.metrics_port = self.metrics.serve(cfg.host, cfg.metrics_port)
        info = self.synth.info
        self._log.info(
            "serving", address=f"{cfg.host}:{port}", tls=bool(cfg.tls_cert), auth=bool(cfg.token),
            model=info.name, model_version=info.version, licence=info.licence,
            max_batch=cfg.max_batch, max_queue=cfg.max_queue, metrics_port=self.metrics_port,
            server_version=__version__,
        )
        return port

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking calls, let live ones finish within `grace` seconds, then cancel them."""
        grace = self.config.grace_s if grace is None else grace
        if self._server is None:
            return
        self.stopping = True
        t0 = time.monotonic()
        load = self.scheduler.load if self.scheduler else None
        self._log.info("stopping", grace_s=grace, decoding_waiting=load)
        if self._health is not None:
            await self._health.enter_graceful_shutdown()  # probes see NOT_SERVING at once
            # ... and for a moment before the listener closes, so a load balancer that
            # probes can take this instance out before its connections are refused.
            await asyncio.sleep(min(DRAIN_NOTICE_S, grace / 4))
        await self._server.stop(grace)
        self._server = None
        if self.scheduler is not None:
            self.scheduler.close()
        if self.preparer is not None:
            self.preparer.close()
        self.metrics.close()
        if self.voice_preload is not None:  # let a voice still loading finish (seconds)
            await asyncio.to_thread(self.voice_preload.join)
        self._log.info("stopped", after_s=round(time.monotonic() - t0, 3))

    async def wait_for_termination(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()


def _read(path: str | None, flag: str) -> bytes:
    try:
        return Path(path or "").read_bytes()
    except OSError as exc:
        raise ConfigError(f"{flag} {path!r}: {exc.strerror}") from None


class BackgroundServer:
    """A Sidecar on its own event-loop thread, for tests and the soak run.

    with BackgroundServer(config, synth) as srv: connect to 127.0.0.1:srv.port
    """

    def __init__(self, config: ServerConfig, synth: Synthesizer, *,
                 gate: StepGate | None = None, clock: PacingClock | None = None) -> None:
        self.sidecar = Sidecar(config, synth, gate=gate, clock=clock)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="sidecar-loop",
                                        daemon=True)

    @property
    def port(self) -> int:
        assert self.sidecar.port is not None
        return self.sidecar.port

    @property
    def scheduler(self) -> Scheduler:
        assert self.sidecar.scheduler is not None
        return self.sidecar.scheduler

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> BackgroundServer:
        self._thread.start()
        try:
            self.call(self.sidecar.start())
        except BaseException:
            self.close()
            raise
        return self

    def stop(self, grace: float = 1.0) -> None:
        if self._thread.is_alive():
            self.call(self.sidecar.stop(grace), timeout=grace + 30.0)

    def close(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10.0)
        if not self.loop.is_running():
            self.loop.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            self.close()


# --- the command ---------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    config_mod.add_arguments(parser)


def load_synthesizer(cfg: ServerConfig) -> Synthesizer:
    """The configured model; a missing one is an error naming where it was looked for (the
    server never stands in a model of its own)."""
    return Synthesizer.load(cfg.model_path(), backend=cfg.backend, threads=cfg.threads)


def run(args: argparse.Namespace) -> int:
    return serve(config_mod.from_args(args))


def serve(cfg: ServerConfig) -> int:
    """Load the model, serve until SIGTERM/SIGINT, then drain (the `text2lips serve` body)."""
    configure(cfg.log_level)
    return asyncio.run(_serve(cfg, load_synthesizer(cfg)))


async def _serve(cfg: ServerConfig, synth: Synthesizer) -> int:
    sidecar = Sidecar(cfg, synth)
    await sidecar.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    received: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        await stop.wait()
    finally:
        get_logger().info("signal", signal=received[0] if received else None)
        await sidecar.stop(cfg.grace_s)
    return 0


if __name__ == "__main__":  # pragma: no cover -- `text2lips serve` is the entry point
    from text2lips.cli import main

    raise SystemExit(main(["serve", *__import__("sys").argv[1:]]))
