"""Training settings: the named values a run is configured by (with their command-line
flags), the model config they pick, and what a resumed run may change."""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from text2lips import Text2LipsError
from text2lips.model import (
    PRESETS,
    ModelConfig,
    get_config,
)

LICENCE_NOTE = "trained on LRS3 landmark tracks (CC BY-NC-ND 4.0): non-commercial use only"
STATE_NAME = "training_state.pt"
METRICS_COLUMNS = (
    "epoch",
    "step",
    "lr",
    "train_loss",
    "train_frame_loss",
    "train_gate_loss",
    "train_attention_loss",
    "val_loss",
    "val_free_l1_mm",
    "best_free_l1_mm",
    "seconds",
)


@dataclass(frozen=True)
class TrainSettings:
    """What defines a training run; saved with it, so `--resume` continues the same run."""

    config: str = "paper"
    """Model preset name (paper, edge) or a JSON file holding a ModelConfig."""
    epochs: int = 500
    """Passes over the training clips (the reference code's hparams use 500)."""
    batch_size: int = 8
    """Clips per optimisation step (paper: 8)."""
    lr: float = 2e-3
    """Peak learning rate of the one-cycle schedule."""
    weight_decay: float = 1e-6
    """Adam weight decay."""
    grad_clip: float = 1.0
    """Gradient norm clipping threshold."""
    gate_pos_weight: float = 10.0
    """BCE weight on "stop" frames: one per clip against hundreds of "go on" frames."""
    seed: int = 1234
    """Seeds weights, dropout and batch order."""
    max_clips: int | None = None
    """Keep only the N shortest clips of each split (quick runs and tests)."""
    init: str | None = None
    """Our own checkpoint directory to start from (e.g. pretrained on the synthetic corpus)."""
    eval_every: int = 1
    """Epochs between validations (the last epoch is always validated)."""
    data: str | None = None
    """Shared data folder (default: $TEXT2LIPS_DATA or ../shared/data)."""
    segment_s: float | None = None
    """Cut training clips at word boundaries into pieces of at most this many seconds
    (clips with word timings only); short pieces batch with little padding and give the
    gate many more ends to learn. None: whole clips, as the paper."""
    teacher_noise: float = 0.0
    """Std (mm) of Gaussian noise added to the teacher-forced previous frames, so the model
    learns to recover from its own errors instead of copying the last frame. 0: off (paper)."""
    teacher_dropout: float = 0.0
    """Probability of replacing a teacher-forced previous frame by the neutral (zero) frame,
    which pushes the decoder to read the text through attention. 0: off (paper)."""
    free_running: float = 0.0
    """Scheduled sampling: the largest share of steps fed the model's own previous
    prediction instead of the truth, reached linearly over the first half of training.
    Closes the gap between teacher-forced training and free-running use. 0: off (paper)."""
    guided_attention: float = 0.0
    """Weight of the guided-attention loss (Tachibana et al. 2017): penalises attention far
    from the text/time diagonal, so alignment forms in a few epochs on little data. 0: off."""
    guide: str = "diagonal"
    """What the guided-attention loss pulls attention to: `diagonal` (a constant speaking
    rate, Tachibana et al.) or `words` (the clip's own word timings: each word's letters
    spread over the time it is said, the space between words over pauses; clips without
    word timings, such as synthetic ones, keep the diagonal)."""
    motion_loss: float = 0.0
    """Weight of a global-variance loss (as in HMM speech synthesis, Toda & Tokuda 2007): the
    L1 distance between each sequence's per-value std over time, predicted vs true. Frame
    losses alone pull free-running output to the mean wherever timing is uncertain; this
    asks the lips to move as much as real lips do. 0: off."""


# Settings that may differ when a run is resumed: they do not change what was learnt so far.
RESUMABLE_CHANGES = ("epochs", "eval_every", "data")


# --- run bookkeeping -----------------------------------------------------------------------


def resolve_config(settings: TrainSettings) -> tuple[str, ModelConfig]:
    """(run name, model config) from a preset name or JSON file."""
    if settings.config in PRESETS:
        name, config = settings.config, get_config(settings.config)
    else:
        path = Path(settings.config)
        if not path.is_file():
            raise Text2LipsError(
                f"--config {settings.config!r}: neither a preset "
                f"({', '.join(PRESETS)}) nor a JSON file"
            )
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise Text2LipsError(f"--config {settings.config!r}: cannot read JSON: {exc}") from None
        # A checkpoint's config.json nests the model config under "model".
        name, config = (
            path.stem,
            ModelConfig.from_dict(doc.get("model", doc) if isinstance(doc, dict) else doc),
        )
    return name, config


