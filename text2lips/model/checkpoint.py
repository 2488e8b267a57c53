"""Model checkpoints (model.safetensors + config.json) and NVIDIA Tacotron 2 transfer."""

from __future__ import annotations

import json
import os
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
    "load_nvidia_tacotron2",
    "load_state_from",
    "read_config",
    "read_metadata",
    "save_model",
]

# Parts of an NVIDIA Tacotron 2 that mean the same thing here. Embedding and encoder must
# fit; attention and gate are taken only when their shapes happen to match.
NVIDIA_REQUIRED = ("embedding.", "encoder.")
NVIDIA_OPTIONAL = ("decoder.attention_layer.", "decoder.gate_layer.")


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


def load_state_from(
    model: LipDecoder, other_checkpoint_dir: Path, *, freeze: Iterable[str] = ()
) -> list[str]:
    """Initialise `model` from one of our checkpoints (e.g. pretrained on the synthetic corpus).

    Copies every tensor whose name and shape match, freezes `freeze`, returns the copied names.
    """
    tensors = _read_weights(other_checkpoint_dir)
    loaded = _copy_matching(model, tensors)
    if not loaded:
        raise CheckpointError(
            f"nothing in {str(other_checkpoint_dir)!r} fits this model "
            f"(its config: {read_config(other_checkpoint_dir)})"
        )
    model.freeze(freeze)
    return loaded


def _nvidia_state_dict(
    state_dict_or_path: Mapping[str, Any] | Path | str,
) -> dict[str, torch.Tensor]:
    if isinstance(state_dict_or_path, (str, os.PathLike)):
        path = Path(state_dict_or_path)
        if not path.is_file():
            raise CheckpointError(f"no NVIDIA Tacotron 2 checkpoint at {str(path)!r}")
        try:
            # weights_only: a checkpoint from the internet must not run code on load.
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for a bad pickle
            raise CheckpointError(
                f"cannot read NVIDIA Tacotron 2 checkpoint {str(path)!r}: {exc}"
            ) from None
    else:
        obj = state_dict_or_path
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise CheckpointError(
            f"NVIDIA Tacotron 2 checkpoint is a {type(obj).__name__}, not a state dict"
        )
    # DataParallel / DistributedDataParallel training saves every key under "module.".
    return {
        (k[len("module.") :] if k.startswith("module.") else k): v
        for k, v in obj.items()
        if isinstance(v, torch.Tensor)
    }


def load_nvidia_tacotron2(
    model: LipDecoder,
    state_dict_or_path: Mapping[str, Any] | Path | str,
    *,
    freeze: Iterable[str] = ("embedding", "encoder"),
) -> list[str]:
    """Initialise `model` from an NVIDIA/tacotron2 checkpoint (a mel model trained on speech).

    Copies the symbol embedding and encoder (they must fit: use a config with NVIDIA's sizes,
    e.g. the `paper` preset), plus the attention and gate layers where shapes match; freezes
    `freeze`; returns the copied keys.
    """
    source = _nvidia_state_dict(state_dict_or_path)
    target = model.state_dict()
    required = {k: v for k, v in source.items() if k.startswith(NVIDIA_REQUIRED)}
    if not required:
        raise CheckpointError(
            "not an NVIDIA Tacotron 2 state dict: no 'embedding.*' or 'encoder.*' keys "
            f"(first keys: {', '.join(list(source)[:5])})"
        )
    misfit = [
        f"{k} {tuple(v.shape)} vs {tuple(target[k].shape) if k in target else 'absent'}"
        for k, v in required.items()
        if k not in target or target[k].shape != v.shape
    ]
    if misfit:
        raise CheckpointError(
            "NVIDIA Tacotron 2 encoder does not fit this model config (use NVIDIA's sizes, "
            f"e.g. the 'paper' preset): {'; '.join(misfit[:4])}"
        )
    loaded = _copy_matching(model, source, NVIDIA_REQUIRED + NVIDIA_OPTIONAL)
    model.freeze(freeze)
    return loaded
