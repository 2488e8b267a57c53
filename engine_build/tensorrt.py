"""`text2lips build-engine`: TensorRT 10 engines from the exported ONNX graphs, for this GPU only.

Engines are tied to the GPU model and TensorRT version that built them; engines.json says which.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from text2lips import Text2LipsError
from text2lips.runtime.graphs import ENCODER_FILE, EXPORT_JSON, STEP_FILE
from text2lips.runtime.tensorrt_backend import (
    ENCODER_ENGINE,
    ENGINES_JSON,
    STEP_ENGINE,
    import_tensorrt,
)

TIMING_CACHE = "timing.cache"


def _gpu_name() -> str:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "unknown"
    except Exception:  # a name for the record only; never worth failing a build over
        return "unknown"


def _profile_shapes(shape: tuple[int, ...], batch: tuple[int, int, int],
                    text: tuple[int, int, int]) -> list[tuple[int, ...]]:
    """min/opt/max shapes for an input whose dynamic dims are (batch, text_len, ...)."""
    out = []
    for k in range(3):
        dims = []
        for axis, d in enumerate(shape):
            if d >= 0:
                dims.append(d)
            elif axis == 0:
                dims.append(batch[k])
            elif axis == 1:
                dims.append(text[k])
            else:
                raise Text2LipsError(f"unexpected dynamic axis {axis} in input shape {shape}")
        out.append(tuple(dims))
    return out


def _build_one(trt: Any, builder: Any, logger: Any, onnx_file: Path, engine_file: Path, *,
               fp16: bool, batch: tuple[int, int, int], text: tuple[int, int, int],
               workspace_bytes: int, cache: bytes) -> tuple[dict[str, Any], bytes]:
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_file)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise Text2LipsError(f"TensorRT cannot parse {onnx_file}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    timing_cache = config.create_timing_cache(cache)
    config.set_timing_cache(timing_cache, ignore_mismatch=False)

    profile = builder.create_optimization_profile()
    profiles: dict[str, dict[str, list[int]]] = {}
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        lo, opt, hi = _profile_shapes(tuple(tensor.shape), batch, text)
        profile.set_shape(tensor.name, lo, opt, hi)
        profiles[tensor.name] = {"min": list(lo), "opt": list(opt), "max": list(hi)}
    config.add_optimization_profile(profile)

    t0 = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise Text2LipsError(
            f"TensorRT failed to build {engine_file.name} from {onnx_file} (see its log above)"
        )
    engine_file.write_bytes(bytes(serialized))
    info = {
        "file": engine_file.name,
        "onnx": str(onnx_file),
        "bytes": engine_file.stat().st_size,
        "build_s": round(time.perf_counter() - t0, 1),
        "profiles": profiles,
    }
    return info, bytes(config.get_timing_cache().serialize())


def build_engines(
    onnx_dir: str | Path, out_dir: str | Path, *, fp16: bool = False, max_batch: int = 512,
    max_text: int = 400, opt_batch: int = 64, opt_text: int = 128, workspace_gib: float = 4.0,
    timing_cache: str | Path | None = None,
) -> dict[str, Any]:
    """Build encoder.engine and decoder_step.engine into `out_dir`; returns what engines.json holds.

    The step engine takes batch 1..max_batch and text 1..max_text; the encoder takes batch 1
    (the runtimes encode each utterance alone, the only way the exported encoder is exact).
    """
    onnx_dir, out_dir = Path(onnx_dir), Path(out_dir)
    for name, value, lo in (("max_batch", max_batch, 1), ("max_text", max_text, 1),
                            ("opt_batch", opt_batch, 1), ("opt_text", opt_text, 1)):
        if value < lo:
            raise Text2LipsError(f"{name}={value}: must be >= {lo}")
    if workspace_gib <= 0:
        raise Text2LipsError(f"workspace_gib={workspace_gib}: must be > 0")
    trt = import_tensorrt()
    for file in (ENCODER_FILE, STEP_FILE):
        if not (onnx_dir / file).is_file():
            raise Text2LipsError(
                f"no {file} in {str(onnx_dir)!r}; write it first: "
                f"text2lips export --model MODEL -o {onnx_dir}"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    cache_file = Path(timing_cache) if timing_cache else out_dir / TIMING_CACHE
    cache = cache_file.read_bytes() if cache_file.is_file() else b""

    logger = trt.Logger(trt.Logger.WARNING)
    try:
        builder = trt.Builder(logger)
    except Exception as exc:  # TensorRT raises plain TypeError/RuntimeError without a GPU
        raise Text2LipsError(
            f"TensorRT cannot start (no usable NVIDIA GPU or driver?): {exc}"
        ) from None
    if builder is None:
        raise Text2LipsError("TensorRT cannot start (no usable NVIDIA GPU or driver?)")
    opt_b, opt_t = min(opt_batch, max_batch), min(opt_text, max_text)
    engines = {}
    for key, onnx_name, engine_name, batch in (
        ("encoder", ENCODER_FILE, ENCODER_ENGINE, (1, 1, 1)),
        ("decoder_step", STEP_FILE, STEP_ENGINE, (1, opt_b, max_batch)),
    ):
        engines[key], cache = _build_one(
            trt, builder, logger, onnx_dir / onnx_name, out_dir / engine_name, fp16=fp16,
            batch=batch, text=(1, opt_t, max_text), workspace_bytes=int(workspace_gib * 2**30),
            cache=cache,
        )
    cache_file.write_bytes(cache)

    export: dict[str, Any] = {}
    if (onnx_dir / EXPORT_JSON).is_file():
        export = json.loads((onnx_dir / EXPORT_JSON).read_text())
    doc = {
        "format": 1,
        "tensorrt_version": trt.__version__,
        "gpu": _gpu_name(),
        "precision": "fp16" if fp16 else "fp32",
        "max_batch": max_batch,
        "max_text": max_text,
        "workspace_gib": workspace_gib,
        "timing_cache": str(cache_file),
        "model_sha256": export.get("model_sha256"),
        "model_config": export.get("model_config"),
        "engines": engines,
    }
    (out_dir / ENGINES_JSON).write_text(json.dumps(doc, indent=2) + "\n")
    return doc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--onnx", required=True, type=Path,
                        help="directory written by `text2lips export`")
    parser.add_argument("-o", "--out", required=True, type=Path,
                        help="output directory (MODEL/engines is where the tensorrt backend looks)")
    parser.add_argument("--fp16", action="store_true", help="allow fp16 kernels (I/O stays fp32)")
    parser.add_argument("--max-batch", type=int, default=512, help="largest decoder batch")
    parser.add_argument("--max-text", type=int, default=400, help="longest text, symbols")
    parser.add_argument("--opt-batch", type=int, default=64, help="batch to tune for")
    parser.add_argument("--opt-text", type=int, default=128, help="text length to tune for")
    parser.add_argument("--workspace-gib", type=float, default=4.0, help="builder workspace")
    parser.add_argument("--timing-cache", type=Path, default=None,
                        help="timing cache file to reuse and update (default OUT/timing.cache)")


def run(args: argparse.Namespace) -> int:
    doc = build_engines(
        args.onnx, args.out, fp16=args.fp16, max_batch=args.max_batch, max_text=args.max_text,
        opt_batch=args.opt_batch, opt_text=args.opt_text, workspace_gib=args.workspace_gib,
        timing_cache=args.timing_cache,
    )
    built = ", ".join(f"{e['file']} {e['bytes'] / 1e6:.1f} MB in {e['build_s']} s"
                      for e in doc["engines"].values())
    what = f"TensorRT {doc['tensorrt_version']}, {doc['gpu']}, {doc['precision']}"
    print(f"{args.out}: {built} ({what})")
    return 0
