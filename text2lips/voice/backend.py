"""The engine under the Piper voice's flow and waveform decoder (HiFi-GAN): OpenVINO where
installed (bf16 where the CPU has it, about twice onnxruntime's speed), onnxruntime otherwise.

Only the flow and the decoder change engine: the encoder (durations, so the lips' timeline)
stays on onnxruntime in f32, so timelines are the same whichever engine makes the sound.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from text2lips import Text2LipsError

BACKENDS = ("openvino", "onnxruntime")
"""Engines for the flow and the decoder, in order of preference."""
PRECISIONS = ("bf16", "f32")
ENV_BACKEND = "TEXT2LIPS_VOICE_BACKEND"
ENV_PRECISION = "TEXT2LIPS_VOICE_PRECISION"

BUCKETS = (34, 44, 56, 72, 96, 128, 168, 224, 296, 392, 520, 688, 912, 1200)
"""Input lengths (latent frames) OpenVINO is given, for the decoder and the flow: its first
call on a new length costs 40-180 ms more than later ones (it builds kernels for the shape), so
a window's context is widened on its interior side to the next of these (a sentence's prior,
for the flow, is zero-padded to one with its mask, which is exact). 34 and 72 are the first
two windows of a sentence with their context (windows() in piper.py); the rest grow by about
1.3x. A window that fits none inside its sentence is cut in pieces that do (plan)."""
WARM_UP_TO = 520
"""Decoder buckets up to this length are run once at load (~1 s): the first windows of every
sentence use the small ones, so the first audio never pays for a new shape, and a build inside
a line (35-60 ms for 168-520 frames, measured) would hold a core that concurrent lines are
waiting for; larger ones (long sentences only) are built on first use."""


@dataclass(frozen=True)
class DecoderOptions:
    """How the flow and the waveform decoder run; empty fields are chosen for this machine."""

    backend: str = ""
    """openvino or onnxruntime; empty: $TEXT2LIPS_VOICE_BACKEND, else openvino where
    installed, else onnxruntime."""
    precision: str = ""
    """bf16 or f32 (OpenVINO only: onnxruntime runs f32); empty: $TEXT2LIPS_VOICE_PRECISION,
    else bf16 where OpenVINO's CPU plugin lists BF16, else f32."""
    threads: int | None = None
    """Intra-op threads of one flow or decoder call; None: the engine's default (all cores)."""

    def resolved(self) -> DecoderOptions:
        """The options with every choice made (Text2LipsError naming a bad value)."""
        backend = self.backend or os.environ.get(ENV_BACKEND, "") or (
            "openvino" if importlib.util.find_spec("openvino") else "onnxruntime")
        if backend not in BACKENDS:
            raise Text2LipsError(f"voice backend {backend!r}: choose one of "
                                 f"{', '.join(BACKENDS)}")
        if backend == "openvino" and importlib.util.find_spec("openvino") is None:
            raise Text2LipsError("voice backend 'openvino' needs openvino: pip install "
                                 "'text2lips[voice]'")
        precision = self.precision or os.environ.get(ENV_PRECISION, "") or (
            "bf16" if backend == "openvino" and _cpu_has_bf16() else "f32")
        if precision not in PRECISIONS:
            raise Text2LipsError(f"voice precision {precision!r}: choose one of "
                                 f"{', '.join(PRECISIONS)}")
        if backend == "onnxruntime" and precision != "f32":
            raise Text2LipsError(f"voice precision {precision!r} needs the openvino backend; "
                                 "onnxruntime runs f32")
        return replace(self, backend=backend, precision=precision)


def openvino_runtime() -> ModuleType:
    """The openvino package, imported with its usage telemetry off. `import openvino` imports
    its model converter, which (with openvino-telemetry installed and no opt-out file in the
    home directory) sends an "import" event to Google Analytics from a forked process, and
    that fork, made from a threaded server, crashed in the voiced tests. A sidecar in a game
    sends nothing anywhere: with `openvino_telemetry` unimportable, the converter falls back
    to its own no-op stub."""
    if "openvino" not in sys.modules:
        sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]
    import openvino

    return openvino


def _cpu_has_bf16() -> bool:
    openvino = openvino_runtime()
    return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


class Engine(Protocol):
    """One graph (the flow or the decoder) on one engine; safe to call from many threads at
    once."""

    backend: str
    precision: str
    buckets: tuple[int, ...]
    """Input lengths (frames) to widen or pad inputs to; empty: any length costs the same."""

    def __call__(self, *inputs: np.ndarray) -> np.ndarray:
        """The graph's inputs in order -> its first output, float32 (a copy)."""
        ...


def onnxruntime_session(path: Path, threads: int | None) -> Any:
    """An onnxruntime CPU session of the graph at `path`, `threads` intra-op threads (None:
    onnxruntime's default)."""
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), sess_options=opts,
                                        providers=["CPUExecutionProvider"])


