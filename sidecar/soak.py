"""Soak run (not a test step): 1,000 sequential then 64 concurrent Speak calls against an
in-process server (or --target), reporting throughput, latency and process memory.

    python -m sidecar.soak --model models/default
    python -m sidecar.soak --target 127.0.0.1:50051 --token ...
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np

from sidecar.config import ServerConfig
from sidecar.logging import configure
from sidecar.server import BackgroundServer, load_synthesizer
from text2lips.v1 import lipsync_pb2 as pb
from text2lips.v1 import lipsync_pb2_grpc as pb_grpc

TEXTS = (
    "Hello there.",
    "Where are you going?",
    "The quick brown fox jumps over the lazy dog.",
    "I will meet you at the gate at half past nine.",
    "Thanks, that helps a lot.",
    "We should leave before it gets dark.",
    "Could you say that again, please?",
    "Nobody expected the results to be so clear.",
)


def memory_kib() -> dict[str, int]:
    """VmRSS and VmHWM (peak) of this process, from /proc (Linux)."""
    out: dict[str, int] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0])
    except OSError:
        pass
    return out


@dataclass
class Phase:
    """What one phase of the soak measured."""

    name: str
    calls: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    frames: int = 0
    audio_s: float = 0.0
    wall_s: float = 0.0
    ttff_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)

    def record(self, result: tuple[str, int, float, float | None, float]) -> None:
        code, frames, audio_s, ttff, total = result
        self.calls += 1
        if code == "OK":
            self.ok += 1
            self.frames += frames
            self.audio_s += audio_s
            if ttff is not None:
                self.ttff_ms.append(ttff * 1e3)
            self.total_ms.append(total * 1e3)
        else:
            self.errors[code] = self.errors.get(code, 0) + 1

    def summary(self) -> dict[str, Any]:
        def pct(xs: list[float], q: float) -> float | None:
            return round(float(np.percentile(xs, q)), 2) if xs else None

        d = asdict(self)
        del d["ttff_ms"], d["total_ms"]
        d.update(
            wall_s=round(self.wall_s, 3), audio_s=round(self.audio_s, 2),
            utterances_per_s=round(self.ok / self.wall_s, 2) if self.wall_s else None,
            frames_per_s=round(self.frames / self.wall_s, 1) if self.wall_s else None,
            # Seconds of lip animation produced per second of wall clock (>1: faster than life).
            speed_x_realtime=round(self.audio_s / self.wall_s, 2) if self.wall_s else None,
            ttff_ms_p50=pct(self.ttff_ms, 50), ttff_ms_p95=pct(self.ttff_ms, 95),
            total_ms_p50=pct(self.total_ms, 50), total_ms_p95=pct(self.total_ms, 95),
        )
        return d


def one_call(stub: pb_grpc.LipSyncStub, text: str, uid: str, metadata: list[tuple[str, str]],
             timeout: float) -> tuple[str, int, float, float | None, float]:
    """(status, frames, seconds of animation, time to first frame, total time)."""
    t0 = time.perf_counter()
    ttff = None
    frames = 0
    last_time = 0.0
    try:
        for f in stub.Speak(pb.SpeakRequest(text=text, utterance_id=uid), metadata=metadata,
                            timeout=timeout):
            if ttff is None:
                ttff = time.perf_counter() - t0
            frames += 1
            last_time = f.time_s
    except grpc.RpcError as err:
        return err.code().name, frames, 0.0, ttff, time.perf_counter() - t0
    return "OK", frames, last_time + 1 / 80, ttff, time.perf_counter() - t0


class ServerTiming:
    """Server-side mean time to first frame and RTF over a phase, from the in-process
    server's Prometheus registry (client-side figures also count client thread scheduling)."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self._start = self._read()

    def _read(self) -> dict[str, float]:
        get = self.registry.get_sample_value
        return {k: get(f"text2lips_{k}") or 0.0 for k in (
            "time_to_first_frame_seconds_sum", "time_to_first_frame_seconds_count",
            "real_time_factor_sum", "real_time_factor_count")}

    def summary(self) -> dict[str, float | None]:
        end = self._read()
        d = {k: end[k] - self._start[k] for k in end}
        n_t, n_r = d["time_to_first_frame_seconds_count"], d["real_time_factor_count"]
        return {
            "server_ttff_ms_mean": round(1e3 * d["time_to_first_frame_seconds_sum"] / n_t, 2)
            if n_t else None,
            "server_rtf_mean": round(d["real_time_factor_sum"] / n_r, 4) if n_r else None,
        }


