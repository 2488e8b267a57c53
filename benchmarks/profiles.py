"""The profiles (edge, cpu-server, gpu, grpc), their variants and pass criteria, and the run of
one in-process variant: time to first frame, decode pairs against the reference, batch sweep."""

from __future__ import annotations

import functools
import gc
import importlib.util
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from benchmarks import measure
from benchmarks.measure import Decode, log
from benchmarks.models import DEFAULT_CACHE, BenchModel, resolve
from benchmarks.reference import PaperReference
from benchmarks.workload import FRAME_MS, Plan
from text2lips.runtime import Synthesizer


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
_RTF = Criterion("rtf", RTF_LIMIT, "RTF <= 0.5: 2x headroom over real time")


def _threads(n: int) -> str:
    return f"{n} thread" + ("s" if n != 1 else "")


def _edge(cores: int) -> list[Variant]:
    return [
        Variant("edge fp32 1 thread", "edge", "torch-cpu", 1),
        Variant("edge int8 1 thread", "edge", "torch-cpu-int8", 1),
    ]


def _cpu_server(cores: int) -> list[Variant]:
    out = [
        Variant(f"{size} {kind} {_threads(cores)}", size, backend, cores)
        for size in ("paper", "edge")
        for kind, backend in (("fp32", "torch-cpu"), ("int8", "torch-cpu-int8"))
    ]
    out += [
        Variant(f"{size} onnxruntime {_threads(cores)}", size, "onnxruntime", cores)
        for size in ("paper", "edge")
    ]
    return out


def _gpu(cores: int) -> list[Variant]:
    return [
        Variant("paper fp16 cuda", "paper", "torch-cuda", None, half=True),
        Variant("edge fp16 cuda", "edge", "torch-cuda", None, half=True),
        # fp32 eager, as Synthesizer.load("torch-cuda") serves today: what fp16 + graphs buy.
        Variant("paper fp32 cuda eager", "paper", "torch-cuda", None),
    ]


PROFILES: dict[str, Profile] = {
    "edge": Profile("edge", "one CPU thread, edge model", _edge, (_RTF,)),
    "cpu-server": Profile("cpu-server", "all cores, paper and edge models", _cpu_server, (_RTF,)),
    "gpu": Profile("gpu", "CUDA fp16, CUDA graphs when the runtime has them", _gpu, (_RTF,)),
    "grpc": Profile(
        "grpc",
        "end to end through `text2lips serve` on loopback",
        lambda cores: [],
        (
            Criterion(
                "ttff_p95_ms", 50.0, "p95 time to first frame <= 50 ms as the client sees it"
            ),
            _RTF,
            Criterion(
                "jitter_p95_ms",
                FRAME_MS,
                "realtime pacing: p95 |inter-arrival - 12.5 ms| <= one frame",
            ),
        ),
        kind="grpc",
    ),
    "phoneme": Profile(
        "phoneme",
        "the phoneme-timed model on one CPU thread, espeak-ng timing cost beside it",
        lambda cores: [],
        (
            Criterion("ttff_p50_ms", 10.0, "first frame <= 10 ms after the timeline is known"),
            Criterion("rtf", 0.01, "RTF <= 0.01 on one thread: 100 utterances per core"),
        ),
        kind="phoneme",
    ),
}
GROUPS: dict[str, tuple[str, ...]] = {
    "default": ("edge", "cpu-server", "grpc", "phoneme"),
    "all": ("edge", "cpu-server", "gpu", "grpc", "phoneme"),
}


def expand(names: str) -> list[str]:
    """`default`, `all`, a profile name, or a comma-separated list of them -> profile names."""
    out: list[str] = []
    for name in filter(None, (n.strip() for n in names.split(","))):
        for p in GROUPS.get(name, (name,)):
            if p not in PROFILES:
                known = ", ".join([*GROUPS, *PROFILES])
                raise SystemExit(f"benchmarks: unknown profile {p!r}; choose from {known}")
            if p not in out:
                out.append(p)
    if not out:
        raise SystemExit("benchmarks: --profile names no profile")
    return out


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


