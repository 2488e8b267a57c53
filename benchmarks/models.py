"""The models a profile decodes: shipped ones when they are there, otherwise random-weight
stand-ins of the same size (same speed; the decode length is fixed, not up to the gate)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from text2lips.model import LipDecoder, ModelConfig, get_config, read_config, save_model
from text2lips.runtime import ModelInfo
from text2lips.runtime.kinds import model_kind
from text2lips.testing import placeholder_lips as neutral_lips
from text2lips.testing import tiny_test_model

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO_ROOT / ".cache" / "benchmarks"
"""Random stand-ins live here (git-ignored), built once and reused across runs."""

# The fields that set the cost of a step; two configs equal on these run at the same speed.
_SIZE_FIELDS = (
    "symbols_embedding_dim",
    "encoder_embedding_dim",
    "encoder_n_convolutions",
    "attention_rnn_dim",
    "decoder_rnn_dim",
    "attention_dim",
    "attention_location_n_filters",
    "attention_location_kernel_size",
    "prenet",
    "postnet",
)
# Shipped directories that may hold each size, in order of preference.
_SHIPPED = {
    "paper": ("models/tacotron", "models/paper"),
    "edge": ("models/edge", "models/tacotron"),
}


@dataclass(frozen=True)
class BenchModel:
    """A model directory and what a report must say about it."""

    size: str
    """`paper`, `edge` or `tiny`."""
    path: Path
    random_weights: bool
    """True when no trained model of this size was found and a stand-in was built."""

    def describe(self) -> str:
        return f"{self.size} ({'random weights' if self.random_weights else self.path.name})"


def _size_key(cfg: ModelConfig) -> tuple:
    return tuple(getattr(cfg, f) for f in _SIZE_FIELDS)


def resolve(size: str, cache_dir: Path = DEFAULT_CACHE, *, tiny: bool = False) -> BenchModel:
    """The trained model of `size` if one ships, else a cached random stand-in.

    `tiny`: always the runtime's tiny test model (smoke tests), whatever the size asked for.
    """
    if tiny:
        path = cache_dir / "tiny"
        if not (path / "config.json").is_file():
            tiny_test_model(path, gate_bias=-10.0)
        return BenchModel("tiny", path, random_weights=True)
    want = _size_key(get_config(size))
    for rel in _SHIPPED[size]:
        path = REPO_ROOT / rel
        if (path / "config.json").is_file() and _size_key(read_config(path)) == want:
            return BenchModel(size, path, random_weights=False)
    path = cache_dir / f"random-{size}"
    if not (path / "config.json").is_file():
        build_random(size, path)
    return BenchModel(size, path, random_weights=True)


def resolve_default(cache_dir: Path = DEFAULT_CACHE, *, tiny: bool = False) -> BenchModel:
    """What `make run` serves: models/default whatever its size, else a random paper-size one."""
    if tiny:
        return resolve("paper", cache_dir, tiny=True)
    path = REPO_ROOT / "models" / "default"
    if (path / "config.json").is_file():
        kind = model_kind(path)
        if kind != "tacotron":  # e.g. the phoneme-timed model: no Tacotron size to name
            return BenchModel(kind, path, random_weights=False)
        key = _size_key(read_config(path))
        size = next((n for n in ("paper", "edge") if _size_key(get_config(n)) == key), "custom")
        return BenchModel(size, path, random_weights=False)
    return resolve("paper", cache_dir)


def build_random(size: str, out_dir: Path, seed: int = 0) -> Path:
    """A random-weight model of preset `size` that a server decodes to a predictable length.

    The gate never fires and the hard bound is 6 frames per symbol, so through the sidecar (which
    has no max_frames) it decodes FRAMES_PER_CHAR frames per character plus min_frames, as a
    trained model of natural speech would.
    """
    import torch

    from benchmarks.workload import FRAMES_PER_CHAR

    torch.manual_seed(seed)
    cfg = get_config(size).replace(max_frames_per_symbol=float(FRAMES_PER_CHAR))
    model = LipDecoder(cfg)
    with torch.no_grad():
        model.decoder.gate_layer.linear_layer.weight.zero_()
        model.decoder.gate_layer.linear_layer.bias.fill_(-10.0)
    info = ModelInfo(
        name=f"random-{size}",
        version="0",
        licence="benchmark stand-in, random weights",
        speakers={"neutral": neutral_lips()},
        default_speaker="neutral",
    )
    save_model(model, out_dir, metadata=info.to_metadata())
    return out_dir


def ensure_onnx_export(model_dir: Path) -> Path:
    """The model's ONNX graphs for the onnxruntime variants: its own onnx/ folder, else an
    export (made once, with engine_build) where the runtime looks for one in the cache."""
    from text2lips.runtime.graphs import (
        ENCODER_FILE,
        EXPORT_JSON,
        ONNX_DIR,
        cached_export_dir,
    )

    if (model_dir / ONNX_DIR / ENCODER_FILE).is_file():
        return model_dir / ONNX_DIR
    out = cached_export_dir(model_dir)
    if not (out / EXPORT_JSON).is_file():
        from engine_build.export import export_onnx
        from text2lips.files import atomic_dir

        with atomic_dir(out) as tmp:
            export_onnx(model_dir, tmp)
    return out
