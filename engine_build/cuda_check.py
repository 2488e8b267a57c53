"""GPU check for the torch-cuda backend: CUDA-graph step latency and fp16-vs-fp32 parity, as JSON.

python -m engine_build.cuda_check --out DIR   (random weights: latency does not depend on them)
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from text2lips import Text2LipsError
from text2lips.model import LipDecoder, get_config
from text2lips.runtime.backend import TorchBackend
from text2lips.runtime.cuda_backend import CudaGraphBackend, require_cuda

CONFIGS = ("paper", "edge")
BATCHES = (1, 64, 512)


def _texts(n: int, length: int, n_symbols: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [rng.integers(1, n_symbols, size=length).tolist() for _ in range(n)]


def _latency(backend: Any, texts: list[list[int]], steps: int) -> dict[str, float]:
    """Per-step wall time (each step ends with its host copy, so it is synchronous)."""
    rows = backend.start(texts)
    for _ in range(5):  # first steps capture the graph / warm the allocator
        rows, _ = backend.step(rows)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        rows, _ = backend.step(rows)
        times.append(time.perf_counter() - t0)
    ms = sorted(t * 1e3 for t in times)
    return {"median_ms": round(statistics.median(ms), 4),
            "p90_ms": round(ms[int(0.9 * len(ms))], 4),
            "mean_ms": round(statistics.fmean(ms), 4)}


def _free_run(backend: Any, texts: list[list[int]], steps: int) -> np.ndarray:
    rows = backend.start(texts)
    frames = []
    for _ in range(steps):
        rows, res = backend.step(rows)
        frames.append(res.frames.copy())
    return np.stack(frames, axis=1)  # (B, T, 60)


def check(out_dir: Path, *, steps: int = 100, parity_steps: int = 200, text_len: int = 128,
          device: str = "cuda") -> dict[str, Any]:
    """Measure every config x batch and the parity figures; writes OUT/cuda_check.json."""
    dev = require_cuda(device)
    torch.backends.cudnn.benchmark = False  # fixed kernels, so graph and eager match
    doc: dict[str, Any] = {
        "gpu": torch.cuda.get_device_name(dev),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "text_len": text_len,
        "steps_timed": steps,
        "configs": {},
    }
    for name in CONFIGS:
        torch.manual_seed(0)
        cpu_model = LipDecoder(get_config(name)).eval()
        c = cpu_model.config
        entry: dict[str, Any] = {"latency": {}, "parity": {}}
        graph16 = CudaGraphBackend(cpu_model, dev)
        eager16 = CudaGraphBackend(cpu_model, dev, graphs=False)
        eager32 = TorchBackend(copy.deepcopy(cpu_model), dev)
        for batch in BATCHES:
            texts = _texts(batch, text_len, c.n_symbols, seed=batch)
            entry["latency"][str(batch)] = {
                "graph_fp16": _latency(graph16, texts, steps),
                "eager_fp16_bucketed": _latency(eager16, texts, steps),
                "eager_fp32": _latency(eager32, texts, steps),
            }
            print(f"{name} batch {batch}: {entry['latency'][str(batch)]}", file=sys.stderr)
        entry["buckets_captured"] = graph16.captured()
        entry["max_memory_allocated_mib"] = round(torch.cuda.max_memory_allocated(dev) / 2**20)

        # Parity on two utterances of different lengths (padding and masking exercised).
        texts = _texts(1, 60, c.n_symbols, seed=1) + _texts(1, 23, c.n_symbols, seed=2)
        ref = _free_run(TorchBackend(copy.deepcopy(cpu_model), "cpu"), texts, parity_steps)
        runs = {
            "graph_fp16": _free_run(CudaGraphBackend(cpu_model, dev), texts, parity_steps),
            "graph_fp32": _free_run(CudaGraphBackend(cpu_model, dev, half=False), texts,
                                    parity_steps),
            "eager_fp16_bucketed": _free_run(CudaGraphBackend(cpu_model, dev, graphs=False), texts,
                                             parity_steps),
        }
        scale = float(np.abs(ref).max())
        for key, got in runs.items():
            entry["parity"][f"{key}_vs_cpu_fp32_max_abs_mm"] = float(np.abs(got - ref).max())
        entry["parity"]["graph_fp16_vs_eager_fp16_max_abs_mm"] = float(
            np.abs(runs["graph_fp16"] - runs["eager_fp16_bucketed"]).max())
        entry["parity"]["cpu_fp32_frames_max_abs_mm"] = scale
        entry["parity"]["steps"] = parity_steps
        doc["configs"][name] = entry
        del graph16, eager16, eager32
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(dev)

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "cuda_check.json").write_text(json.dumps(doc, indent=2) + "\n")
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine_build.cuda_check", description=__doc__)
    parser.add_argument("--out", required=True, type=Path, help="directory for cuda_check.json")
    parser.add_argument("--steps", type=int, default=100, help="timed steps per measurement")
    parser.add_argument("--parity-steps", type=int, default=200, help="free-running steps compared")
    parser.add_argument("--text-len", type=int, default=128, help="symbols per timed utterance")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args(argv)
    try:
        doc = check(args.out, steps=args.steps, parity_steps=args.parity_steps,
                    text_len=args.text_len, device=args.device)
    except Text2LipsError as exc:
        print(f"cuda_check: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
