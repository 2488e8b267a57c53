"""Phoneme-driven lip baseline (visemes + coarticulation fitted on real clips): a fallback
voice and the source of the synthetic pretraining corpus."""

from text2lips.viseme.model import (
    VISEME_CLASSES,
    Coarticulation,
    FitGrid,
    VisemeModel,
    align_clip,
    phoneme_class,
)

__all__ = [
    "VISEME_CLASSES",
    "Coarticulation",
    "FitGrid",
    "VisemeModel",
    "align_clip",
    "phoneme_class",
]
