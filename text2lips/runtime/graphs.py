"""The exported graphs' contract: file names and tensor names that `text2lips export`
(engine_build.export) writes and the onnxruntime and TensorRT backends read (docs/engines.md).

It lives in the runtime so that serving never imports the build tool; a model directory
without graphs is an error that names the command to run (`export_command`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from text2lips import Text2LipsError

STATE_NAMES = (
    "attention_hidden",
    "attention_cell",
    "decoder_hidden",
    "decoder_cell",
    "attention_weights",
    "attention_weights_cum",
    "attention_context",
)
"""DecoderState._fields, spelled out so stepping a graph never imports torch."""
ENCODER_INPUTS = ("text", "lengths")
ENCODER_OUTPUTS = ("memory", "processed_memory", "mask")
STEP_INPUTS = ("prev_frame", *STATE_NAMES, "memory", "processed_memory", "mask")
STEP_OUTPUTS = ("frame", "gate_logit", *(f"new_{n}" for n in STATE_NAMES))
ONNX_DIR = "onnx"
"""MODEL/onnx/: where a model directory ships its graphs."""
ENCODER_FILE = "encoder.onnx"
STEP_FILE = "decoder_step.onnx"
EXPORT_JSON = "export.json"
"""What was exported, from which weights (`model_sha256`), with which opset and parity."""
TEXT_AXIS = frozenset({"attention_weights", "attention_weights_cum"})
"""Tensors with a text-length axis (dim 1): padded on join, trimmed on keep."""


def export_command(model_dir: str | Path, out_dir: str | Path | None = None) -> str:
    """The command that writes `model_dir`'s graphs (into MODEL/onnx/ by default)."""
    out = Path(out_dir) if out_dir is not None else Path(model_dir) / ONNX_DIR
    return f"text2lips export --model {model_dir} -o {out}"


def model_fingerprint(model_dir: str | Path) -> str:
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


def cached_export_dir(model_dir: str | Path) -> Path:
    """Where an export of `model_dir`'s exact weights may wait in the cache
    (~/.cache/text2lips/onnx/<hash>/): the onnxruntime backend serves it when the model
    directory ships no onnx/ folder; tools that export for a model they cannot write into
    (the benchmarks' stand-ins) put it here."""
    from text2lips.data.dataset import cache_dir

    return cache_dir() / "onnx" / model_fingerprint(model_dir)[:16]
