"""The grpc profile: `text2lips serve` in a subprocess on a loopback port, measured from a client
as Unity would see it (time to first frame, RTF, frame-interval jitter under realtime pacing)."""

from __future__ import annotations

import importlib.util
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from benchmarks import measure
from benchmarks.common import Context, Profile, decode_figures, judge, ratios, run_pairs, skipped
from benchmarks.measure import Decode, log
from benchmarks.models import REPO_ROOT, BenchModel, resolve_default
from benchmarks.reference import PaperReference
from benchmarks.workload import FRAME_MS

SERVER_START_S = 120.0
"""Loading a paper-size model and warming it up on a busy 2-core machine takes a while."""


def missing_sidecar() -> str | None:
    """Why the sidecar cannot be benchmarked here (None: it can)."""
    for module in ("sidecar.server", "text2lips.v1.lipsync_pb2_grpc", "grpc_health.v1.health_pb2"):
        try:
            if importlib.util.find_spec(module) is None:
                return f"{module} is not importable (sidecar not there yet, or run `make proto`)"
        except ImportError as exc:
            return f"{module} is not importable: {exc}"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(
    model: BenchModel, threads: int, log_path: Path, extra: tuple[str, ...] = ()
) -> Iterator[tuple[subprocess.Popen, int]]:
    """`text2lips serve` on a free loopback port until the block ends (SIGTERM, then kill)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "text2lips.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--model",
        str(model.path),
        "--threads",
        str(threads),
        "--log-level",
        "warning",
        *extra,
    ]
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def wait_serving(channel, proc: subprocess.Popen, service: str, log_path: Path) -> str | None:
    """Poll grpc health until SERVING; the reason when the server died or never came up."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-1500:]
            return f"`text2lips serve` exited with status {proc.returncode}: {tail.strip()}"
        try:
            resp = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1.0)
            if resp.status == health_pb2.HealthCheckResponse.SERVING:
                return None
        except Exception:  # noqa: BLE001 -- not listening yet
            pass
        time.sleep(0.2)
    return f"`text2lips serve` was not SERVING after {SERVER_START_S:.0f} s"


def speak_full(stub, pb, text: str, timeout_s: float, max_frames: int | None = None) -> Decode:
    """One Speak as fast as possible, read to the last frame (or `max_frames`, then cancel)."""
    t0 = time.perf_counter()
    stamps: list[float] = []
    call = stub.Speak(pb.SpeakRequest(text=text), timeout=timeout_s)
    for frame in call:
        stamps.append(time.perf_counter())
        if frame.last or (max_frames is not None and len(stamps) >= max_frames):
            break
    call.cancel()
    return measure.from_stamps(t0, stamps)


def speak_first(stub, pb, text: str, timeout_s: float) -> float:
    """Call -> first frame, then cancel (the server frees the batch slot at its next step)."""
    t0 = time.perf_counter()
    call = stub.Speak(pb.SpeakRequest(text=text), timeout=timeout_s)
    next(call)
    dt = time.perf_counter() - t0
    call.cancel()
    return dt


def speak_realtime(stub, pb, text: str, max_frames: int, timeout_s: float) -> list[float]:
    """Arrival times (perf_counter) of up to `max_frames` frames under realtime pacing."""
    t0 = time.perf_counter()
    arrivals = [t0]
    call = stub.Speak(pb.SpeakRequest(text=text, pacing=pb.PACING_REALTIME), timeout=timeout_s)
    for frame in call:
        arrivals.append(time.perf_counter())
        if frame.last or len(arrivals) - 1 >= max_frames:
            break
    call.cancel()
    return arrivals


def jitter_figures(calls: list[list[float]]) -> dict:
    """Inter-arrival statistics of realtime-paced frames (the request time is arrivals[0])."""
    intervals: list[float] = []
    lateness: list[float] = []
    ttff: list[float] = []
    for arr in calls:
        ttff.append(arr[1] - arr[0])
        frames = arr[1:]
        intervals += [b - a for a, b in zip(frames[:-1], frames[1:], strict=True)]
        # How far behind its schedule (first frame + i x 12.5 ms) each frame arrived.
        lateness += [t - frames[0] - i * FRAME_MS / 1e3 for i, t in enumerate(frames)]
    if not intervals:
        return {}
    ms = [x * 1e3 for x in intervals]
    dev = sorted(abs(x - FRAME_MS) for x in ms)
    late = sorted(x * 1e3 for x in lateness)
    return {
        "frames": len(intervals) + len(calls),
        "interval_ms_mean": round(statistics.fmean(ms), 4),
        "interval_ms_std": round(statistics.pstdev(ms), 4),
        "jitter_p95_ms": round(measure.percentile(dev, 95), 4),
        "jitter_max_ms": round(dev[-1], 4),
        "lateness_p95_ms": round(measure.percentile(late, 95), 4),
        "lateness_max_ms": round(late[-1], 4),
        "ttff_ms": measure.summary_ms(ttff),
        "intervals_ms": [round(x, 3) for x in ms],
    }


