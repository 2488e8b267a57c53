"""Model kinds: `config.json`'s `kind` picks the loader that `Synthesizer.load` calls.

Each kind registers itself once (`register_kind`); a loader imports its own heavy modules
inside the function, so reading this registry imports no model code and makes no cycle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from text2lips import Text2LipsError

if TYPE_CHECKING:
    from text2lips.runtime.synthesizer import Synthesizer

TACOTRON = "tacotron"
"""The paper's Tacotron lip decoder (text2lips.model), timing itself with its stop gate."""
VISEME = "viseme"
"""The viseme baseline (text2lips.viseme), rendered on espeak-ng's phoneme timing."""
PHONEME = "phoneme"
"""The phoneme-timed network (text2lips.phoneme), rendered on a phoneme timeline."""

DEFAULT_KIND = TACOTRON
"""The kind of a config.json that names none (the paper's models predate the field)."""

_ALIASES = {"neural": DEFAULT_KIND}
"""Kinds under older names: Tacotron checkpoints record ModelInfo.kind "neural"."""


@dataclass(frozen=True)
class LoadOptions:
    """How to load a model, whatever its kind."""

    backend: str = "torch-cpu"
    """Runtime backend (text2lips.runtime.BACKENDS); kinds that have one engine ignore it."""
    threads: int | None = None
    """Intra-op threads of the backend; None: the engine's default."""
    device: str | None = None
    """Torch device for the torch backends; None: the backend's default."""


Loader = Callable[[Path, LoadOptions], "Synthesizer"]
_LOADERS: dict[str, Loader] = {}


def register_kind(name: str, loader: Loader) -> None:
    """Make `Synthesizer.load` call `loader(model_dir, options)` for config.json kind `name`."""
    if name in _LOADERS and _LOADERS[name] is not loader:
        raise Text2LipsError(f"model kind {name!r} is already registered")
    _LOADERS[name] = loader


def kinds() -> tuple[str, ...]:
    """The registered kinds, sorted."""
    return tuple(sorted(_LOADERS))


def model_kind(model_dir: str | Path) -> str:
    """The `kind` a model directory's config.json declares (top level, or in its metadata,
    as the phoneme models write it); DEFAULT_KIND when it declares none."""
    file = Path(model_dir) / "config.json"
    try:
        doc = json.loads(file.read_text())
    except FileNotFoundError:
        raise Text2LipsError(f"{model_dir}: not a model directory (no config.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Text2LipsError(f"corrupt model config {str(file)!r}: {exc}") from None
    if not isinstance(doc, dict):
        raise Text2LipsError(f"corrupt model config {str(file)!r}: not a JSON object")
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    kind = str(doc.get("kind") or meta.get("kind") or DEFAULT_KIND)
    return _ALIASES.get(kind, kind)


def kind_of(model: str | Path) -> str:
    """The kind of the model `model` names (a directory or a name; see `resolve_model`)."""
    from text2lips.runtime.locate import resolve_model

    return model_kind(resolve_model(model))


def loader_for(kind: str) -> Loader:
    """The loader of `kind`; an error naming the known kinds when it has none."""
    try:
        return _LOADERS[kind]
    except KeyError:
        raise Text2LipsError(
            f"unknown model kind {kind!r}; this install loads {', '.join(kinds()) or 'none'}"
        ) from None


__all__ = ["DEFAULT_KIND", "PHONEME", "TACOTRON", "VISEME", "LoadOptions", "Loader", "kind_of",
           "kinds", "loader_for", "model_kind", "register_kind"]
