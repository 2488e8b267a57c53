"""Train the lip decoder on the real LRS3 clips (the paper's recipe: teacher forcing,
smooth L1 on frames + BCE on the stop gate, Adam with a one-cycle schedule).

One module per stage: `settings` (what a run is told), `batches` (clips to batches and
their alignment), `losses` (what is minimised and measured), `loop` (the run itself)."""

from __future__ import annotations

from text2lips.train.batches import (
    LIP_LEAD_S,
    Batch,
    ClipLike,
    Example,
    Segment,
    collate,
    corrupt_teacher,
    gate_targets,
    make_batches,
    own_input_mask,
    segment_clips,
    symbol_positions,
    to_example,
)
from text2lips.train.loop import (
    run,
)
from text2lips.train.losses import (
    WORD_GUIDE_WIDTH,
    compute_loss,
    free_running_l1,
    guided_attention_loss,
    motion_loss,
    validation_loss,
)
from text2lips.train.settings import (
    LICENCE_NOTE,
    METRICS_COLUMNS,
    RESUMABLE_CHANGES,
    STATE_NAME,
    TrainSettings,
    add_arguments,
    resolve_config,
)

__all__ = [
    "Batch",
    "ClipLike",
    "Example",
    "LICENCE_NOTE",
    "LIP_LEAD_S",
    "METRICS_COLUMNS",
    "RESUMABLE_CHANGES",
    "STATE_NAME",
    "Segment",
    "TrainSettings",
    "WORD_GUIDE_WIDTH",
    "add_arguments",
    "collate",
    "compute_loss",
    "corrupt_teacher",
    "free_running_l1",
    "gate_targets",
    "guided_attention_loss",
    "make_batches",
    "motion_loss",
    "own_input_mask",
    "resolve_config",
    "run",
    "segment_clips",
    "symbol_positions",
    "to_example",
    "validation_loss",
]
