"""onnxruntime backend: the exported encoder and decoder-step graphs on the CPU, numpy in and out.

Needs only numpy and onnxruntime to load shipped graphs (MODEL/onnx/) and step them; torch is
imported only to export graphs a model directory lacks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from text2lips import Text2LipsError
from text2lips.runtime.closure_rule import bilabial_mask
from text2lips.runtime.protocol import Backend, StepResult

log = logging.getLogger(__name__)

# The graphs' contract, shared with engine_build.export (which writes it) and docs/engines.md.
# STATE_NAMES is DecoderState._fields, spelled out so stepping never imports torch.
STATE_NAMES = (
    "attention_hidden",
    "attention_cell",
    "decoder_hidden",
    "decoder_cell",
    "attention_weights",
    "attention_weights_cum",
    "attention_context",
)
ENCODER_INPUTS = ("text", "lengths")
ENCODER_OUTPUTS = ("memory", "processed_memory", "mask")
STEP_INPUTS = ("prev_frame", *STATE_NAMES, "memory", "processed_memory", "mask")
STEP_OUTPUTS = ("frame", "gate_logit", *(f"new_{n}" for n in STATE_NAMES))
ENCODER_FILE = "encoder.onnx"
STEP_FILE = "decoder_step.onnx"
EXPORT_JSON = "export.json"
# Tensors with a text-length axis (dim 1): padded on join, trimmed on keep.
TEXT_AXIS = frozenset({"attention_weights", "attention_weights_cum"})

_ORT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise Text2LipsError(
            "onnxruntime is not installed: pip install 'text2lips[onnx]'"
        ) from None
    return onnxruntime


def model_fingerprint(model_dir: Path) -> str:
    """sha256 of a model directory's weights and config: names its exported graphs."""
    from text2lips.model.files import CONFIG_NAME, WEIGHTS_NAME

    h = hashlib.sha256()
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        file = Path(model_dir) / name
        if not file.is_file():
            raise Text2LipsError(f"model directory {str(model_dir)!r} has no {name}")
        with open(file, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


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
        """Serve `path/onnx/` if it holds this model's export, else export into a cache first.

        Without torch, only shipped (`path/onnx/`) or already cached graphs can be served.
        """
        path = Path(path)
        local = path / "onnx"
        if (local / ENCODER_FILE).is_file():
            _check_fresh(path, local)
            return cls(local, threads=threads)
        return cls(cached_export(path), threads=threads)

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
        at_end = weights.argmax(axis=1) >= rows.last
        closure = (weights.astype(np.float32) * rows.closers).sum(axis=1)
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


def cached_export(model_dir: Path) -> Path:
    """`model_dir`'s ONNX export in the cache (~/.cache/text2lips/onnx/<hash>/), made if missing.

    Making it needs torch; without torch a missing export is a Text2LipsError saying how to
    ship one with the model.
    """
    from text2lips.data.dataset import cache_dir

    digest = model_fingerprint(model_dir)
    out = cache_dir() / "onnx" / digest[:16]
    if (out / EXPORT_JSON).is_file():
        return out
    try:
        import torch  # noqa: F401  (the exporter needs it; checked first for a clear error)
    except ImportError:
        raise Text2LipsError(
            f"no ONNX graphs in {model_dir}/onnx and torch is not installed to export them: "
            f"run `text2lips export --model {model_dir} -o {model_dir}/onnx` on a machine with "
            "torch and ship that folder with the model (or install torch)"
        ) from None
    log.warning(
        "no ONNX export in %s/onnx: exporting into %s (once; `text2lips export --model %s "
        "-o %s/onnx` ships it with the model)",
        model_dir,
        out,
        model_dir,
        model_dir,
    )
    from engine_build.export import export_onnx

    out.parent.mkdir(parents=True, exist_ok=True)
    # Export beside the target and rename: two processes racing leave one whole export.
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        export_onnx(model_dir, tmp)
        try:
            os.rename(tmp, out)
        except OSError:
            if not (out / EXPORT_JSON).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