class OnnxRuntimeEngine:
    """One onnxruntime session (its run() is thread-safe)."""

    backend, precision, buckets = "onnxruntime", "f32", ()

    def __init__(self, path: Path, threads: int | None) -> None:
        self._session = onnxruntime_session(path, threads)
        self._inputs = [i.name for i in self._session.get_inputs()]

    def __call__(self, *inputs: np.ndarray) -> np.ndarray:
        out = self._session.run(None, dict(zip(self._inputs, inputs, strict=True)))[0]
        return np.asarray(out, np.float32)


class OpenVinoEngine:
    """One compiled OpenVINO model, an infer request per calling thread (a request holds its
    buffers and is not thread-safe; the sidecar runs each voiced stream in its own thread)."""

    backend, buckets = "openvino", BUCKETS

    def __init__(self, path: Path, precision: str, threads: int | None) -> None:
        openvino = openvino_runtime()
        config: dict[str, object] = {"INFERENCE_PRECISION_HINT": precision}
        if threads:
            # INFERENCE_NUM_THREADS is the model's whole pool, shared by its streams: with
            # one stream of one thread, two threads' infers ran one after the other (measured
            # 2.0x the time for 2x the work); one stream per `threads` cores runs them side
            # by side (1.04x), as the sidecar's concurrent voiced streams need.
            streams = max(1, len(os.sched_getaffinity(0)) // threads)
            config.update(NUM_STREAMS=streams, INFERENCE_NUM_THREADS=streams * threads)
        else:
            config["PERFORMANCE_HINT"] = "LATENCY"
        # Compiling takes ~0.15 s (measured), so compiled blobs are not cached on disk.
        core = openvino.Core()
        self._model = core.compile_model(core.read_model(str(path)), "CPU", config)
        self._output = self._model.outputs[0]
        self._local = threading.local()
        self.precision = precision

    def __call__(self, *inputs: np.ndarray) -> np.ndarray:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._model.create_infer_request()
        out = request.infer(dict(enumerate(inputs)))[self._output]
        return np.array(out, np.float32)  # a copy: the request reuses its buffer

    def warm(self, up_to: int) -> None:
        """Build the kernels of the buckets up to `up_to` frames now, so no call waits for
        them (every input is (1, C, T), C from the graph)."""
        channels = [int(i.get_partial_shape()[1].get_length()) for i in self._model.inputs]
        for n in BUCKETS:
            if n <= up_to:
                self(*(np.zeros((1, c, n), np.float32) for c in channels))


def load_engine(path: Path, options: DecoderOptions, warm_up_to: int = WARM_UP_TO) -> Engine:
    """The graph at `path` on the engine `options` choose (resolved first); on OpenVINO its
    buckets up to `warm_up_to` frames are built now."""
    o = options.resolved()
    if o.backend == "openvino":
        engine = OpenVinoEngine(path, o.precision, o.threads)
        engine.warm(warm_up_to)
        return engine
    return OnnxRuntimeEngine(path, o.threads)


def padded(n: int, buckets: tuple[int, ...]) -> int:
    """The length an input of `n` frames is zero-padded to: the first bucket that holds it;
    past the largest, a multiple of 128 (few shapes, each built once); without buckets, n."""
    if not buckets:
        return n
    return next((b for b in buckets if b >= n), -(-n // 128) * 128)


def plan(start: int, stop: int, total: int, context: int, buckets: tuple[int, ...]
         ) -> list[tuple[int, int, int, int]]:
    """How to decode window [start, stop) of a sentence of `total` latent frames: pieces
    (start, stop, lo, hi), each decoding [lo, hi) for its own [start, stop), with `context`
    frames either side (as far as the sentence goes). With `buckets`, every [lo, hi) is a
    bucket long: the context is widened on the interior side, and a window no bucket fits
    inside the sentence is cut in pieces that do. Never padded beyond the sentence (zeros
    there would change the audio at its edges); a sentence shorter than every bucket is
    decoded whole."""
    if not buckets:
        return [(start, stop, max(start - context, 0), min(stop + context, total))]
    if total < buckets[0]:
        return [(start, stop, 0, total)]
    pieces = []
    while start < stop:
        lo, need_hi = max(start - context, 0), min(stop + context, total)
        size = next((b for b in buckets if b >= need_hi - lo and b <= total), None)
        if size is not None:  # one bucket holds the rest: widen right first, then left
            lo = min(lo, total - size)
            pieces.append((start, stop, lo, lo + size))
            break
        size = max(b for b in buckets if b <= total)  # the rest does not fit: cut
        lo = min(lo, total - size)
        end = stop if lo + size >= need_hi else lo + size - context
        pieces.append((start, end, lo, lo + size))
        start = end
    return pieces
