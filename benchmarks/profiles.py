"""The profiles (edge, cpu-server, gpu, grpc), their variants and pass criteria, and the run of
one in-process variant: time to first frame, decode pairs against the reference, batch sweep."""

from __future__ import annotations

import functools
import gc
import importlib.util
import time
from dataclasses import asdict

import torch

from benchmarks import measure
from benchmarks.common import (
    RTF,
    RTF_LIMIT,
    Context,
    Criterion,
    Profile,
    Variant,
    decode_figures,
    judge,
    ratios,
    run_pairs,
    skipped,
)
from benchmarks.measure import log
from benchmarks.models import BenchModel, ensure_onnx_export, resolve
from benchmarks.reference import PaperReference
from benchmarks.workload import FRAME_MS
from text2lips.runtime import Synthesizer


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
    ]


PROFILES: dict[str, Profile] = {
    "edge": Profile("edge", "one CPU thread, edge model", _edge, (RTF,)),
    "cpu-server": Profile("cpu-server", "all cores, paper and edge models", _cpu_server, (RTF,)),
    "gpu": Profile("gpu", "CUDA fp16, CUDA graphs when the runtime has them", _gpu, (RTF,)),
    "grpc": Profile(
        "grpc",
        "end to end through `text2lips serve` on loopback",
        lambda cores: [],
        (
            Criterion(
                "ttff_p95_ms", 50.0, "p95 time to first frame <= 50 ms as the client sees it"
            ),
            RTF,
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
    "voice": Profile(
        "voice",
        "Piper joe + the phoneme model on its timeline (RTF judged with the voice on all the "
        "machine's cores, as one NPC on it runs; one thread each reported beside)",
        lambda cores: [],
        (
            Criterion("first_audio_p50_ms", 120.0, "first audio chunk p50 <= 120 ms"),
            Criterion("first_frame_p50_ms", 120.0, "first lip frame p50 <= 120 ms"),
            Criterion("rtf_all_cores", 0.06, "voice + lips RTF <= 0.06 on this machine"),
            Criterion("streams_not_realtime", 0,
                      "12 concurrent SpeakVoiced streams all stay real time (measured)"),
        ),
        kind="voice",
    ),
}
GROUPS: dict[str, tuple[str, ...]] = {
    "default": ("edge", "cpu-server", "grpc", "phoneme", "voice"),
    "all": ("edge", "cpu-server", "gpu", "grpc", "phoneme"),  # voice: PROFILE=voice or default
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
    if variant.backend == "onnxruntime":
        ensure_onnx_export(model.path)
    return Synthesizer.load(model.path, backend=variant.backend, threads=variant.threads)


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
    elif profile.kind == "voice":
        from benchmarks.voice import run_voice

        variants.append(run_voice(profile, ctx))
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
        1 if PROFILES[n].kind in ("grpc", "phoneme", "voice") else len(PROFILES[n].variants(cores))
        for n in names
    )