def run_soak(target: str, sequential: int, concurrent: int, max_seconds: float,
             token: str | None, registry: Any = None) -> dict[str, Any]:
    metadata = [("authorization", f"Bearer {token}")] if token else []
    report: dict[str, Any] = {"target": target, "memory_kib": {"start": memory_kib()}}
    stop_at = time.monotonic() + max_seconds
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.LipSyncStub(channel)
        info = stub.GetModelInfo(pb.GetModelInfoRequest(), metadata=metadata, timeout=30)
        report["model"] = {"name": info.model_name, "version": info.model_version}
        for i in range(5):  # warm-up: first calls pay for imports and allocator growth
            one_call(stub, TEXTS[i % len(TEXTS)], f"warm-{i}", metadata, 60)
        report["memory_kib"]["after_warmup"] = memory_kib()

        seq = Phase("sequential")
        server = ServerTiming(registry) if registry is not None else None
        t0 = time.perf_counter()
        for i in range(sequential):
            if time.monotonic() > stop_at:
                report["stopped_early"] = f"time limit after {i} sequential calls"
                break
            seq.record(one_call(stub, TEXTS[i % len(TEXTS)], f"seq-{i}", metadata, 60))
        seq.wall_s = time.perf_counter() - t0
        report["sequential"] = seq.summary() | (server.summary() if server else {})
        report["memory_kib"]["after_sequential"] = memory_kib()

        conc = Phase("concurrent")
        start = threading.Barrier(concurrent) if concurrent > 0 else None

        def task(i: int) -> tuple[str, int, float, float | None, float]:
            assert start is not None
            start.wait(60)  # all calls in flight together
            return one_call(stub, TEXTS[i % len(TEXTS)], f"conc-{i}", metadata, 120)

        server = ServerTiming(registry) if registry is not None else None
        if concurrent and time.monotonic() < stop_at:
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=concurrent) as pool:
                for result in pool.map(task, range(concurrent)):
                    conc.record(result)
            conc.wall_s = time.perf_counter() - t0
        report["concurrent"] = conc.summary() | (server.summary() if server else {})
        report["memory_kib"]["end"] = memory_kib()
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sidecar.soak", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="models/default",
                   help="model directory or name for the in-process server "
                        "(default models/default)")
    p.add_argument("--target", help="HOST:PORT of a running server instead of an in-process one")
    p.add_argument("--token", help="bearer token for --target")
    p.add_argument("--sequential", type=int, default=1000)
    p.add_argument("--concurrent", type=int, default=64)
    p.add_argument("--max-seconds", type=float, default=900.0,
                   help="stop starting new calls after this long (default 900)")
    p.add_argument("--threads", type=int, default=None, help="backend threads (in-process)")
    p.add_argument("--json", action="store_true", help="print the report as JSON only")
    args = p.parse_args(argv)
    configure("warning")
    if args.target:
        report = run_soak(args.target, args.sequential, args.concurrent, args.max_seconds,
                          args.token)
        report["server"] = "external (memory figures are this client's only)"
    else:
        # Batch wide enough for every concurrent call; the queue absorbs the rest.
        cfg = ServerConfig(port=0, model=args.model, threads=args.threads,
                           max_batch=max(1, args.concurrent), max_queue=64)
        synth = load_synthesizer(cfg)
        with BackgroundServer(cfg, synth) as srv:
            report = run_soak(f"127.0.0.1:{srv.port}", args.sequential, args.concurrent,
                              args.max_seconds, None, srv.sidecar.metrics.registry)
            report["server"] = "in-process (memory figures include the server and model)"
            report["model"]["dir"] = str(cfg.model_path())
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    mem = report["memory_kib"]
    print(f"soak against {report['target']} ({report['server']})")
    print(f"model: {json.dumps(report['model'])}")
    for phase in ("sequential", "concurrent"):
        print(f"{phase}: {json.dumps(report[phase])}")
    print("RSS MiB: " + ", ".join(
        f"{k} {v.get('VmRSS', 0) / 1024:.1f}" for k, v in mem.items()
    ) + f"; peak {mem['end'].get('VmHWM', 0) / 1024:.1f}")
    if "stopped_early" in report:
        print(f"stopped early: {report['stopped_early']}")
    failed = report["sequential"]["errors"] or report["concurrent"]["errors"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
