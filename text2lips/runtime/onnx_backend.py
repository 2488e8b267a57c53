"""onnxruntime backend: the exported encoder and decoder-step graphs on the CPU, numpy in and out.

Needs only numpy and onnxruntime to load exported graphs (MODEL/onnx/, or the cache) and step
them; writing them is `text2lips export`'s job (engine_build), never the runtime's.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from text2lips import Text2LipsError
from text2lips.runtime.closure_rule import bilabial_mask
from text2lips.runtime.graphs import (
    ENCODER_FILE,
    ENCODER_INPUTS,
    EXPORT_JSON,
    ONNX_DIR,
    STATE_NAMES,
    STEP_FILE,
    STEP_INPUTS,
    TEXT_AXIS,
    cached_export_dir,
    export_command,
    model_fingerprint,
)
from text2lips.runtime.protocol import Backend, StepResult, attention_readout

log = logging.getLogger(__name__)

_ORT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise Text2LipsError(
            "onnxruntime is not installed: pip install 'text2lips[onnx]'"
        ) from None
    return onnxruntime


@dataclass
class OnnxRows:
    """Batch state as numpy, row i = utterance i; same layout as the step graph's inputs."""

    memory: np.ndarray  # (B, L, E)
    processed: np.ndarray  # (B, L, A)
    mask: np.ndarray  # (B, L) bool, True on padding
    last: np.ndarray  # (B,) int64 index of each row's last symbol
    closers: np.ndarray  # (B, L) float32, 1.0 on bilabial letters
    state: tuple[np.ndarray, ...]  # the 7 STATE_NAMES arrays, batch-first
    prev: np.ndarray  # (B, 60) previous frame

    def __len__(self) -> int:
        return self.memory.shape[0]


def _pad_l(x: np.ndarray, length: int, value: float | bool = 0) -> np.ndarray:
    """Pad axis 1 (text length) of x up to `length`."""
    extra = length - x.shape[1]
    if extra == 0:
        return x
    widths = [(0, 0)] * x.ndim
    widths[1] = (0, extra)
    return np.pad(x, widths, constant_values=value)


