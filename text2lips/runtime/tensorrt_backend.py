"""TensorRT backend: the built encoder and decoder-step engines, I/O bound to torch CUDA tensors.

Rows are TorchBackend's (torch tensors on the GPU), so join/keep are TorchBackend's too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from text2lips import Text2LipsError
from text2lips.model.tacotron import DecoderState
from text2lips.runtime.backend import StepResult, TorchBackend, TorchRows, closers_for
from text2lips.runtime.cuda_backend import require_cuda, step_result_to_numpy
from text2lips.runtime.graphs import (
    ENCODER_INPUTS,
    ENCODER_OUTPUTS,
    STATE_NAMES,
    STEP_INPUTS,
    STEP_OUTPUTS,
    model_fingerprint,
)
from text2lips.runtime.protocol import attention_readout

ENGINE_DIR = "engines"
"""Where from_model_dir looks: MODEL/engines/, written by `text2lips build-engine`."""
ENCODER_ENGINE = "encoder.engine"
STEP_ENGINE = "decoder_step.engine"
ENGINES_JSON = "engines.json"


def import_tensorrt() -> Any:
    """The tensorrt module, or a Text2LipsError naming the extra to install."""
    try:
        import tensorrt
    except ImportError:
        raise Text2LipsError(
            "TensorRT is not installed: pip install 'text2lips[tensorrt]' (needs an NVIDIA GPU)"
        ) from None
    return tensorrt


class _Engine:
    """One deserialised engine and its context; runs are ordered on torch's current stream."""

    def __init__(self, trt: Any, runtime: Any, file: Path, inputs: tuple[str, ...],
                 outputs: tuple[str, ...], device: torch.device) -> None:
        engine = runtime.deserialize_cuda_engine(file.read_bytes())
        if engine is None:
            raise Text2LipsError(
                f"TensorRT cannot load {file} (built for another GPU or TensorRT version?); "
                "rebuild it with text2lips build-engine"
            )
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        if sorted(names) != sorted(inputs + outputs):
            raise Text2LipsError(
                f"{file}: tensors {names}, expected {list(inputs + outputs)}; rebuild it"
            )
        self.file = file
        self.device = device
        self.engine = engine
        self.context = engine.create_execution_context()
        self.inputs, self.outputs = inputs, outputs
        dtypes = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32,
                  trt.int64: torch.int64, trt.bool: torch.bool, trt.int8: torch.int8}
        self.dtypes = {n: dtypes[engine.get_tensor_dtype(n)] for n in names}
        # Profile 0's max shape for each input, to turn an out-of-range call into a clear error.
        self.max_shapes = {n: tuple(engine.get_tensor_profile_shape(n, 0)[2]) for n in inputs}
        self.shapes = {n: tuple(engine.get_tensor_shape(n)) for n in names}  # -1 where dynamic

    def __call__(self, feeds: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        ctx = self.context
        held = []  # inputs converted here must live until the engine has read them
        for name in self.inputs:
            t = feeds[name].to(self.dtypes[name]).contiguous()
            held.append(t)
            if not ctx.set_input_shape(name, tuple(t.shape)):
                raise Text2LipsError(
                    f"{self.file.name}: input {name} of shape {tuple(t.shape)} is outside the "
                    f"engine's profile (max {self.max_shapes[name]}); rebuild with larger limits"
                )
            ctx.set_tensor_address(name, t.data_ptr())
        out = {}
        for name in self.outputs:
            out[name] = torch.empty(tuple(ctx.get_tensor_shape(name)), dtype=self.dtypes[name],
                                    device=self.device)
            ctx.set_tensor_address(name, out[name].data_ptr())
        if not ctx.execute_async_v3(torch.cuda.current_stream(self.device).cuda_stream):
            raise Text2LipsError(f"TensorRT failed to run {self.file.name}")
        # The caching allocator is stream-ordered: freeing `held` now cannot reuse its memory
        # before the engine has run, since later work goes on the same stream.
        del held
        return out


class TensorRTBackend:
    """Built TensorRT engines on one GPU; same rows semantics as TorchBackend on CUDA."""

    # TorchRows on the GPU, so TorchBackend's join and keep apply as they are.
    join = TorchBackend.join
    keep = TorchBackend.keep

    def __init__(self, engine_dir: str | Path, device: str | torch.device = "cuda") -> None:
        trt = import_tensorrt()
        self.device = require_cuda(device)
        if self.device.index is not None:
            torch.cuda.set_device(self.device)  # engines and contexts live on the current device
        engine_dir = Path(engine_dir)
        for file in (ENCODER_ENGINE, STEP_ENGINE):
            if not (engine_dir / file).is_file():
                raise Text2LipsError(
                    f"no {file} in {str(engine_dir)!r}; build it with: text2lips build-engine "
                    f"--onnx MODEL/onnx -o {engine_dir}"
                )
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.runtime = trt.Runtime(self.logger)
        self.encoder = _Engine(trt, self.runtime, engine_dir / ENCODER_ENGINE, ENCODER_INPUTS,
                               ENCODER_OUTPUTS, self.device)
        self.decoder = _Engine(trt, self.runtime, engine_dir / STEP_ENGINE, STEP_INPUTS,
                               STEP_OUTPUTS, self.device)
        self.engine_dir = engine_dir
        self.info = json.loads((engine_dir / ENGINES_JSON).read_text()) \
            if (engine_dir / ENGINES_JSON).is_file() else {}
        self.widths = {n: self.decoder.shapes[n][-1] for n in STATE_NAMES
                       if not n.startswith("attention_weights")}
        self.frame_dim = self.decoder.shapes["prev_frame"][-1]
        self.max_batch = self.decoder.max_shapes["prev_frame"][0]
        self.max_text = self.encoder.max_shapes["text"][1]
        self.name = "tensorrt"

    @classmethod
    def from_model_dir(cls, path: str | Path,
                       device: str | torch.device = "cuda") -> TensorRTBackend:
        """Engines in `path/engines/`, refused if they were built from other weights."""
        import_tensorrt()  # first: without it, nothing else said here would help
        path = Path(path)
        engine_dir = path / ENGINE_DIR
        info_file = engine_dir / ENGINES_JSON
        if not info_file.is_file():
            raise Text2LipsError(
                f"no TensorRT engines in {engine_dir}; build them on this GPU with: "
                f"text2lips export --model {path} -o {path}/onnx && "
                f"text2lips build-engine --onnx {path}/onnx -o {engine_dir}"
            )
        want = json.loads(info_file.read_text()).get("model_sha256")
        if want and (path / "model.safetensors").is_file() and model_fingerprint(path) != want:
            raise Text2LipsError(
                f"engines in {engine_dir} were built from other weights than {path}; rebuild them"
            )
        return cls(engine_dir, device)

    # --- rows ----------------------------------------------------------------------------

    @torch.inference_mode()
    def start(self, texts: list[list[int]]) -> TorchRows:
        rows: TorchRows | None = None
        for ids in texts:
            if not 1 <= len(ids) <= self.max_text:
                raise Text2LipsError(
                    f"text of {len(ids)} symbols: the engines take 1..{self.max_text} "
                    "(rebuild with a larger --max-text)"
                )
            # Batch 1 with no padding: the exported encoder is exact only there.
            text = torch.tensor([ids], dtype=torch.int64, device=self.device)
            lengths = torch.tensor([len(ids)], dtype=torch.int64, device=self.device)
            enc = self.encoder({"text": text, "lengths": lengths})
            memory = enc["memory"]
            L, dt = memory.shape[1], memory.dtype
            state = DecoderState(*(
                torch.zeros(1, L if n.startswith("attention_weights") else self.widths[n],
                            dtype=dt, device=self.device)
                for n in STATE_NAMES
            ))
            one = TorchRows(memory, enc["processed_memory"], enc["mask"].bool(), lengths - 1,
                            closers_for([ids], memory), state,
                            torch.zeros(1, self.frame_dim, dtype=dt, device=self.device))
            rows = self.join(rows, one)
        if rows is None:
            raise Text2LipsError("start() needs at least one text")
        return rows

    @torch.inference_mode()
    def step(self, rows: TorchRows) -> tuple[TorchRows, StepResult]:
        if len(rows) > self.max_batch:
            raise Text2LipsError(
                f"batch of {len(rows)} exceeds the engine's max batch {self.max_batch} "
                "(rebuild with a larger --max-batch)"
            )
        feeds = {"prev_frame": rows.prev, **dict(zip(STATE_NAMES, rows.state, strict=True)),
                 "memory": rows.memory, "processed_memory": rows.processed, "mask": rows.mask}
        out = self.decoder(feeds)
        state = DecoderState(*(out[f"new_{n}"] for n in STATE_NAMES))
        at_end, closure = attention_readout(state.attention_weights, rows.last, rows.closers)
        frame = out["frame"]
        rows = TorchRows(rows.memory, rows.processed, rows.mask, rows.last, rows.closers, state,
                         frame)
        return rows, step_result_to_numpy(frame, out["gate_logit"], at_end, closure)