def settings_from_args(args: argparse.Namespace) -> tuple[TrainSettings, set[str]]:
    """Settings from the command line, and which of them the user gave explicitly."""
    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainSettings)
        if getattr(args, f.name, None) is not None
    }
    settings = TrainSettings(**given)
    for name in ("epochs", "batch_size", "eval_every"):
        if getattr(settings, name) < 1:
            raise Text2LipsError(f"{_flag(name)} {getattr(settings, name)}: must be >= 1")
    if settings.max_clips is not None and settings.max_clips < 1:
        raise Text2LipsError(f"--max-clips {settings.max_clips}: must be >= 1")
    return settings, set(given)


RETIRED_OFF: dict[str, Any] = {
    "prenet": None, "postnet": None, "init_nvidia": None, "freeze": [],
    "force_attention": False, "rehearse": None, "rehearse_share": 1.0,
}
"""Research switches that left in issue 15 (docs/ablation.md), at the values that meant off."""


def _same(a: Any, b: Any) -> bool:
    """Equal and of one type (so True is not 1.0); a saved tuple reads back as a list."""
    a, b = (list(x) if isinstance(x, (list, tuple)) else x for x in (a, b))
    return type(a) is type(b) and a == b


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def resume_settings(saved: dict, settings: TrainSettings, given: set[str]) -> TrainSettings:
    # Runs saved before the research switches left (docs/ablation.md) carry their fields:
    # resuming one with a switch on would not be the same run.
    known = {f.name for f in dataclasses.fields(TrainSettings)}
    retired = {
        k: v for k, v in saved.items()
        if k not in known and not (k in RETIRED_OFF and _same(v, RETIRED_OFF[k]))
    }
    if retired:
        raise Text2LipsError(
            f"the run was trained with {', '.join(sorted(retired))}, which text2lips train no "
            "longer has; resume it from the commit docs/ablation.md names"
        )
    saved_settings = TrainSettings(**{k: v for k, v in saved.items() if k in known})
    changes = {}
    for name in given:
        new, old = getattr(settings, name), getattr(saved_settings, name)
        if new == old:
            continue
        if name not in RESUMABLE_CHANGES:
            raise Text2LipsError(
                f"{_flag(name)} {new!r} differs from the resumed run's {old!r}; "
                f"only {', '.join(_flag(n) for n in RESUMABLE_CHANGES)} may change"
            )
        changes[name] = new
    return dataclasses.replace(saved_settings, **changes)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Defaults are None here and live in TrainSettings, so --resume can tell what was given.
    d = TrainSettings()
    parser.add_argument(
        "--config", help=f"model preset ({', '.join(PRESETS)}) or config JSON (default {d.config})"
    )
    parser.add_argument(
        "--epochs", type=int, help=f"passes over the training clips (default {d.epochs})"
    )
    parser.add_argument("--batch-size", type=int, help=f"clips per step (default {d.batch_size})")
    parser.add_argument("--lr", type=float, help=f"peak one-cycle learning rate (default {d.lr})")
    parser.add_argument(
        "--gate-pos-weight",
        type=float,
        help=f"BCE weight of stop frames (default {d.gate_pos_weight})",
    )
    parser.add_argument("--seed", type=int, help=f"random seed (default {d.seed})")
    parser.add_argument(
        "--data", help="shared data folder (default $TEXT2LIPS_DATA or ../shared/data)"
    )
    parser.add_argument("--max-clips", type=int, help="use only the N shortest clips of each split")
    parser.add_argument(
        "--init",
        metavar="CKPT_DIR",
        help="start from one of our checkpoints (copies matching tensors)",
    )
    parser.add_argument(
        "--eval-every", type=int, help=f"epochs between validations (default {d.eval_every})"
    )
    parser.add_argument(
        "--segment-s",
        type=float,
        help="cut training clips at word boundaries into pieces of at most N s",
    )
    parser.add_argument(
        "--teacher-noise",
        type=float,
        help="std (mm) of noise on teacher-forced previous frames (default 0)",
    )
    parser.add_argument(
        "--teacher-dropout",
        type=float,
        help="probability of zeroing a teacher-forced previous frame (default 0)",
    )
    parser.add_argument(
        "--free-running",
        type=float,
        help="scheduled sampling: top share of steps fed the model's own "
        "prediction, ramped over the first half (default 0: off)",
    )
    parser.add_argument(
        "--guided-attention",
        type=float,
        help="weight of the guided (diagonal) attention loss (default 0: off)",
    )
    parser.add_argument(
        "--guide",
        choices=("diagonal", "words"),
        help="where --guided-attention pulls attention: a constant rate (diagonal, default) "
        "or each clip's word timings (words; clips without them keep the diagonal)",
    )
    parser.add_argument(
        "--motion-loss",
        type=float,
        help="weight of the global-variance (motion) loss (default 0: off)",
    )
    parser.add_argument("--out", type=Path, help="run directory (default runs/<config name>)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last epoch"
    )
    parser.add_argument("--device", help="torch device (default cuda when available, else cpu)")