# --- verdicts --------------------------------------------------------------------------------


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


def unavailable(variant: Variant) -> str | None:
    """Why this variant cannot run here (None: it can)."""
    if variant.backend == "onnxruntime":
        if importlib.util.find_spec("onnxruntime") is None:
            return "onnxruntime is not installed (pip install '.[onnx]')"
        try:
            found = importlib.util.find_spec("text2lips.runtime.onnx_backend") is not None
        except ImportError:
            found = False
        if not found:
            return "text2lips.runtime.onnx_backend does not exist yet"
    if variant.backend == "torch-cuda" and not torch.cuda.is_available():
        return "no CUDA device (torch.cuda.is_available() is False)"
    return None


# --- one in-process variant ------------------------------------------------------------------


def load_synth(variant: Variant, model: BenchModel) -> Synthesizer:
    """The variant's Synthesizer (`torch-cuda` is fp16 with CUDA graphs in the runtime)."""
    return Synthesizer.load(model.path, backend=variant.backend, threads=variant.threads)


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


def run_variant(variant: Variant, profile: Profile, ctx: Context) -> dict:
    """Everything measured for one in-process variant."""
    log(f"{profile.name}: {variant.label}")
    reason = unavailable(variant)
    if reason:
        return skipped(variant, reason)
    plan = ctx.plan
    budgets = ctx.budgets()
    model = resolve(variant.size, ctx.cache_dir, tiny=ctx.tiny)
    cuda = variant.backend == "torch-cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    gc.collect()
    peak_reset = measure.reset_peak_rss()
    rss_before = measure.rss_mb()
    t0 = time.perf_counter()
    try:
        synth = load_synth(variant, model)
    except Exception as exc:  # noqa: BLE001 -- e.g. an engine that cannot build this model
        return skipped(variant, f"could not load {model.path} on {variant.backend}: {exc}")
    load_s = time.perf_counter() - t0

    # Time to first frame over the whole sentence set (first frame only: cheap).
    ttffs: list[float] = []
    t_start = time.perf_counter()
    for text in plan.ttff_sentences:
        ttffs.append(measure.first_frame_s(synth, text, plan.frames(text)))
        if time.perf_counter() - t_start > budgets.ttff_s and len(ttffs) < len(plan.ttff_sentences):
            log(f"  TTFF: budget {budgets.ttff_s:.0f} s reached after {len(ttffs)} sentences")
            break
    ttff = measure.summary_ms(ttffs)
    log(f"  TTFF over {ttff['n']} sentences: p50 {ttff['p50']:.1f} ms, p95 {ttff['p95']:.1f} ms")

    sweep = measure.streams_sweep(
        synth, plan.ttff_sentences, plan.stream_counts, plan.stream_steps, budgets.streams_s, sync
    )
    log("  streams: " + ", ".join(f"{p['streams']}: {p['step_ms_p50']:.2f} ms" for p in sweep))
    peak = measure.peak_rss_mb()

    # The reference at the same size, on the same device and threads: fp32 on CPU (as the
    # paper), fp16 on CUDA (as NVIDIA's inference notebook).
    ref = PaperReference.from_model_dir(
        model.path, device="cuda" if cuda else "cpu", half=variant.half
    )
    if variant.threads is not None:
        torch.set_num_threads(variant.threads)
    ref.synthesize("Hello.", 4)  # warm-up, as ours got at load
    # Ours per frame from the sweep; the reference steps two decoders the slow way (~3x).
    est = 4.0 * sweep[0]["step_ms_p50"] / 1e3
    rows, o_all, r_all = run_pairs(
        plan,
        functools.partial(measure.decode_ours, synth),
        ref,
        variant.label,
        budgets.pairs_s,
        est,
    )

    figures = {
        "ttff_ms": ttff,
        "ttff_p95_ms": ttff.get("p95"),
        **{k: v for k, v in decode_figures(o_all).items() if k != "ttff_ms"},
        "streams": sweep,
        "max_streams_realtime": measure.max_streams(sweep, 1.0),
        "max_streams_at_limit": measure.max_streams(sweep, RTF_LIMIT),
        "peak_rss_mb": None if peak is None else round(peak, 1),
        "rss_before_load_mb": None if rss_before is None else round(rss_before, 1),
        "peak_rss_is_per_variant": peak_reset,
        "load_s": round(load_s, 3),
    }
    engine = getattr(synth.backend, "name", variant.backend)
    result = {
        "variant": asdict(variant),
        "label": variant.label,
        "status": "ok",
        "model": {
            "size": model.size,
            "path": str(model.path),
            "random_weights": model.random_weights,
        },
        "engine": engine,
        "threads_used": None if cuda else torch.get_num_threads(),
        "cuda_graphs": ("graphs" in engine) if cuda else None,
        "budgets_s": asdict(budgets),
        "figures": figures,
        "ttff_all_ms": [round(x * 1e3, 3) for x in ttffs],
        "reference": {**decode_figures(r_all), "decodes": len(r_all)},
        "ratios": ratios(o_all, r_all),
        "pairs": rows,
    }
    result["verdict"] = judge(figures, profile.criteria)
    log(
        f"  {result['verdict']['verdict']}: RTF {figures.get('rtf')}, "
        f"{figures['max_streams_realtime']} real-time streams"
    )
    del synth, ref
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return result


