"""Timing primitives: one decode of ours, summaries, peak memory, the batch-size sweep."""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmarks.workload import FRAME_MS
from text2lips.runtime import SynthesisOptions, Synthesizer


def log(msg: str) -> None:
    """Progress on stderr (stdout carries only the Markdown table)."""
    import sys

    print(f"[bench] {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Decode:
    """One utterance decoded in full."""

    frames: int
    ttff_s: float
    """Call -> first frame in the caller's hands (the reference: the whole decode)."""
    total_s: float
    """Call -> last frame."""
    loop_s: float
    """Time spent in decoder steps (ours: first frame -> last; the reference: its step loop)."""
    steps_in_loop: int
    """Steps `loop_s` covers."""
    step_ms_p50: float
    """Median time of one decoder step: a step the OS preempted moves it little, so on a shared
    machine it is the steadiest figure of engine speed (RTF keeps the whole wall time)."""

    @property
    def ms_per_step(self) -> float:
        """Mean step time (loop_s / steps): includes every preemption."""
        return 1e3 * self.loop_s / max(1, self.steps_in_loop)

    @property
    def audio_s(self) -> float:
        return self.frames * FRAME_MS / 1e3

    @property
    def rtf(self) -> float:
        """Decode wall time / audio duration: below 1 is faster than real time."""
        return self.total_s / self.audio_s

    def to_json(self) -> dict:
        return {
            "frames": self.frames,
            "ttff_ms": round(self.ttff_s * 1e3, 3),
            "total_ms": round(self.total_s * 1e3, 3),
            "step_ms_p50": round(self.step_ms_p50, 4),
            "ms_per_step_mean": round(self.ms_per_step, 4),
            "rtf": round(self.rtf, 5),
        }


def decode_ours(synth: Synthesizer, text: str, frames: int) -> Decode:
    """Stream exactly `frames` frames of `text` (the gate is off) and time them."""
    opts = SynthesisOptions(max_frames=frames, stop=False)
    t0 = time.perf_counter()
    stamps = [time.perf_counter() for _ in synth.stream(text, opts)]
    return from_stamps(t0, stamps)


def from_stamps(t0: float, stamps: list[float]) -> Decode:
    """A Decode from the call time and the arrival time of every frame."""
    if not stamps:
        raise RuntimeError("no frames were produced")
    steps = [b - a for a, b in zip(stamps[:-1], stamps[1:], strict=True)]
    med = statistics.median(steps) * 1e3 if steps else (stamps[0] - t0) * 1e3
    return Decode(
        len(stamps), stamps[0] - t0, stamps[-1] - t0, stamps[-1] - stamps[0], len(steps), med
    )


def first_frame_s(synth: Synthesizer, text: str, frames: int) -> float:
    """Call -> first frame, then abandon the utterance (the rest is not needed for TTFF)."""
    t0 = time.perf_counter()
    gen = synth.stream(text, SynthesisOptions(max_frames=frames, stop=False))
    next(gen)
    dt = time.perf_counter() - t0
    gen.close()
    return dt


def summary_ms(values_s: Sequence[float]) -> dict:
    """p50/p95/max/mean in milliseconds of timings in seconds."""
    if not values_s:
        return {"n": 0}
    ms = sorted(v * 1e3 for v in values_s)
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 50), 3),
        "p95": round(percentile(ms, 95), 3),
        "max": round(ms[-1], 3),
        "mean": round(statistics.fmean(ms), 3),
    }


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile of an already sorted sequence."""
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo))


# --- memory ----------------------------------------------------------------------------------


def _status_kb(field: str, pid: int | str = "self") -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb(pid: int | str = "self") -> float | None:
    kb = _status_kb("VmRSS", pid)
    return None if kb is None else kb / 1024


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux: write 5 to clear_refs) so each variant gets its own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """Peak resident memory since the last reset (VmHWM); ru_maxrss where /proc is missing."""
    kb = _status_kb("VmHWM", pid)
    if kb is None and pid == "self":
        kb = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
    return None if kb is None else kb / 1024


# --- continuous batching -------------------------------------------------------------------


def streams_sweep(
    synth: Synthesizer,
    texts: Sequence[str],
    counts: Sequence[int],
    steps: int,
    budget_s: float,
    sync: Callable[[], None] = lambda: None,
) -> list[dict]:
    """Per-step time at each batch size N: N utterances join a BatchDecoder, one warm-up step
    runs their encoder, then `steps` steps are timed. Stops once a step exceeds 12.5 ms (N
    streams are no longer real time; larger N only gets slower) or the budget is spent.
    """
    out: list[dict] = []
    t_start = time.perf_counter()
    for n in counts:
        bd = synth.batch_decoder(max_batch=n)
        for i in range(n):
            # A stride through the set mixes lengths, as a server's live batch would.
            text = texts[(i * 7) % len(texts)]
            bd.add(i, text, SynthesisOptions(max_frames=steps + 2, stop=False))
        bd.step()  # joins: runs the encoder for all N
        times: list[float] = []
        for _ in range(steps):
            t0 = time.perf_counter()
            bd.step()
            sync()
            times.append(time.perf_counter() - t0)
        med = statistics.median(times) * 1e3
        out.append(
            {
                "streams": n,
                "step_ms_p50": round(med, 4),
                "step_ms_max": round(max(times) * 1e3, 4),
                # Each stream needs one frame per 12.5 ms; one step serves all N.
                "rtf": round(med / FRAME_MS, 5),
            }
        )
        del bd
        if med > FRAME_MS or time.perf_counter() - t_start > budget_s:
            break
    return out


def max_streams(sweep: Sequence[dict], rtf_limit: float) -> int:
    """The largest N tried whose step time keeps every stream at or under `rtf_limit`."""
    ok = [p["streams"] for p in sweep if p["rtf"] <= rtf_limit]
    return max(ok) if ok else 0


def ratio_summary(pairs: Sequence[tuple[float, float]]) -> dict:
    """ours/reference per pair, summarised (lower is better for ours)."""
    ratios = [o / r for o, r in pairs if r > 0]
    if not ratios:
        return {"n": 0}
    return {
        "n": len(ratios),
        "median": round(statistics.median(ratios), 5),
        "min": round(min(ratios), 5),
        "max": round(max(ratios), 5),
        "pairs": [round(x, 5) for x in ratios],  # in pair order
    }


def cpu_threads() -> int:
    """Cores this process may run on (what `all cores` means)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
