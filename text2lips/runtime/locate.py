"""Where a model named on the command line lives: the path itself, then $TEXT2LIPS_MODELS,
then the checkout's models/ folder. Nothing falls back to an untrained model."""

from __future__ import annotations

import os
from pathlib import Path

from text2lips import Text2LipsError

MODELS_ENV = "TEXT2LIPS_MODELS"
"""Folder of model directories (`$TEXT2LIPS_MODELS/default`, `$TEXT2LIPS_MODELS/viseme`)."""

CHECKOUT_MODELS = Path(__file__).resolve().parents[2] / "models"
"""models/ of a source checkout; absent in an installed package."""

HOW_TO_GET = (
    "train one (`text2lips phoneme train --out DIR`, see models/default/README.md), put a model "
    f"folder under ${MODELS_ENV}, or pass --model DIR"
)


class ModelNotFound(Text2LipsError):
    """No model directory answers to the name that was asked for."""


def model_roots() -> list[Path]:
    """Folders searched for a model given by name, first match wins."""
    roots = []
    env = os.environ.get(MODELS_ENV)
    if env:
        roots.append(Path(env).expanduser())
    roots.append(CHECKOUT_MODELS)
    return roots


def resolve_model(model: str | Path) -> Path:
    """The model directory for `model`: an existing directory as given (absolute or relative
    to the working directory), else `<root>/<name>` for each of `model_roots()`, where a
    leading `models/` is dropped so `models/default` and `default` name the same model."""
    given = Path(model).expanduser()
    if given.is_dir():
        return given
    if not given.is_absolute():
        parts = given.parts[1:] if given.parts[:1] == ("models",) else given.parts
        name = Path(*parts) if parts else given
        for root in model_roots():
            if (root / name).is_dir():
                return root / name
        looked = ", ".join(str(r / name) for r in model_roots())
        raise ModelNotFound(f"no model {str(model)!r} (looked in {given.resolve()}, {looked}); "
                            + HOW_TO_GET)
    raise ModelNotFound(f"no model directory at {given}; " + HOW_TO_GET)


__all__ = ["CHECKOUT_MODELS", "MODELS_ENV", "ModelNotFound", "model_roots", "resolve_model"]