class OnnxBackend(Backend):
    """Exported graphs on onnxruntime's CPU execution provider; rows semantics of TorchBackend."""

    name = "onnxruntime"

    def __init__(self, onnx_dir: str | Path, *, threads: int | None = None) -> None:
        ort = _ort()
        onnx_dir = Path(onnx_dir)
        for file in (ENCODER_FILE, STEP_FILE):
            if not (onnx_dir / file).is_file():
                raise Text2LipsError(
                    f"no {file} in {str(onnx_dir)!r}; write it with: "
                    f"text2lips export --model DIR -o {onnx_dir}"
                )
        if threads is not None and threads < 1:
            raise Text2LipsError(f"threads={threads}: must be >= 1")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One small graph per step: parallelism inside ops is all there is to have.
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.inter_op_num_threads = 1
        if threads is not None:
            opts.intra_op_num_threads = threads
        providers = ["CPUExecutionProvider"]
        self.onnx_dir = onnx_dir
        self.threads = threads
        self.encoder = ort.InferenceSession(str(onnx_dir / ENCODER_FILE), opts, providers=providers)
        self.decoder = ort.InferenceSession(str(onnx_dir / STEP_FILE), opts, providers=providers)
        for sess, want, file in (
            (self.encoder, ENCODER_INPUTS, ENCODER_FILE),
            (self.decoder, STEP_INPUTS, STEP_FILE),
        ):
            got = tuple(i.name for i in sess.get_inputs())
            if got != want:
                raise Text2LipsError(
                    f"{onnx_dir / file}: inputs {got}, expected {want}; re-export it"
                )
        inputs = {i.name: i for i in self.decoder.get_inputs()}
        self.dtype = _ORT_DTYPES[inputs["prev_frame"].type]
        # Fixed widths come from the graph itself, so the backend needs no model config.
        self.widths = {n: inputs[n].shape[-1] for n in STATE_NAMES if n not in TEXT_AXIS}
        self.frame_dim = int(inputs["prev_frame"].shape[-1])

    @classmethod
    def from_model_dir(cls, path: str | Path, threads: int | None = None) -> OnnxBackend:
        """Serve `path/onnx/` if it holds this model's export, else its export in the cache
        (`cached_export_dir`); without either, an error naming the export command."""
        path = Path(path)
        local = path / ONNX_DIR
        if (local / ENCODER_FILE).is_file():
            _check_fresh(path, local)
            return cls(local, threads=threads)
        cached = cached_export_dir(path) if (path / "model.safetensors").is_file() else None
        if cached is not None and (cached / EXPORT_JSON).is_file():
            return cls(cached, threads=threads)
        raise Text2LipsError(
            f"no ONNX graphs for {path} (looked in {local}"
            + (f" and {cached}" if cached is not None else "")
            + f"): run `{export_command(path)}` where torch is installed and ship that folder "
            "with the model"
        )

    # --- rows ----------------------------------------------------------------------------

    def _encode_one(self, ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Batch 1 with no padding: the export (pack=False) is exact only there.
        text = np.asarray(ids, dtype=np.int64)[None]  # (1, L)
        memory, processed, mask = self.encoder.run(
            None, {"text": text, "lengths": np.array([len(ids)], dtype=np.int64)}
        )
        return memory, processed, mask.astype(bool)

    def start(self, texts: list[list[int]]) -> OnnxRows:
        if not texts or any(len(t) == 0 for t in texts):
            raise Text2LipsError("start() needs at least one non-empty symbol list")
        rows: OnnxRows | None = None
        for ids in texts:
            memory, processed, mask = self._encode_one(ids)
            L = memory.shape[1]
            state = tuple(
                np.zeros((1, L) if n in TEXT_AXIS else (1, self.widths[n]), dtype=self.dtype)
                for n in STATE_NAMES
            )
            one = OnnxRows(
                memory,
                processed,
                mask,
                np.array([len(ids) - 1], dtype=np.int64),
                bilabial_mask(ids)[None],
                state,
                np.zeros((1, self.frame_dim), dtype=self.dtype),
            )
            rows = self.join(rows, one)
        assert rows is not None
        return rows

    def join(self, rows: OnnxRows | None, new: OnnxRows) -> OnnxRows:
        if rows is None or len(rows) == 0:
            return new
        L = max(rows.memory.shape[1], new.memory.shape[1])

        def cat_l(a: np.ndarray, b: np.ndarray, value: float | bool = 0) -> np.ndarray:
            return np.concatenate((_pad_l(a, L, value), _pad_l(b, L, value)))

        state = tuple(
            cat_l(a, b) if n in TEXT_AXIS else np.concatenate((a, b))
            for n, a, b in zip(STATE_NAMES, rows.state, new.state, strict=True)
        )
        return OnnxRows(
            cat_l(rows.memory, new.memory),
            cat_l(rows.processed, new.processed),
            cat_l(rows.mask, new.mask, True),
            np.concatenate((rows.last, new.last)),
            cat_l(rows.closers, new.closers),
            state,
            np.concatenate((rows.prev, new.prev)),
        )

    def keep(self, rows: OnnxRows, index: list[int]) -> OnnxRows:
        idx = np.asarray(index, dtype=np.int64)
        mask = rows.mask[idx]
        # Trim text padding no remaining row needs, so short batches stop paying for long ones.
        L = int((~mask).sum(axis=1).max()) if len(index) else mask.shape[1]
        # Copies, not views: onnxruntime wants C-contiguous inputs.
        trim = lambda x: np.ascontiguousarray(x[idx, :L])  # noqa: E731
        state = tuple(
            trim(x) if n in TEXT_AXIS else x[idx]
            for n, x in zip(STATE_NAMES, rows.state, strict=True)
        )
        return OnnxRows(
            trim(rows.memory),
            trim(rows.processed),
            np.ascontiguousarray(mask[:, :L]),
            rows.last[idx],
            trim(rows.closers),
            state,
            rows.prev[idx],
        )

    def step(self, rows: OnnxRows) -> tuple[OnnxRows, StepResult]:
        feeds = {
            "prev_frame": rows.prev,
            **dict(zip(STATE_NAMES, rows.state, strict=True)),
            "memory": rows.memory,
            "processed_memory": rows.processed,
            "mask": rows.mask,
        }
        frame, gate, *state = self.decoder.run(None, feeds)
        weights = state[STATE_NAMES.index("attention_weights")]
        at_end, closure = attention_readout(weights, rows.last, rows.closers)
        rows = OnnxRows(
            rows.memory, rows.processed, rows.mask, rows.last, rows.closers, tuple(state), frame
        )
        gate = gate.astype(np.float32)
        return rows, StepResult(
            frames=frame.astype(np.float32, copy=False),
            stop_prob=1.0 / (1.0 + np.exp(-gate)),
            at_end=at_end,
            closure=closure,
        )

    def attention(self, rows: OnnxRows) -> np.ndarray:
        """(B, L) float32: each row's attention over its text at the last step."""
        return rows.state[STATE_NAMES.index("attention_weights")].astype(np.float32)


def _check_fresh(model_dir: Path, onnx_dir: Path) -> None:
    """Refuse graphs exported from other weights than the ones in `model_dir`."""
    try:
        doc = json.loads((onnx_dir / EXPORT_JSON).read_text())
    except (OSError, ValueError):
        return  # hand-made or older export: nothing to compare against
    want = doc.get("model_sha256")
    has_weights = (model_dir / "model.safetensors").is_file()
    if want and has_weights and model_fingerprint(model_dir) != want:
        raise Text2LipsError(
            f"{onnx_dir} was exported from other weights than {model_dir}; re-export: "
            f"text2lips export --model {model_dir} -o {onnx_dir}"
        )
