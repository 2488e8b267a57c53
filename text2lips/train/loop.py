"""The training loop, read top to bottom: data, model, optimiser and schedule, epochs,
validation, checkpoints (last/ and best/, resumable)."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from text2lips import Text2LipsError
from text2lips.data.dataset import default_data_dir, load_clips
from text2lips.files import atomic_path
from text2lips.model import (
    LipDecoder,
    load_model,
    load_state_from,
    read_metadata,
    save_model,
)
from text2lips.runtime.voice import ModelInfo, speakers_from_data
from text2lips.train.batches import (
    ClipLike,
    collate,
    corrupt_teacher,
    make_batches,
    own_input_mask,
    segment_clips,
    to_example,
)
from text2lips.train.losses import (
    compute_loss,
    free_running_l1,
    guided_attention_loss,
    motion_loss,
    validation_loss,
)
from text2lips.train.settings import (
    LICENCE_NOTE,
    METRICS_COLUMNS,
    STATE_NAME,
    TrainSettings,
    resolve_config,
    resume_settings,
    settings_from_args,
)


def _atomic_torch_save(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _append_metrics(out_dir: Path, row: dict) -> None:
    path = out_dir / "metrics.csv"
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=METRICS_COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in METRICS_COLUMNS})


def _tensorboard(out_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional: metrics.csv has everything
        return None
    return SummaryWriter(str(out_dir / "tb"))


# --- the training run ----------------------------------------------------------------------


def run(
    args: argparse.Namespace,
    train_clips: Sequence[ClipLike] | None = None,
    data_note: str = "lrs3_ted93 pretrain split (paper's 80 clips)",
) -> int:
    """Train on the real LRS3 training split, or on `train_clips` (pretraining on the
    synthetic corpus); validation is always free-running on the real trainval clips."""
    settings, given = settings_from_args(args)
    name, config = resolve_config(settings)
    out_dir = Path(args.out) if args.out else Path("runs") / name
    state = None
    if args.resume:
        state_path = out_dir / "last" / STATE_NAME
        if not state_path.is_file():
            raise Text2LipsError(f"--resume: no run to resume in {out_dir} (no last/{STATE_NAME})")
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        if read_metadata(out_dir / "last").get("epoch") != state["epoch"]:
            raise Text2LipsError(
                f"{out_dir}/last: model and {STATE_NAME} are from different epochs"
            )
        settings = resume_settings(state["settings"], settings, given)
        name = read_metadata(out_dir / "last").get("run", name)  # the config lives in last/
    elif (out_dir / "last").exists():
        raise Text2LipsError(
            f"{out_dir} already holds a run: pass --resume to continue it or another --out"
        )
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    use_amp = device.type == "cuda"
    torch.manual_seed(settings.seed)

    # data
    data_dir = Path(settings.data) if settings.data else default_data_dir()
    voice = ModelInfo(name=name, speakers=speakers_from_data(data_dir)).to_metadata()
    voice.pop("licence")  # the run's own licence note below says what the data impose
    if train_clips is None:
        train_clips = load_clips(data_dir, "lrs3", "pretrain")
    val_clips = load_clips(data_dir, "lrs3", "trainval")
    if settings.max_clips:
        train_clips = sorted(train_clips, key=lambda c: c.n_frames)[: settings.max_clips]
        val_clips = sorted(val_clips, key=lambda c: c.n_frames)[: settings.max_clips]
    if settings.segment_s:
        train_clips = segment_clips(train_clips, settings.segment_s)
    words_guide = settings.guide == "words" and settings.guided_attention > 0
    train_set = [to_example(c, timings=words_guide) for c in train_clips]
    val_set = [to_example(c, timings=False) for c in val_clips]

    # model
    if state is not None:
        model = load_model(out_dir / "last")
    else:
        model = LipDecoder(config)
        if settings.init:
            loaded = load_state_from(model, Path(settings.init))
            tqdm.write(f"initialised {len(loaded)} tensors from {settings.init}")
    model.to(device).train()
    n_params = sum(p.numel() for p in model.parameters())

    # optimizer and schedule
    optimizer = torch.optim.Adam(
        model.parameters(),
        lr=settings.lr,
        weight_decay=settings.weight_decay,
    )
    steps_per_epoch = math.ceil(len(train_set) / settings.batch_size)
    total_steps = settings.epochs * steps_per_epoch
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
    start_epoch, step, best = 1, 0, math.inf
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"])
        if use_amp and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        start_epoch, step, best = state["epoch"] + 1, state["step"], state["best"]
    if start_epoch > settings.epochs:
        tqdm.write(
            f"{out_dir}: already trained for {settings.epochs} epochs; "
            "pass a larger --epochs to go on"
        )
        return 0
    # One-cycle is a pure function of (step, total): rebuilding it at `step` resumes it, and
    # re-plans the cycle when --epochs was raised on resume.
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=settings.lr, total_steps=total_steps, last_epoch=step - 1
    )
    pos_weight = torch.tensor(settings.gate_pos_weight, device=device)

    out_dir.mkdir(parents=True, exist_ok=True)
    writer = _tensorboard(out_dir)
    tqdm.write(
        f"training {name} ({n_params / 1e6:.1f}M parameters) on {device}: "
        f"{len(train_set)} train / {len(val_set)} val clips, "
        f"epochs {start_epoch}..{settings.epochs} -> {out_dir}"
    )

    for epoch in range(start_epoch, settings.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        batches = make_batches(
            [len(e.target) for e in train_set],
            settings.batch_size,
            torch.Generator().manual_seed(settings.seed + epoch),
        )
        sums = {"loss": 0.0, "frame_loss": 0.0, "gate_loss": 0.0, "attention_loss": 0.0}
        bar = tqdm(
            batches, desc=f"epoch {epoch}/{settings.epochs}", leave=False, dynamic_ncols=True
        )
        for indices in bar:
            batch = collate([train_set[i] for i in indices]).to(device)
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                out = model(
                    batch.text,
                    batch.text_lengths,
                    batch.targets,
                    teacher=corrupt_teacher(batch.targets, settings),
                    own_input=own_input_mask(batch.targets, settings, epoch),
                )
            loss, parts = compute_loss(out, batch, pos_weight)
            if settings.guided_attention > 0:
                ga = guided_attention_loss(
                    out.alignments,
                    batch.text_lengths,
                    batch.frame_lengths,
                    positions=batch.positions if settings.guide == "words" else None,
                )
                loss = loss + settings.guided_attention * ga
                parts["attention_loss"] = ga.item()
            if settings.motion_loss > 0:
                loss = loss + settings.motion_loss * motion_loss(out.frames_post, batch)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            lr = scheduler.get_last_lr()[0]  # the rate this step used
            scheduler.step()
            step += 1
            sums["loss"] += loss.item()
            for k, v in parts.items():
                sums[k] += v
            bar.set_postfix(loss=f"{loss.item():.4f}")
        row: dict[str, Any] = {
            "epoch": epoch,
            "step": step,
            "lr": lr,
            "train_loss": sums["loss"] / len(batches),
            "train_frame_loss": sums["frame_loss"] / len(batches),
            "train_gate_loss": sums["gate_loss"] / len(batches),
            "train_attention_loss": sums["attention_loss"] / len(batches),
        }

        if epoch % settings.eval_every == 0 or epoch == settings.epochs:
            row["val_loss"] = validation_loss(
                model, val_set, settings.batch_size, device, pos_weight
            )
            row["val_free_l1_mm"] = free_running_l1(model, val_clips, device)
            if row["val_free_l1_mm"] < best:
                best = row["val_free_l1_mm"]
                save_model(
                    model,
                    out_dir / "best",
                    metadata=_metadata(name, settings, epoch, step, row, data_note, voice),
                )
        row["best_free_l1_mm"] = best if math.isfinite(best) else None
        row["seconds"] = round(time.perf_counter() - t0, 2)

        save_model(
            model,
            out_dir / "last",
            metadata=_metadata(name, settings, epoch, step, row, data_note, voice),
        )
        _atomic_torch_save(
            {
                "epoch": epoch,
                "step": step,
                "best": best,
                "settings": dataclasses.asdict(settings),
                "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict(),
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if use_amp else None,
            },
            out_dir / "last" / STATE_NAME,
        )
        _append_metrics(out_dir, row)
        if writer is not None:
            for k, v in row.items():
                if k not in ("epoch", "step") and v is not None:
                    writer.add_scalar(k, v, epoch)
        tqdm.write(
            " ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in row.items()
                if v is not None
            )
        )

    if writer is not None:
        writer.close()
    tqdm.write(f"best free-running val L1 {best:.3f} mm -> {out_dir / 'best'}")
    return 0


def _metadata(
    name: str,
    settings: TrainSettings,
    epoch: int,
    step: int,
    row: dict,
    data_note: str,
    voice: dict | None = None,
) -> dict:
    return {
        **(voice or {}),  # speakers etc.: every checkpoint can be served and evaluated as is
        "version": f"{name}-epoch{epoch}",
        "run": name,
        "epoch": epoch,
        "step": step,
        "val_free_l1_mm": row.get("val_free_l1_mm"),
        "train_loss": row["train_loss"],
        "data": data_note,
        "licence": LICENCE_NOTE,
        "settings": dataclasses.asdict(settings),
    }
