"""Model checkpoints (model.safetensors + config.json) and NVIDIA Tacotron 2 transfer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from text2lips.files import atomic_path
from text2lips.model.files import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    CheckpointError,
    read_config,
    read_metadata,
)
from text2lips.model.files import model_dir as _model_dir
from text2lips.model.tacotron import LipDecoder

# The config.json side is torch-free (text2lips.model.files); its names are re-exported here.
__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "CheckpointError",
    "load_model",
    "load_state_from",
    "read_config",
    "read_metadata",
    "save_model",
]

def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    with atomic_path(path) as tmp:
        write(str(tmp))


def save_model(
    model: LipDecoder, out_dir: Path, *, metadata: dict[str, Any] | None = None, half: bool = False
) -> None:
    """Write `out_dir/model.safetensors` and `out_dir/config.json`; `half` stores fp16 weights."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu()
        if half and tensor.is_floating_point():
            tensor = tensor.half()
        tensors[name] = tensor.contiguous()
    doc = {"model": model.config.to_dict(), "metadata": dict(metadata or {})}
    text = json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n"
    # Weights first, config last: the config names the model the weights must fit.
    _atomic_write(out_dir / WEIGHTS_NAME, lambda tmp: save_file(tensors, tmp))
    _atomic_write(out_dir / CONFIG_NAME, lambda tmp: Path(tmp).write_text(text))


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    file = _model_dir(path) / WEIGHTS_NAME
    try:
        return load_file(file)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"corrupt model weights {str(file)!r}: {exc}") from None


def load_model(path: Path, device: str | torch.device = "cpu") -> LipDecoder:
    """Rebuild the exact model saved in directory `path`, in fp32 and eval() mode."""
    config = read_config(path)
    tensors = _read_weights(path)
    with torch.random.fork_rng(devices=[]):  # the throwaway init must not move the caller's RNG
        model = LipDecoder(config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"weights in {str(path)!r} do not fit its config: {exc}") from None
    return model.to(device).eval()


def _copy_matching(
    model: LipDecoder, source: Mapping[str, torch.Tensor], prefixes: Iterable[str] | None = None
) -> list[str]:
    """Copy every tensor whose name (under `prefixes`, if given) and shape match; returns names."""
    target = model.state_dict()
    loaded = []
    with torch.no_grad():
        for name, value in source.items():
            if prefixes is not None and not name.startswith(tuple(prefixes)):
                continue
            if name in target and target[name].shape == value.shape:
                target[name].copy_(value.to(target[name].dtype))
                loaded.append(name)
    return loaded


def load_state_from(model: LipDecoder, other_checkpoint_dir: Path) -> list[str]:
    """Initialise `model` from one of our checkpoints (e.g. pretrained on the synthetic corpus).

    Copies every tensor whose name and shape match; returns the copied names.
    """
    tensors = _read_weights(other_checkpoint_dir)
    loaded = _copy_matching(model, tensors)
    if not loaded:
        raise CheckpointError(
            f"nothing in {str(other_checkpoint_dir)!r} fits this model "
            f"(its config: {read_config(other_checkpoint_dir)})"
        )
    return loaded
