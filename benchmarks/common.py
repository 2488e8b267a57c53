"""What the benchmark profiles share (variants, criteria, the run context, verdicts, the
paired decode against the reference and its figures): profiles.py and sidecar_e2e.py both
import it, so neither imports the other's module at load."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks import measure
from benchmarks.measure import Decode, log
from benchmarks.models import DEFAULT_CACHE
from benchmarks.reference import PaperReference
from benchmarks.workload import Plan


@dataclass(frozen=True)
class Variant:
    """One engine set-up a profile measures."""

    label: str
    """Row name in the table, e.g. `paper int8`."""
    size: str
    """Model size: `paper` or `edge`."""
    backend: str
    """A text2lips.runtime backend name."""
    threads: int | None
    """Intra-op threads (CPU backends); None: the engine's default."""
    half: bool = False
    """fp16 weights and activations (CUDA only)."""


@dataclass(frozen=True)
class Criterion:
    """One pass condition: `figure` <= `limit`."""

    figure: str
    """Key of the variant's figures (e.g. `rtf`, `ttff_p95_ms`)."""
    limit: float
    why: str
    """Shown with the verdict: what the limit protects."""


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str
    variants: Callable[[int], list[Variant]]
    """Built at run time from the number of cores `all cores` means."""
    criteria: tuple[Criterion, ...]
    kind: str = "synth"
    """`synth` (in-process Synthesizer), `grpc` (through the sidecar) or `phoneme` (the
    phoneme-timed model, benchmarks.phoneme)."""


RTF_LIMIT = 0.5
"""Every profile must decode at least twice as fast as real time (2x headroom)."""
RTF = Criterion("rtf", RTF_LIMIT, "RTF <= 0.5: 2x headroom over real time")


@dataclass(frozen=True)
class Budgets:
    """Seconds one variant may spend per phase; the first item of a phase always runs."""

    ttff_s: float
    streams_s: float
    pairs_s: float


@dataclass
class Context:
    """What every variant run shares, including the run's deadline."""

    plan: Plan
    cache_dir: Path = DEFAULT_CACHE
    tiny: bool = False
    """Use the tiny random test model for every size (smoke tests)."""
    deadline: float = math.inf
    """time.monotonic() by which the whole run should be done (`--budget`)."""
    variants_left: int = 1
    """Variants still to run, to share out the time left."""
    cores: int = field(default_factory=measure.cpu_threads)
    """Threads of the `all cores` profiles (cpu-server, grpc's server)."""

    def budgets(self) -> Budgets:
        """The plan's phase budgets, shrunk to this variant's share of the time left (loading,
        the reference's model and the sidecar's start take the rest of the share)."""
        share = max(1.0, (self.deadline - time.monotonic()) / max(1, self.variants_left))
        p = self.plan
        return Budgets(
            min(p.ttff_budget_s, 0.2 * share),
            min(p.stream_budget_s, 0.15 * share),
            min(p.pair_budget_s, 0.45 * share),
        )


# --- verdicts -------------------------------------------------------------------------------------


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to `n` for the block, and restored after it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def judge(figures: dict, criteria: tuple[Criterion, ...]) -> dict:
    """PASS when every criterion holds; a missing figure fails (it was not measured)."""
    checks = []
    for c in criteria:
        value = figures.get(c.figure)
        ok = value is not None and value <= c.limit
        checks.append(
            {"figure": c.figure, "limit": c.limit, "value": value, "pass": ok, "why": c.why}
        )
    return {"verdict": "PASS" if all(ch["pass"] for ch in checks) else "FAIL", "checks": checks}


def skipped(variant: Variant | None, reason: str) -> dict:
    log(f"  skipped: {reason}")
    return {
        "variant": asdict(variant) if variant else None,
        "label": variant.label if variant else "sidecar",
        "status": "skipped",
        "reason": reason,
        "verdict": {"verdict": "SKIP", "checks": []},
    }


MIN_PAIR_FRAMES = 80
"""A pair shortened to fit the budget still decodes one second of speech."""


def run_pairs(
    plan: Plan,
    ours: Callable[[str, int], Decode],
    ref: PaperReference,
    label: str,
    budget_s: float,
    est_s_per_frame: float,
) -> tuple[list[dict], list[Decode], list[Decode]]:
    """Ours then the reference on each pair sentence, so drifting load hits both alike.

    `ours(text, frames)` decodes up to `frames` frames and the reference then decodes as many as
    ours produced. The cost per frame (estimated up front, then measured) decides whether the
    next pair fits the budget; a first pair that does not fit is shortened, and says so.
    """
    rows: list[dict] = []
    o_all: list[Decode] = []
    r_all: list[Decode] = []
    t_start = time.perf_counter()
    frames_done = 0
    for i, text in enumerate(plan.pair_sentences):
        want = plan.frames(text)
        spent = time.perf_counter() - t_start
        per_frame = spent / frames_done if frames_done else est_s_per_frame
        left = budget_s - spent
        if per_frame * want > left:
            if o_all:
                log(
                    f"  pairs: budget {budget_s:.0f} s reached after {len(o_all)} of "
                    f"{len(plan.pair_sentences)}"
                )
                break
            want = max(MIN_PAIR_FRAMES, min(want, int(left / per_frame)))
            log(f"  pairs: first pair shortened to {want} frames to fit {budget_s:.0f} s")
        o = ours(text, want)
        _, r = ref.synthesize(text, o.frames)
        frames_done += o.frames
        o_all.append(o)
        r_all.append(r)
        rows.append(
            {
                "chars": len(text),
                "frames_planned": plan.frames(text),
                "ours": o.to_json(),
                "reference": r.to_json(),
            }
        )
        log(
            f"  pair {i + 1}/{len(plan.pair_sentences)} ({len(text)} chars, {o.frames} frames): "
            f"RTF ours {o.rtf:.3f} ref {r.rtf:.3f}; TTFF ours {o.ttff_s * 1e3:.1f} ms "
            f"ref {r.ttff_s * 1e3:.0f} ms  [{label}]"
        )
    return rows, o_all, r_all


def decode_figures(decodes: list[Decode]) -> dict:
    """RTF, fps and step time over full decodes (RTF over the total: long ones weigh more;
    ms_per_step: the median over decodes of each one's median step)."""
    if not decodes:
        return {}
    total = sum(d.total_s for d in decodes)
    audio = sum(d.audio_s for d in decodes)
    return {
        "rtf": round(total / audio, 5),
        "rtf_max": round(max(d.rtf for d in decodes), 5),
        "fps": round(sum(d.frames for d in decodes) / total, 2),
        "ms_per_step": round(statistics.median(d.step_ms_p50 for d in decodes), 4),
        "ms_per_step_mean": round(
            sum(d.loop_s for d in decodes) * 1e3 / max(1, sum(d.steps_in_loop for d in decodes)), 4
        ),
        "ttff_ms": measure.summary_ms([d.ttff_s for d in decodes]),
    }


def ratios(o_all: list[Decode], r_all: list[Decode]) -> dict:
    """ours/reference per pair for time to first frame, step time and RTF."""
    pairs = list(zip(o_all, r_all, strict=True))
    return {
        "ttff": measure.ratio_summary([(o.ttff_s, r.ttff_s) for o, r in pairs]),
        "ms_per_step": measure.ratio_summary([(o.step_ms_p50, r.step_ms_p50) for o, r in pairs]),
        "rtf": measure.ratio_summary([(o.rtf, r.rtf) for o, r in pairs]),
    }