def run_grpc(profile: Profile, ctx: Context) -> dict:
    """Serve the default model and measure it from a client on the same machine."""
    log("grpc: end to end through the sidecar")
    reason = missing_sidecar()
    if reason:
        return skipped(None, reason)
    import grpc

    from sidecar.server import SERVICE_NAME

    model = resolve_default(ctx.cache_dir, tiny=ctx.tiny)
    threads = ctx.cores
    label = f"sidecar {model.size} torch-cpu {threads} thread" + ("s" if threads != 1 else "")
    log_path = Path(tempfile.mkstemp(prefix="text2lips-bench-serve-", suffix=".log")[1])
    t0 = time.perf_counter()
    try:
        with (
            serve(model, threads, log_path) as (proc, port),
            grpc.insecure_channel(f"127.0.0.1:{port}") as channel,
        ):
            why = wait_serving(channel, proc, SERVICE_NAME, log_path)
            if why:
                return {**skipped(None, why), "status": "error"}
            start_s = time.perf_counter() - t0
            log(f"  serving on 127.0.0.1:{port} after {start_s:.1f} s ({model.describe()})")
            try:
                figures, rows, o_all, r_all = _measure(channel, ctx, model, threads, label)
            except grpc.RpcError as exc:
                # The sidecar is young: report its failure instead of losing the other profiles.
                return {
                    **skipped(None, f"Speak failed: {exc.code().name}: {exc.details()}"),
                    "status": "error",
                }
            figures["server_peak_rss_mb"] = _round(measure.peak_rss_mb(proc.pid))
            figures["server_start_s"] = round(start_s, 2)
    finally:
        log_path.unlink(missing_ok=True)
    result = {
        "variant": {
            "label": label,
            "size": model.size,
            "backend": "torch-cpu",
            "threads": threads,
            "half": False,
        },
        "label": label,
        "status": "ok",
        "model": {
            "size": model.size,
            "path": str(model.path),
            "random_weights": model.random_weights,
        },
        "server": {
            "command": f"text2lips serve --host 127.0.0.1 --port N --model DIR --threads {threads}"
        },
        "figures": figures,
        "ttff_all_ms": figures.pop("ttff_all_ms"),
        "reference": {**decode_figures(r_all), "decodes": len(r_all)},
        "ratios": ratios(o_all, r_all) if r_all else {},
        "pairs": rows,
        "verdict": judge(figures, profile.criteria),
    }
    log(
        f"  {result['verdict']['verdict']}: TTFF p95 {figures['ttff_p95_ms']} ms, "
        f"RTF {figures.get('rtf')}, jitter p95 {figures['jitter_p95_ms']} ms"
    )
    return result


def _round(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(x, nd)


def _measure(
    channel, ctx: Context, model: BenchModel, threads: int, label: str
) -> tuple[dict, list[dict], list[Decode], list[Decode]]:
    """TTFF over the sentence set, decode pairs against the reference, realtime jitter."""
    from text2lips.v1 import lipsync_pb2 as pb
    from text2lips.v1 import lipsync_pb2_grpc as pb_grpc

    plan = ctx.plan
    budgets = ctx.budgets()
    stub = pb_grpc.LipSyncStub(channel)
    stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10)  # connection warm-up
    warm = speak_full(stub, pb, "Hello.", 60)

    ttffs: list[float] = []
    t_start = time.perf_counter()
    for text in plan.ttff_sentences:
        ttffs.append(speak_first(stub, pb, text, 60))
        if time.perf_counter() - t_start > budgets.ttff_s and len(ttffs) < len(plan.ttff_sentences):
            log(f"  TTFF: budget {budgets.ttff_s:.0f} s reached after {len(ttffs)} calls")
            break
    ttff = measure.summary_ms(ttffs)
    log(f"  TTFF over {ttff['n']} calls: p50 {ttff['p50']:.1f} ms, p95 {ttff['p95']:.1f} ms")

    call_timeout = max(60.0, budgets.pairs_s)
    if model.size in ("paper", "edge", "tiny", "custom"):  # a Tacotron: pair with the paper's loop
        # The reference runs in this process while the server idles, on as many threads.
        ref = PaperReference.from_model_dir(model.path)
        torch.set_num_threads(threads)
        ref.synthesize("Hello.", 4)
        # Ours per frame from the warm-up call; the reference steps two decoders the slow way.
        est = 4.0 * warm.total_s / warm.frames
        rows, o_all, r_all = run_pairs(
            plan,
            lambda text, n: speak_full(stub, pb, text, call_timeout, max_frames=n),
            ref,
            label,
            budgets.pairs_s,
            est,
        )
        del ref
    else:  # another kind (the phoneme-timed model): the paper has no loop to pair it with
        rows, r_all = [], []
        o_all = [speak_full(stub, pb, text, call_timeout) for text in plan.pair_sentences]

    realtime = [
        speak_realtime(stub, pb, text, plan.grpc_realtime_frames, timeout_s=60)
        for text in plan.grpc_realtime_sentences
    ]
    jitter = jitter_figures(realtime)
    if jitter:
        log(
            f"  realtime pacing: interval {jitter['interval_ms_mean']:.2f} ± "
            f"{jitter['interval_ms_std']:.2f} ms, |dev| p95 {jitter['jitter_p95_ms']:.2f} ms"
        )
    dec = decode_figures(o_all)
    figures = {
        "ttff_ms": ttff,
        "ttff_p95_ms": ttff.get("p95"),
        **{k: v for k, v in dec.items() if k != "ttff_ms"},
        "jitter_p95_ms": jitter.get("jitter_p95_ms"),
        "realtime": jitter,
        "ttff_all_ms": [round(x * 1e3, 3) for x in ttffs],
    }
    return figures, rows, o_all, r_all
