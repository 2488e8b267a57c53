"""Streaming synthesis: one interface (`Synthesizer`) over several backends."""

from __future__ import annotations

from pathlib import Path

from text2lips.runtime import kinds
from text2lips.runtime.closure_rule import ClosureRule
from text2lips.runtime.kinds import LoadOptions, register_kind
from text2lips.runtime.locate import ModelNotFound, resolve_model
from text2lips.runtime.synthesizer import (
    BACKENDS,
    BatchDecoder,
    Frame,
    SynthesisOptions,
    Synthesizer,
    load_tacotron,
)
from text2lips.runtime.voice import ModelInfo


def _load_viseme(path: Path, options: LoadOptions) -> Synthesizer:
    from text2lips.viseme.runtime import load_viseme_dir

    return load_viseme_dir(path)


def _load_phoneme(path: Path, options: LoadOptions) -> Synthesizer:
    from text2lips.phoneme.runtime import load_phoneme_synthesizer

    return load_phoneme_synthesizer(path, options.backend, threads=options.threads)


register_kind(kinds.TACOTRON, load_tacotron)
register_kind(kinds.VISEME, _load_viseme)
register_kind(kinds.PHONEME, _load_phoneme)

__all__ = [
    "BACKENDS",
    "BatchDecoder",
    "ClosureRule",
    "Frame",
    "LoadOptions",
    "ModelInfo",
    "ModelNotFound",
    "SynthesisOptions",
    "Synthesizer",
    "register_kind",
    "resolve_model",
]