def _run_in_child(variant: Variant, profile_name: str, ctx: Context) -> dict:
    return run_variant(variant, PROFILES[profile_name], ctx)


def run_isolated(variant: Variant, profile_name: str, ctx: Context) -> dict:
    """`run_variant` in a fresh process: its peak RSS is its own, its threads settings and engine
    thread pools (OpenMP, onnxruntime) end with it and cannot slow the next variant down."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    # A fork server that has imported torch once starts each variant's process in a blink
    # (spawn would re-import torch every time); it never runs an op, so no thread pool is forked.
    mp = get_context("forkserver")
    mp.set_forkserver_preload(["torch", "text2lips.runtime", "benchmarks.profiles"])
    with ProcessPoolExecutor(max_workers=1, mp_context=mp) as pool:
        try:
            return pool.submit(_run_in_child, variant, profile_name, ctx).result()
        except BrokenProcessPool as exc:
            out = skipped(variant, f"the benchmark process died: {exc}")
            return {**out, "status": "error"}


def run_profile(name: str, ctx: Context) -> dict:
    """All variants of one profile (grpc goes through the sidecar module)."""
    profile = PROFILES[name]
    t0 = time.perf_counter()
    variants: list[dict] = []
    if profile.kind == "grpc":
        from benchmarks.sidecar_e2e import run_grpc

        variants.append(run_grpc(profile, ctx))
        ctx.variants_left -= 1
    elif profile.kind == "phoneme":
        from benchmarks.phoneme import run_phoneme

        variants.append(run_phoneme(profile, ctx))
        ctx.variants_left -= 1
    else:
        for v in profile.variants(ctx.cores):
            variants.append(run_isolated(v, name, ctx))
            ctx.variants_left -= 1
    ran = [v for v in variants if v["status"] == "ok"]
    passed = [v for v in ran if v["verdict"]["verdict"] == "PASS"]
    if not ran:
        verdict = "SKIP"
    else:
        verdict = "PASS" if len(passed) == len(ran) else "FAIL"
    return {
        "profile": name,
        "summary": profile.summary,
        "criteria": [asdict(c) for c in profile.criteria],
        "verdict": verdict,
        "passed": len(passed),
        "ran": len(ran),
        "variants": variants,
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def count_variants(names: list[str], cores: int) -> int:
    """Variants a run will try (skipped ones included: they cost nothing, so this errs safe)."""
    return sum(
        1 if PROFILES[n].kind in ("grpc", "phoneme") else len(PROFILES[n].variants(cores))
        for n in names
    )
